//! Sync generators: pulled in batches that start at one item and grow, the driver yielding to the loop
//! between batches; and what happens to each item of any generator.

use std::sync::MutexGuard;

use operonx::plan::OpId;
use operonx::run::OpFailure;
use operonx::scheduler::CtxId;
use pyo3::prelude::*;

use super::{lock, PyRun, RunCore, MAX_BATCH};
use crate::compiled::Compiled;

pub(super) enum Pull {
    More,
    Ended,
    Paused,
}

/// Pulls the next batch of the innermost streaming sync generator.
pub(super) fn pull_batch(run: &Bound<'_, PyRun>, mut core: MutexGuard<'_, RunCore>) -> PyResult<Pull> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine();
    let Some(top) = core.sync_gens.last_mut() else {
        return Ok(Pull::Ended);
    };
    let (op, ctx, batch) = (top.op, top.ctx, top.batch);
    if let Some(ended) = top.ended.take() {
        core.sync_gens.pop();
        core.run.state_mut().end_generator();
        core.restore_deferred();
        match ended {
            // the run's generator end (the op is done; its span, when traced, ends)
            Ok(()) => core.complete(py, eng, op, ctx, Ok(py.None().into_bound(py))),
            Err(e) => core.fail_op(py, eng, op, ctx, OpFailure::Raised(e)),
        }
        core.run.free_contexts();
        return Ok(Pull::Ended);
    }
    top.batch = (batch * 4).min(MAX_BATCH);
    let iter = top.iter.clone_ref(py);
    drop(core);
    for _ in 0..batch {
        {
            let mut core = lock(r)?;
            if core.run.is_over() {
                return Ok(Pull::Ended);
            }
            if core.run.frames().is_full() {
                core.paused = true;
                return Ok(Pull::Paused);
            }
        }
        // SAFETY: `iter` is a live iterator object; PyIter_Next returns a new reference, or NULL
        // with or without an exception set (exhausted).
        let next = unsafe { pyo3::ffi::PyIter_Next(iter.as_ptr()) };
        let mut core = lock(r)?;
        if next.is_null() {
            let ended = match PyErr::take(py) {
                None => Ok(()),
                Some(e) => Err(e),
            };
            if let Some(top) = core.sync_gens.last_mut() {
                top.ended = Some(ended);
            }
            return Ok(Pull::Ended);
        }
        // SAFETY: `next` is a new, non-null reference.
        let item = unsafe { Bound::from_owned_ptr(py, next) };
        if core.noted(py, eng, op, ctx, &item) {
            continue;
        }
        let index = match core.sync_gens.last_mut() {
            Some(g) => {
                g.index += 1;
                g.index - 1
            }
            None => return Ok(Pull::Ended),
        };
        if let Err(failure) = core.on_item(py, eng, op, ctx, index, item.unbind()) {
            if let Some(g) = core.sync_gens.pop() {
                let _ = g.iter.bind(py).call_method0(pyo3::intern!(py, "close"));
            }
            core.run.state_mut().end_generator();
            core.restore_deferred();
            core.fail_op(py, eng, op, ctx, failure);
            return Ok(Pull::Ended);
        }
    }
    Ok(Pull::More)
}

/// Between two batches of a sync generator: lets the loop run (so consumers see the frames) when
/// the run has one. Returns false when there is no running loop (a sync caller): go on inline.
pub(super) fn yield_to_loop(run: &Bound<'_, PyRun>) -> PyResult<bool> {
    let py = run.py();
    let mut core = lock(run.get())?;
    let eng = run.get().engine();
    let Ok(event_loop) = core.ensure_loop(py, eng) else {
        return Ok(false);
    };
    core.schedule_resume(py, event_loop.bind(py), run)?;
    Ok(true)
}

impl RunCore {
    /// True when `item` of generator `gen` in `ctx` is a note of attributes for its span
    /// (`operonx.tracing.SpanNote`, not an item): they are recorded when the run traces.
    pub(super) fn noted(&mut self, py: Python<'_>, eng: &Compiled, gen: OpId, ctx: CtxId, item: &Bound<'_, PyAny>) -> bool {
        let Some(attributes) = crate::trace::note_attributes(item) else { return false };
        let mut rt = Self::runtime(py, eng);
        self.run.annotate_span(&mut rt, gen, ctx, &attributes.unbind());
        true
    }

    /// One item of generator `gen` running in `ctx`.
    pub(super) fn on_item(
        &mut self,
        py: Python<'_>,
        eng: &Compiled,
        gen: OpId,
        ctx: CtxId,
        index: u32,
        item: Py<PyAny>,
    ) -> Result<(), OpFailure<PyErr>> {
        let mut rt = Self::runtime(py, eng);
        self.run.item(&mut rt, gen, ctx, index, item)
    }
}
