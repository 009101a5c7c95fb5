//! `Handle`: the consumer side of a run started with `engine.start()`. Frames are delivered from the
//! run's buffer without a loop round trip when one is waiting; a consumer that outruns the run gets
//! a loop future that the driver resolves on the same thread.

use std::sync::TryLockError;

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::awaitables::{ready, NextFrame};
use crate::driver::{drive, ensure_started, lock, settle, Run};
use crate::engine::PyEngine;
use crate::errors::{exceptions, new_error};
use crate::frames::{is_done, path_tuple, FrameRef, ValueWaiter};
use crate::guards::keeping_pending_error;

/// Builds the `(op, ctx, data)` tuple of a frame.
pub(crate) fn frame_tuple<'py>(py: Python<'py>, eng: &PyEngine, frame: &FrameRef) -> PyResult<Bound<'py, PyTuple>> {
    let ctx = path_tuple(py, &frame.path, &eng.root_context)?;
    PyTuple::new(
        py,
        [
            eng.op_names[frame.op as usize].bind(py).clone().into_any(),
            ctx.into_any(),
            frame.data.bind(py).clone().into_any(),
        ],
    )
}

/// What awaiting the next frame comes to: a frame, or a loop future to wait on first.
pub(crate) enum Next {
    /// The `(op, ctx, data)` tuple.
    Frame(Py<PyAny>),
    /// A future (already marked as awaited) that is resolved when a frame arrives or the run ends.
    Wait(Py<PyAny>),
}

/// Takes the next frame of `run` for an awaiting consumer. At the end it raises
/// `StopAsyncIteration`, or the run's error after the run's last frame.
pub(crate) fn next_frame(run: &Bound<'_, Run>) -> PyResult<Next> {
    let py = run.py();
    let eng = run.get().engine.get();
    let mut core = lock(run.get())?;
    if !core.started {
        drop(core);
        ensure_started(run)?;
        core = lock(run.get())?;
    }
    if core.frames.drained {
        return Err(PyStopAsyncIteration::new_err(()));
    }
    if core.frames.total() == 0 && !core.finished && core.resume_pending() {
        // Before its first frame the run waits for a loop turn only to start: this consumer is
        // here, so step it now (same thread) and skip a round trip. Later frames go through the
        // loop, so other tasks keep running while a generator streams.
        drop(core);
        drive(run)?;
        settle(run)?;
        core = lock(run.get())?;
    }
    if let Some(frame) = core.frames.next(py) {
        core.after_consume(py, run)?;
        return Ok(Next::Frame(frame_tuple(py, eng, &frame)?.into_any().unbind()));
    }
    if core.finished {
        core.frames.drained = true;
        return match (&core.failure, core.cancelled) {
            (Some(err), false) => Err(err.clone_ref(py)),
            _ => Err(PyStopAsyncIteration::new_err(())),
        };
    }
    let event_loop = core.ensure_loop(py, eng)?;
    let future = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
    // What `Future.__await__` sets before it yields the future to the task that awaits it.
    future.setattr(pyo3::intern!(py, "_asyncio_future_blocking"), true)?;
    core.frames.add_next_waiter(py, future.clone().unbind());
    core.after_consume(py, run)?;
    Ok(Next::Wait(future.unbind()))
}

/// The engine side of `operonx.ExecutionHandle` (which wraps it as `_inner`).
#[pyclass(frozen, module = "operonx._core", name = "Handle")]
pub struct Handle {
    pub(crate) run: Py<Run>,
}

impl Handle {
    /// Wraps a run.
    pub(crate) fn new(run: Py<Run>) -> Self {
        Handle { run }
    }
}

impl Drop for Handle {
    /// A handle nobody holds any more (not even an `async for`) cancels its run, so no op task
    /// outlives it. The drop may come while an exception propagates (the `async for` body raised)
    /// or from the garbage collector while the run is being stepped: the pending exception is kept
    /// as it is, and a run that is busy is asked to cancel itself once its current step ends.
    fn drop(&mut self) {
        Python::attach(|py| keeping_pending_error(py, |py| cancel_dropped(self.run.bind(py))));
    }
}

/// Cancels the run of a dropped handle, now or (when it is being stepped) at its next step.
fn cancel_dropped(run: &Bound<'_, Run>) {
    let py = run.py();
    let r = run.get();
    let mut core = match r.core.try_lock() {
        Ok(core) => core,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => {
            r.request_cancel();
            return;
        }
    };
    if core.finished {
        return;
    }
    core.cancel(py);
    drop(core);
    let _ = settle(run);
}

#[pymethods]
impl Handle {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// An awaitable of the next frame (see [`NextFrame`]).
    fn __anext__(&self, py: Python<'_>) -> NextFrame {
        NextFrame::new(self.run.clone_ref(py))
    }

