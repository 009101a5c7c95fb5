//! Why an op produced no outputs, and the one wording of it for every driver.

use crate::error::OperonError;
use crate::plan::{OpId, OpKind, Plan};
use crate::scheduler::contexts::render;
use crate::scheduler::{CtxId, ErrorMode, Outcome, Path};

use super::{Model, Phase, Run, Runtime};

/// Why an op did not produce outputs.
#[doc = include_str!("../../doc/run/failure/OpFailure.md")]
#[derive(Debug)]
pub enum OpFailure<E> {
    /// The op raised (or returned an error).
    Raised(E),
    /// The op returned (or yielded) something that is not a mapping: the message says what.
    BadReturn(String),
    /// A required input has no value (with a key of its source that looks like a typo of it).
    Missing(String, Option<String>),
    /// Evaluating an input's ref raised.
    Input(String, E),
    /// A loop's `until` could not be evaluated: why, and what it raised, if anything.
    Until(String, Option<E>),
    /// The op panicked (Rust ops): the panic's message.
    Panicked(String),
    /// An attempt ran longer than the op's `timeout` (seconds): it was cancelled or its result
    /// abandoned.
    TimedOut(f64),
    /// The last of `n` attempts failed (`retries=`): how.
    Attempts(u32, Box<OpFailure<E>>),
}

impl<E> OpFailure<E> {
    /// The engine error of op `op` failing in context `path`, and the error that caused it.
    /// `describe` puts an error in words (`"ValueError: boom"`).
    #[doc = include_str!("../../doc/run/failure/OpFailure.into_error.md")]
    pub fn into_error(
        self,
        plan: &Plan,
        op_id: crate::plan::OpId,
        path: &Path,
        describe: impl FnOnce(&E) -> String,
    ) -> (OperonError, Option<E>) {
        let p = &plan.ops[op_id as usize];
        let (graph, op, context) = (plan.name.clone(), p.full_name.clone(), render(path));
        let failed = |message: String| OperonError::OpFailed {
            graph: graph.clone(),
            op: op.clone(),
            context: context.clone(),
            message,
        };
        match self {
            OpFailure::Raised(e) => (failed(describe(&e)), Some(e)),
            OpFailure::BadReturn(message) => (failed(message), None),
            OpFailure::Panicked(message) => (failed(format!("panicked: {message}")), None),
            OpFailure::Missing(input, suggestion) => {
                (OperonError::MissingInput { graph, op, input, context, suggestion }, None)
            }
            OpFailure::Until(message, None) => (failed(message), None),
            OpFailure::Until(message, Some(e)) => (failed(format!("{message}: {}", describe(&e))), Some(e)),
            OpFailure::Input(input, e) => {
                (failed(format!("evaluating input '{input}' raised {}", describe(&e))), Some(e))
            }
            OpFailure::TimedOut(seconds) => (failed(format!("timed out after {seconds} s")), None),
            OpFailure::Attempts(n, last) => {
                let (error, cause) = last.into_error(plan, op_id, path, describe);
                (attempts_error(error, n), cause)
            }
        }
    }
}

/// `error`, the failure of the last of `n` attempts, saying how many ran.
fn attempts_error(error: OperonError, n: u32) -> OperonError {
    match error {
        OperonError::OpFailed { graph, op, context, message } => {
            OperonError::OpFailed { graph, op, context, message: format!("failed after {n} attempts; the last: {message}") }
        }
        other => other,
    }
}

impl<M: Model> Run<M> {
    /// An op failed: listed and skipped with `errors="continue"`, else the run fails.
    #[doc = include_str!("../../doc/run/failure/Run.fail_op.md")]
    pub fn fail_op<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, failure: OpFailure<M::Error>) {
        self.trace_fail(rt, op, ctx, &failure);
        let failure = match failure {
            OpFailure::Raised(e) if rt.is_fatal(&e) => {
                let f = rt.fatal(e);
                self.fail(f);
                return;
            }
            other => other,
        };
        let path = self.state.contexts().path(ctx);
        let (error, cause) = failure.into_error(self.plan(), op, &path, |e| rt.describe(e));
        let f = rt.failure(error, cause);
        if self.mode == ErrorMode::Continue && !self.is_over() {
            self.errors.push(f);
            if self.plan().ops[op as usize].kind == OpKind::LoopExit {
                self.skip_loop(op, ctx);
            } else {
                self.state.finish(&self.plan, op, ctx, Outcome::Skipped);
            }
            self.free_contexts();
        } else {
            self.fail(f);
        }
    }

    /// Ends the run with `failure` (the first one wins): nothing new starts.
    #[doc = include_str!("../../doc/run/failure/Run.fail.md")]
    pub fn fail(&mut self, failure: M::Failure) {
        if !self.is_over() {
            self.failure = Some(failure);
            self.phase = Phase::Failed;
        }
        self.stop();
    }

    /// Cancels the run: what arrived stays readable, nothing new starts. Returns false when the
    /// run was already over.
    #[doc = include_str!("../../doc/run/failure/Run.cancel.md")]
    pub fn cancel(&mut self) -> bool {
        if self.is_over() {
            return false;
        }
        self.phase = Phase::Cancelled;
        self.stop();
        true
    }

    /// Stops scheduling: the cancel token is set, queued work and open iterations are dropped.
    pub(super) fn stop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
        if !self.state.is_idle() {
            self.state.clear();
        }
        self.loops.clear();
    }
}
