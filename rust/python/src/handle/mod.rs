//! `Handle`: the consumer side of a run started with `engine.start()`. Frames are delivered from the
//! run's buffer without a loop round trip when one is waiting; a consumer that outruns the run gets
//! a loop future that the driver resolves on the same thread.

use operonx::run::{group, Phase};
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

mod awaitables;

use crate::driver::RunCore;
use crate::driver::{drive, ensure_started, lock, settle, PyRun};
use crate::errors::usage_error;
use crate::frames::{frame_tuple, is_done};
use crate::guards::keeping_pending_error;
use crate::runtime::{lookup, PyRuntime};

pub(crate) use awaitables::{ready, PyNextFrame, PyReady};

/// What awaiting the next frame comes to: a frame, or a loop future to wait on first.
pub(crate) enum Next {
    /// The `Frame(op, context, data)`.
    Frame(Py<PyAny>),
    /// A future (already marked as awaited) that is resolved when a frame arrives or the run ends.
    Wait(Py<PyAny>),
}

/// Takes the next frame of `run` for an awaiting consumer. At the end it raises
/// `StopAsyncIteration`, or the run's error after the run's last frame.
pub(crate) fn next_frame(run: &Bound<'_, PyRun>) -> PyResult<Next> {
    let py = run.py();
    let eng = run.get().engine();
    let mut core = lock(run.get())?;
    if !core.run().is_started() {
        drop(core);
        ensure_started(run)?;
        core = lock(run.get())?;
    }
    if core.run().frames().is_drained() {
        return Err(PyStopAsyncIteration::new_err(()));
    }
    if core.run().frames().total() == 0 && !core.run().is_over() && core.resume_pending() {
        // Before its first frame the run waits for a loop turn only to start: this consumer is
        // here, so step it now (same thread) and skip a round trip. Later frames go through the
        // loop, so other tasks keep running while a generator streams.
        drop(core);
        drive(run)?;
        settle(run)?;
        core = lock(run.get())?;
    }
    if let Some(frame) = core.run_mut().frames_mut().next(|d| d.clone_ref(py)) {
        core.after_consume(py, run)?;
        return Ok(Next::Frame(frame_tuple(py, eng, &frame)?.into_any().unbind()));
    }
    if core.run().is_over() {
        core.run_mut().frames_mut().drain();
        return match core.run().failure() {
            Some(err) if core.run().phase() == Phase::Failed => Err(err.clone_ref(py)),
            _ => Err(PyStopAsyncIteration::new_err(())),
        };
    }
    let event_loop = core.ensure_loop(py, eng)?;
    let future = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
    // What `Future.__await__` sets before it yields the future to the task that awaits it.
    future.setattr(pyo3::intern!(py, "_asyncio_future_blocking"), true)?;
    core.run_mut().waiters_mut().add_next(future.clone().unbind(), |w| is_done(py, w.bind(py)));
    core.after_consume(py, run)?;
    Ok(Next::Wait(future.unbind()))
}

/// The engine side of `operonx.ExecutionHandle` (which wraps it as `_inner`).
#[pyclass(frozen, module = "operonx._core", name = "Handle")]
pub struct PyHandle {
    run: Py<PyRun>,
}

impl PyHandle {
    /// Wraps a run.
    pub(crate) fn new(run: Py<PyRun>) -> Self {
        PyHandle { run }
    }
}

impl Drop for PyHandle {
    /// A handle nobody holds any more (not even an `async for`) cancels its run, so no op task
    /// outlives it. The drop may come while an exception propagates (the `async for` body raised)
    /// or from the garbage collector while the run is being stepped: the pending exception is kept
    /// as it is, and a run that is busy is asked to cancel itself once its current step ends.
    fn drop(&mut self) {
        Python::attach(|py| keeping_pending_error(py, |py| cancel_dropped(self.run.bind(py))));
    }
}

/// Cancels the run of a dropped handle, now or (when it is being stepped) at its next step.
fn cancel_dropped(run: &Bound<'_, PyRun>) {
    let py = run.py();
    let r = run.get();
    let Some(mut core) = r.try_lock() else {
        r.request_cancel();
        return;
    };
    if core.run().is_over() {
        return;
    }
    core.cancel(py);
    drop(core);
    let _ = settle(run);
}