    /// The value of `var` in the frames of op `op`: the last one buffered, else the first to arrive,
    /// else `None` once the run is over.
    fn wait_for(&self, py: Python<'_>, op: &str, var: &str) -> PyResult<Py<PyAny>> {
        let run = self.run.bind(py);
        ensure_started(run)?;
        let eng = run.get().engine.get();
        let key = PyString::new(py, var);
        let mut core = lock(run.get())?;
        let op_id = eng.plan.ops.iter().position(|o| o.name == op).map(|i| i as u32);
        if let Some(id) = op_id {
            if let Some(v) = core.frames.latest(py, id, &key)? {
                return ready(py, v);
            }
        }
        if core.finished || op_id.is_none() {
            return ready(py, py.None().into_bound(py));
        }
        let event_loop = core.ensure_loop(py, eng)?;
        let future = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        // Waiters whose consumer gave up (a timeout cancelled their future) are forgotten here.
        core.frames.value_waiters.retain(|w| !is_done(py, w.future.bind(py)));
        core.frames.value_waiters.push(ValueWaiter {
            op: op.to_string(),
            var: key.unbind(),
            future: future.clone().unbind(),
        });
        Ok(future.unbind())
    }

    /// An awaitable that completes when the run is over (whatever its outcome).
    fn wait_done(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let run = self.run.bind(py);
        ensure_started(run)?;
        let eng = run.get().engine.get();
        let mut core = lock(run.get())?;
        if core.finished {
            return ready(py, py.None().into_bound(py));
        }
        let event_loop = core.ensure_loop(py, eng)?;
        let future = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        core.done_waiters.retain(|w| !is_done(py, w.bind(py)));
        core.done_waiters.push(future.clone().unbind());
        Ok(future.unbind())
    }

    /// Cancels the run: running async ops and generators are stopped, nothing new starts, and
    /// consumers see the frames that arrived, then the end.
    fn cancel(&self, py: Python<'_>) -> PyResult<()> {
        let run = self.run.bind(py);
        lock(run.get())?.cancel(py);
        settle(run)
    }

    /// Frames not yet consumed, as `(op, ctx, data)` tuples; iteration then ends.
    fn take_rest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let run = self.run.bind(py);
        let eng = run.get().engine.get();
        let mut core = lock(run.get())?;
        let list = PyList::empty(py);
        if core.frames.drained {
            return Ok(list);
        }
        while let Some(frame) = core.frames.next(py) {
            list.append(frame_tuple(py, eng, &frame)?)?;
        }
        if core.finished {
            core.frames.drained = true;
        }
        core.after_consume(py, run)?;
        Ok(list)
    }

    /// Every frame of the run, as `(op, ctx, data)` tuples (needs `retain_frames=True`).
    fn all_frames<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let run = self.run.bind(py);
        let eng = run.get().engine.get();
        let core = lock(run.get())?;
        if !core.frames.retain {
            return Err(new_error(py, &exceptions(py).usage,
                "this handle was started with retain_frames=False: frames were dropped once consumed, so there is no result to rebuild; iterate the handle instead", &[]));
        }
        let list = PyList::empty(py);
        for f in core.frames.all() {
            let frame = FrameRef { op: f.op, path: f.path.clone(), data: f.data.clone_ref(py) };
            list.append(frame_tuple(py, eng, &frame)?)?;
        }
        Ok(list)
    }

    /// The run's error, once it failed (`None` otherwise).
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let core = lock(self.run.get())?;
        Ok(core.failure.as_ref().map(|e| e.clone_ref(py).into_value(py).into_any()))
    }

    /// The errors of ops that failed in a run started with `errors="continue"`, in the order they
    /// happened (an empty list with `errors="raise"`, where the first one fails the run).
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let core = lock(self.run.get())?;
        PyList::new(py, core.listed_errors().iter().map(|e| e.bind(py)))
    }

    /// `"continue"` when failed ops are listed and the run goes on, else `"raise"`.
    #[getter]
    fn error_mode(&self) -> PyResult<&'static str> {
        Ok(if lock(self.run.get())?.lists_errors() { "continue" } else { "raise" })
    }

    /// True once the run is over (finished, failed or cancelled).
    #[getter]
    fn done(&self) -> PyResult<bool> {
        Ok(lock(self.run.get())?.finished)
    }

    /// True when the run was cancelled.
    #[getter]
    fn cancelled(&self) -> PyResult<bool> {
        Ok(lock(self.run.get())?.cancelled)
    }

    /// Number of frames emitted so far.
    #[getter]
    fn frame_count(&self) -> PyResult<usize> {
        Ok(lock(self.run.get())?.frames.total())
    }

    /// Whether frames are kept after they are consumed.
    #[getter]
    fn retain_frames(&self) -> PyResult<bool> {
        Ok(lock(self.run.get())?.frames.retain)
    }
}
