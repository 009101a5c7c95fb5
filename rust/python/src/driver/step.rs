//! Stepping a run on the loop thread: start it, run its ready ops until none is left (sync ops
//! inline, the others launched), settle whoever waits once it is over, and resume it when one of its
//! concurrent ops finishes.

use operonx::plan::{OpId, OpKind};
use operonx::run::OpFailure;
use operonx::scheduler::CtxId;
use std::sync::Arc;

use pyo3::prelude::*;

use super::callbacks::{launch, launch_waiting, Args};
use super::generators::{pull_batch, yield_to_loop, Pull};
use super::{error_mode, lock, new_run, PyRun, RunCore, SyncGen};
use crate::call::call_op;
use crate::compiled::Compiled;

/// `engine.run()`: starts a run and steps it as far as it goes without waiting. Returns the result
/// dict when it is over, else a loop future resolved with it. Inlined: `engine.run` and
/// `engine.run_traced` each get their own copy, the untraced one with no tracing left in it.
#[inline(always)]
pub fn start(
    py: Python<'_>,
    eng: &Arc<Compiled>,
    inputs: Option<Bound<'_, PyAny>>,
    errors: &str,
    ids: [Option<Bound<'_, PyAny>>; 3],
    trace: Option<(&crate::trace::Sinks, &Arc<crate::trace::EngineTrace>)>,
) -> PyResult<Py<PyAny>> {
    let mode = error_mode(py, errors)?;
    let run = new_run(py, eng, inputs, mode, true, ids)?;
    if let Some((sinks, engine)) = trace {
        lock(run.get())?.trace_with(py, sinks, engine, eng)?;
    }
    lock(run.get())?.mark_started();
    drive(&run)?;
    let mut core = lock(run.get())?;
    if let Some(err) = core.run.failure() {
        let err = err.clone_ref(py);
        core.trace_end(py);
        return Err(err);
    }
    if core.no_work_left() {
        core.run.finish();
        core.log_end(py);
        core.trace_end(py);
        return Ok(core.result(py, &run)?.into_any().unbind());
    }
    let event_loop = core.ensure_loop(py, eng)?;
    Ok(core.run_future(py, &event_loop, &run)?.unbind())
}

/// Starts a run created by [`new_run`] if nothing has started it yet.
pub(crate) fn ensure_started(run: &Bound<'_, PyRun>) -> PyResult<()> {
    if !lock(run.get())?.mark_started() {
        return Ok(());
    }
    drive(run)?;
    settle(run)
}

/// Runs ready ops until none is left; pulls sync generators in batches.
pub(crate) fn drive(run: &Bound<'_, PyRun>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine();
    let mut args = Args::new();
    // the lock taken to record a sync op's outcome is kept for the next step
    let mut held = None;
    loop {
        let mut core = match held.take() {
            Some(core) => core,
            None => lock(r)?,
        };
        r.take_cancel_request(py, &mut core);
        if core.run.is_over() {
            return Ok(());
        }
        let Some((op, ctx)) = core.next_ready() else {
            if core.sync_gens.is_empty() {
                return Ok(());
            }
            match pull_batch(run, core)? {
                Pull::More => {
                    if yield_to_loop(run)? {
                        return Ok(());
                    }
                    continue;
                }
                Pull::Ended => continue,
                Pull::Paused => return Ok(()),
            }
        };
        let mut rt = RunCore::runtime(py, eng);
        if !core.run.prepare(&mut rt, op, ctx, &mut args) {
            core.release(py);
            continue;
        }
        let p = &eng.plan().ops[op as usize];
        if p.calls.is_some() {
            drop(core);
            super::attempts::begin(run, op, ctx, std::mem::take(&mut args))?;
            continue;
        }
        match p.kind {
            OpKind::Sync => {
                // The lock stays held through the call: an op that calls back into its own run
                // gets a UsageError (a cancel is recorded and applied at the next step).
                let names = eng.call_names(op).map(|n| n.bind(py));
                let result = call_op(py, eng.callable(op).bind(py), &args, names);
                release_args(py, &mut args);
                core.complete(py, eng, op, ctx, result);
                held = Some(core);
            }
            OpKind::SyncGen => {
                drop(core);
                let f = eng.callable(op).bind(py);
                let started = call_op(py, f, &args, eng.call_names(op).map(|n| n.bind(py)))
                    .and_then(|g| g.try_iter().map(|i| i.into_any()));
                release_args(py, &mut args);
                lock(r)?.start_generator(py, eng, op, ctx, started);
            }
            _ => {
                if !core.run.state_mut().begin_concurrent(op, ctx) {
                    release_args(py, &mut args);
                    continue; // queued behind the graph's concurrency cap
                }
                drop(core);
                launch(run, op, ctx, std::mem::take(&mut args))?;
            }
        }
    }
}

/// Drops the arguments of a call that returned, through `Bound` (a `Py` dropped outside the GIL
/// machinery's fast path checks a thread-local first).
#[inline]
fn release_args(py: Python<'_>, args: &mut Args) {
    for a in args.drain(..) {
        drop(a.into_bound(py));
    }
}

impl RunCore {
    pub(super) fn start_generator(
        &mut self,
        py: Python<'_>,
        eng: &Compiled,
        op: OpId,
        ctx: CtxId,
        started: PyResult<Bound<'_, PyAny>>,
    ) {
        match started {
            Ok(iter) => {
                self.run.state_mut().begin_generator();
                self.sync_gens.push(SyncGen { op, ctx, iter: iter.unbind(), index: 0, batch: 1, ended: None });
            }
            Err(e) => self.fail_op(py, eng, op, ctx, OpFailure::Raised(e)),
        }
    }

    /// The future `run()` returns when it has to wait.
    fn run_future<'py>(
        &mut self,
        py: Python<'py>,
        event_loop: &Py<PyAny>,
        run: &Bound<'py, PyRun>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(f) = &self.future {
            return Ok(f.bind(py).clone());
        }
        let future = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        let done = super::PyRunFutureDone::new(run.clone().unbind());
        future.call_method1(pyo3::intern!(py, "add_done_callback"), (done,))?;
        self.future = Some(future.clone().unbind());
        Ok(future)
    }
}