#[pymethods]
impl PyHandle {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// An awaitable of the next frame (see [`PyNextFrame`]).
    fn __anext__(&self, py: Python<'_>) -> PyNextFrame {
        PyNextFrame::new(self.run.clone_ref(py))
    }

    /// The value of `var` in the frames of op `op`: the last one buffered, else the first to arrive,
    /// else `None` once the run is over.
    fn wait_for(&self, py: Python<'_>, op: &str, var: &str) -> PyResult<Py<PyAny>> {
        let run = self.run.bind(py);
        ensure_started(run)?;
        let eng = run.get().engine();
        let key = PyString::new(py, var);
        let mut core = lock(run.get())?;
        let op_id = eng.plan().find_op(op);
        if let Some(id) = op_id {
            let found = core.run().frames().latest(id, |d| lookup(d.bind(py), &key))?;
            if let Some(v) = found {
                return ready(py, v);
            }
        }
        if core.run().is_over() || op_id.is_none() {
            return ready(py, py.None().into_bound(py));
        }
        let event_loop = core.ensure_loop(py, eng)?;
        let future = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        // Waiters whose consumer gave up (a timeout cancelled their future) are forgotten here.
        core.run_mut().waiters_mut().add_value(op, var, future.clone().unbind(), |w| is_done(py, w.bind(py)));
        Ok(future.unbind())
    }

    /// An awaitable that completes when the run is over (whatever its outcome).
    fn wait_done(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let run = self.run.bind(py);
        ensure_started(run)?;
        let eng = run.get().engine();
        let mut core = lock(run.get())?;
        if core.run().is_over() {
            return ready(py, py.None().into_bound(py));
        }
        let event_loop = core.ensure_loop(py, eng)?;
        let future = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        core.run_mut().waiters_mut().add_done(future.clone().unbind(), |w| is_done(py, w.bind(py)));
        Ok(future.unbind())
    }

    /// Cancels the run: running async ops and generators are stopped, nothing new starts, and
    /// consumers see the frames that arrived, then the end.
    fn cancel(&self, py: Python<'_>) -> PyResult<()> {
        let run = self.run.bind(py);
        let Some(mut core) = run.get().try_lock() else {
            // called by one of the run's own ops while it is being stepped: applied at the next step
            run.get().request_cancel();
            return Ok(());
        };
        core.cancel(py);
        drop(core);
        settle(run)
    }

