//! How ops fail and runs end: an op's failure under either error mode, a failed or cancelled run.

use super::*;

impl RunCore {
    /// An op failed: listed and skipped with `errors="continue"`, else the run fails.
    pub(super) fn fail_op(&mut self, py: Python<'_>, eng: &PyEngine, op: OpId, ctx: CtxId, failure: OpFailure) {
        let plan = &eng.plan;
        let p = &plan.ops[op as usize];
        let context = operonx::scheduler::contexts::render(&self.state.contexts().path(ctx));
        let (engine_error, cause) = match failure {
            OpFailure::Raised(e) => {
                if !e.is_instance_of::<PyException>(py) {
                    // KeyboardInterrupt, SystemExit, CancelledError...: never wrapped, they end the run.
                    self.fail(py, e);
                    return;
                }
                let message =
                    format!("{}: {}", e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default(), e.value(py));
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, Some(e))
            }
            OpFailure::BadReturn(message) => {
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, None)
            }
            OpFailure::Missing(input, suggestion) => {
                let (graph, op) = (plan.name.clone(), p.full_name.clone());
                (EngineError::MissingInput { graph, op, input, context, suggestion }, None)
            }
            OpFailure::Until(message, cause) => {
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, cause)
            }
            OpFailure::Input(input, e) => {
                let message = format!(
                    "evaluating input '{input}' raised {}: {}",
                    e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default(),
                    e.value(py)
                );
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, Some(e))
            }
        };
        let err = to_pyerr(py, &engine_error);
        err.set_cause(py, cause);
        if self.mode == ErrorMode::Continue {
            self.errors.push(err.into_value(py).into_any());
            if p.kind == OpKind::LoopExit {
                self.skip_loop(eng, op, ctx);
            } else {
                self.state.finish(plan, op, ctx, Outcome::Skipped);
            }
            self.free_contexts();
        } else {
            self.fail(py, err);
        }
    }

    /// Ends the run with `err`: nothing new starts, running tasks and generators are stopped.
    pub(crate) fn fail(&mut self, py: Python<'_>, err: PyErr) {
        if self.failure.is_none() && !self.finished {
            self.failure = Some(err);
        }
        self.stop(py);
    }

    /// Cancels the run: what arrived stays readable, nothing new starts.
    pub(crate) fn cancel(&mut self, py: Python<'_>) {
        if self.finished {
            return;
        }
        self.cancelled = true;
        self.stop(py);
    }

    pub(super) fn stop(&mut self, py: Python<'_>) {
        self.finished = true;
        if let Some(token) = &self.stop_token {
            token.store(true, std::sync::atomic::Ordering::Release);
        }
        self.state.clear();
        self.deferred.clear();
        self.loops.clear();
        for g in self.sync_gens.drain(..) {
            let _ = g.iter.bind(py).call_method0(pyo3::intern!(py, "close"));
        }
        for (_, task) in self.tasks.drain() {
            let _ = task.bind(py).call_method0(pyo3::intern!(py, "cancel"));
        }
    }
}