/// Completes whatever waits on a run that is over: the `run()` future, the handle's consumers.
pub(crate) fn settle(run: &Bound<'_, PyRun>) -> PyResult<()> {
    let py = run.py();
    let mut core = lock(run.get())?;
    run.get().take_cancel_request(py, &mut core);
    if !core.run.is_over() && core.no_work_left() && core.run.is_started() {
        core.run.finish();
    }
    if !core.run.is_over() {
        return Ok(());
    }
    core.release(py);
    core.wake_consumers(py, run.get().engine())?;
    if let Some(future) = core.future.take() {
        let future = future.bind(py);
        if !future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
            match core.run.failure() {
                Some(err) => {
                    future.call_method1(pyo3::intern!(py, "set_exception"), (err.clone_ref(py).into_value(py),))?;
                }
                None => {
                    let result = core.result(py, run)?;
                    future.call_method1(pyo3::intern!(py, "set_result"), (result,))?;
                }
            }
        }
    }
    Ok(())
}

/// Continues a run after one of its concurrent ops finished.
pub(super) fn resume(
    run: &Bound<'_, PyRun>,
    op: OpId,
    ctx: CtxId,
    outcome: PyResult<Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let next = {
        let mut core = lock(r)?;
        core.tasks.remove(&(op, ctx));
        let next = core.run.state_mut().end_concurrent();
        if core.run.is_over() {
            return Ok(());
        }
        core.complete(py, r.engine(), op, ctx, outcome);
        next
    };
    launch_waiting(run, next)?;
    drive(run)?;
    settle(run)
}

/// Fails a run from a callback whose own code went wrong, so that the run never hangs.
fn fail_from_callback(run: &Bound<'_, PyRun>, err: PyErr) -> PyResult<()> {
    let py = run.py();
    if let Ok(mut core) = lock(run.get()) {
        core.fail(py, err);
    }
    settle(run)
}

/// Runs `f` on a run from a loop callback: a panic or an internal error fails the run (so nothing
/// waits forever) instead of escaping into the loop's exception handler.
pub(super) fn from_callback(run: &Bound<'_, PyRun>, f: impl FnOnce() -> PyResult<()>) -> PyResult<()> {
    match crate::guard(run.py(), f) {
        Ok(()) => Ok(()),
        Err(e) => fail_from_callback(run, e),
    }
}