    /// Frames not yet consumed, as `Frame(op, context, data)` tuples; iteration then ends.
    fn take_rest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let run = self.run.bind(py);
        let eng = run.get().engine();
        let mut core = lock(run.get())?;
        let list = PyList::empty(py);
        if core.run().frames().is_drained() {
            return Ok(list);
        }
        while let Some(frame) = core.run_mut().frames_mut().next(|d| d.clone_ref(py)) {
            list.append(frame_tuple(py, eng, &frame)?)?;
        }
        if core.run().is_over() {
            core.run_mut().frames_mut().drain();
        }
        core.after_consume(py, run)?;
        Ok(list)
    }

    /// Every frame of the run, as `Frame(op, context, data)` tuples (needs `retain_frames=True`).
    fn all_frames<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let run = self.run.bind(py);
        let eng = run.get().engine();
        let core = lock(run.get())?;
        if !core.run().frames().retains() {
            return Err(usage_error(py, "this handle was started with retain_frames=False: frames were dropped once consumed, so there is no result to rebuild; iterate the handle instead"));
        }
        let list = PyList::empty(py);
        for f in core.run().frames().all() {
            list.append(frame_tuple(py, eng, f)?)?;
        }
        Ok(list)
    }

    /// The run's result: the frames grouped by key as `await engine.run()` groups them (those of
    /// loop iterations that were not the last left out; with `unwrap`, a key seen once keeps its
    /// value, else every key gives a list), plus `"$errors"` with `errors="continue"`. Needs
    /// `retain_frames=True`.
    #[pyo3(signature = (unwrap = true))]
    fn result<'py>(&self, py: Python<'py>, unwrap: bool) -> PyResult<Bound<'py, PyDict>> {
        let run = self.run.bind(py);
        let core = lock(run.get())?;
        let mut rt = PyRuntime::new(py, run.get().engine());
        let kept = core.run().frames().kept().map(|f| &f.data);
        let grouped = group(&mut rt, kept, unwrap)?.into_bound(py).cast_into::<PyDict>()?;
        with_errors(py, &core, grouped)
    }

    /// Takes the frames not yet consumed and groups them as [`PyHandle::result`] does (iteration
    /// then ends).
    #[pyo3(signature = (unwrap = false))]
    fn collect_rest<'py>(&self, py: Python<'py>, unwrap: bool) -> PyResult<Bound<'py, PyDict>> {
        let run = self.run.bind(py);
        let mut core = lock(run.get())?;
        let mut rest = Vec::new();
        if !core.run().frames().is_drained() {
            while let Some(frame) = core.run_mut().frames_mut().next(|d| d.clone_ref(py)) {
                if !frame.superseded {
                    rest.push(frame.data);
                }
            }
            if core.run().is_over() {
                core.run_mut().frames_mut().drain();
            }
            core.after_consume(py, run)?;
        }
        let mut rt = PyRuntime::new(py, run.get().engine());
        let grouped = group(&mut rt, rest.iter(), unwrap)?.into_bound(py).cast_into::<PyDict>()?;
        with_errors(py, &core, grouped)
    }

    /// The run's error, once it failed (`None` otherwise).
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let core = lock(self.run.get())?;
        Ok(core.run().failure().map(|e| e.clone_ref(py).into_value(py).into_any()))
    }

    /// The errors of ops that failed in a run started with `errors="continue"`, in the order they
    /// happened (an empty list with `errors="raise"`, where the first one fails the run).
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let core = lock(self.run.get())?;
        PyList::new(py, core.run().errors().iter().map(|e| e.clone_ref(py).into_value(py)))
    }

    /// `"continue"` when failed ops are listed and the run goes on, else `"raise"`.
    #[getter]
    fn error_mode(&self) -> PyResult<&'static str> {
        Ok(if lock(self.run.get())?.run().lists_errors() { "continue" } else { "raise" })
    }

    /// True once the run is over (finished, failed or cancelled).
    #[getter]
    fn done(&self) -> PyResult<bool> {
        Ok(lock(self.run.get())?.run().is_over())
    }

    /// Where the run is: `"created"` (not started yet), `"running"`, `"finished"`, `"failed"` or
    /// `"cancelled"`.
    #[getter]
    fn state(&self) -> PyResult<&'static str> {
        Ok(match lock(self.run.get())?.run().phase() {
            Phase::Created => "created",
            Phase::Running => "running",
            Phase::Finished => "finished",
            Phase::Failed => "failed",
            Phase::Cancelled => "cancelled",
        })
    }

    /// True when the run was cancelled.
    #[getter]
    fn cancelled(&self) -> PyResult<bool> {
        Ok(lock(self.run.get())?.run().phase() == Phase::Cancelled)
    }

    /// Number of frames emitted so far.
    #[getter]
    fn frame_count(&self) -> PyResult<usize> {
        Ok(lock(self.run.get())?.run().frames().total())
    }

    /// Whether frames are kept after they are consumed.
    #[getter]
    fn retain_frames(&self) -> PyResult<bool> {
        Ok(lock(self.run.get())?.run().frames().retains())
    }
}

/// Adds `"$errors"` (the errors listed so far) to a grouped result of a run with `errors="continue"`.
fn with_errors<'py>(py: Python<'py>, core: &RunCore, grouped: Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
    if core.run().lists_errors() {
        let errors = core.run().errors().iter().map(|e| e.clone_ref(py).into_value(py));
        grouped.set_item(pyo3::intern!(py, "$errors"), PyList::new(py, errors)?)?;
    }
    Ok(grouped)
}
