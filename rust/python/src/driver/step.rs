//! Stepping a run on the loop thread: start it, run its ready ops until none is left (sync ops
//! inline, the others launched), settle whoever waits once it is over, and resume it when one of its
//! concurrent ops finishes.

use super::*;

/// `engine.run()`: starts a run and steps it as far as it goes without waiting. Returns the result
/// dict when it is over, else a loop future resolved with it.
pub fn start(
    engine: &Bound<'_, PyEngine>,
    inputs: Option<Bound<'_, PyAny>>,
    errors: &str,
    ids: [Option<Bound<'_, PyAny>>; 3],
) -> PyResult<Py<PyAny>> {
    let py = engine.py();
    let mode = error_mode(py, errors)?;
    let run = new_run(engine, inputs, mode, true, ids)?;
    lock(run.get())?.started = true;
    drive(&run)?;
    let mut core = lock(run.get())?;
    if let Some(err) = core.failure.take() {
        core.finished = true;
        return Err(err);
    }
    if core.is_over() {
        core.finished = true;
        return Ok(core.result(py, &run)?.into_any().unbind());
    }
    let event_loop = core.ensure_loop(py, engine.get())?;
    Ok(core.run_future(py, &event_loop, &run)?.unbind())
}

/// Starts a run created by [`new_run`] if nothing has started it yet.
pub(crate) fn ensure_started(run: &Bound<'_, Run>) -> PyResult<()> {
    {
        let mut core = lock(run.get())?;
        if core.started {
            return Ok(());
        }
        core.started = true;
    }
    drive(run)?;
    settle(run)
}

/// Runs ready ops until none is left; pulls sync generators in batches.
pub(crate) fn drive(run: &Bound<'_, Run>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let plan: &Plan = &eng.plan;
    loop {
        let mut core = lock(r)?;
        r.take_cancel_request(py, &mut core);
        if core.finished {
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
        let p = &plan.ops[op as usize];
        if !p.enabled {
            core.state.finish(plan, op, ctx, Outcome::Skipped);
            continue;
        }
        let args = match resolve_args(py, eng, &core, op, ctx) {
            Ok(args) => args,
            Err(failure) => {
                core.fail_op(py, eng, op, ctx, failure);
                continue;
            }
        };
        match p.kind {
            OpKind::LoopExit => {
                if let Err(failure) = core.end_iteration(py, eng, op, ctx) {
                    core.fail_op(py, eng, op, ctx, failure);
                }
            }
            OpKind::Branch | OpKind::GraphEnter | OpKind::GraphExit | OpKind::LoopEnter => {
                let result = core.builtin(py, eng, op, ctx, &args);
                if let Err(e) = result {
                    core.fail_op(py, eng, op, ctx, OpFailure::Raised(e));
                }
            }
            OpKind::Sync => {
                drop(core);
                let f = eng.callables[op as usize].bind(py);
                let result = call_with_kwnames(py, f, &args, eng.kwnames[op as usize].bind(py));
                lock(r)?.complete(py, eng, op, ctx, result);
            }
            OpKind::SyncGen => {
                drop(core);
                let f = eng.callables[op as usize].bind(py);
                let started = call_with_kwnames(py, f, &args, eng.kwnames[op as usize].bind(py))
                    .and_then(|g| g.try_iter().map(|i| i.into_any()));
                let mut core = lock(r)?;
                match started {
                    Ok(iter) => {
                        core.state.begin_generator();
                        core.sync_gens.push(SyncGen { op, ctx, iter: iter.unbind(), index: 0, batch: 1, ended: None });
                    }
                    Err(e) => core.fail_op(py, eng, op, ctx, OpFailure::Raised(e)),
                }
            }
            _ => {
                if !core.state.begin_concurrent(op, ctx) {
                    continue; // queued behind the graph's concurrency cap
                }
                drop(core);
                launch(run, op, ctx, args)?;
            }
        }
    }
}

/// Completes whatever waits on a run that is over: the `run()` future, the handle's consumers.
pub(crate) fn settle(run: &Bound<'_, Run>) -> PyResult<()> {
    let py = run.py();
    let mut core = lock(run.get())?;
    run.get().take_cancel_request(py, &mut core);
    if !core.finished && core.is_over() {
        core.finished = true;
    }
    if !core.finished {
        return Ok(());
    }
    core.wake_consumers(py)?;
    if let Some(future) = core.future.take() {
        let future = future.bind(py);
        if !future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
            match core.failure.as_ref() {
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
pub(super) fn resume(run: &Bound<'_, Run>, op: OpId, ctx: CtxId, outcome: PyResult<Bound<'_, PyAny>>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let next = {
        let mut core = lock(r)?;
        core.tasks.remove(&(op, ctx));
        let next = core.state.end_concurrent();
        if core.finished {
            return Ok(());
        }
        core.complete(py, eng, op, ctx, outcome);
        next
    };
    launch_waiting(run, next)?;
    drive(run)?;
    settle(run)
}

/// Fails a run from a callback whose own code went wrong, so that the run never hangs.
fn fail_from_callback(run: &Bound<'_, Run>, err: PyErr) -> PyResult<()> {
    let py = run.py();
    if let Ok(mut core) = lock(run.get()) {
        core.fail(py, err);
    }
    settle(run)
}

/// Runs `f` on a run from a loop callback: a panic or an internal error fails the run (so nothing
/// waits forever) instead of escaping into the loop's exception handler.
pub(super) fn from_callback(run: &Bound<'_, Run>, f: impl FnOnce() -> PyResult<()>) -> PyResult<()> {
    match crate::guard(run.py(), f) {
        Ok(()) => Ok(()),
        Err(e) => fail_from_callback(run, e),
    }
}
