//! How a run comes back to the driver: op tasks and worker jobs finishing ([`OpDone`]), a scheduled
//! loop turn ([`Resume`]), an async generator's items ([`ItemSink`]) and the `run()` future being
//! cancelled ([`RunFutureDone`]); and how async and cpu ops are launched.

use operonx::plan::{OpId, OpKind};
use operonx::scheduler::CtxId;
use pyo3::prelude::*;
use smallvec::SmallVec;

use super::pump::PyPump;
use super::step::{drive, from_callback, resume, settle};
use super::{lock, PyRun, RunCore};
use crate::call::call_op;
use crate::workers;

/// Arguments of one op call.
pub(super) type Args = SmallVec<[Py<PyAny>; 8]>;

/// Starts an async op or async generator as a loop task, or a cpu op on a worker thread.
pub(super) fn launch(run: &Bound<'_, PyRun>, op: OpId, ctx: CtxId, args: Args) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine();
    let event_loop = {
        let mut core = lock(r)?;
        match core.ensure_loop(py, eng) {
            Ok(l) => l,
            Err(e) => {
                core.fail(py, e);
                return Ok(());
            }
        }
    };
    let f = eng.callable(op).bind(py);
    let kwnames = eng.kwnames(op).bind(py);
    let kind = eng.plan().ops[op as usize].kind;
    if kind == OpKind::Cpu {
        let done = Py::new(py, PyOpDone { run: run.clone().unbind(), op, ctx })?;
        let token = lock(r)?.run.token();
        let (f, kwnames, args) = (f.clone().unbind(), kwnames.clone().unbind(), args.into_vec());
        let job = workers::Job::new(py, f, kwnames, args, event_loop.clone_ref(py), done.into_any(), token)?;
        if let Err((job, why)) = workers::submit(py, job) {
            drop(job);
            let err = pyo3::exceptions::PyRuntimeError::new_err(why);
            return resume_now(run, op, ctx, Err(err));
        }
        return Ok(());
    }
    let started = call_op(py, f, &args, eng.call_names(op).map(|n| n.bind(py))).and_then(|made| {
        let awaitable = if kind == OpKind::AsyncGen {
            Bound::new(py, PyPump::new(made.clone().unbind(), run.clone().unbind(), op, ctx))?.into_any()
        } else {
            made.clone()
        };
        let task = event_loop.bind(py).call_method1(pyo3::intern!(py, "create_task"), (&awaitable,));
        if task.is_err() {
            let _ = awaitable.call_method0(pyo3::intern!(py, "close"));
        }
        task
    });
    let task = match started {
        Ok(task) => task,
        Err(e) => return resume_now(run, op, ctx, Err(e)),
    };
    task.call_method1(pyo3::intern!(py, "add_done_callback"), (PyOpDone { run: run.clone().unbind(), op, ctx },))?;
    lock(r)?.tasks.insert((op, ctx), task.unbind());
    Ok(())
}

/// Completes a concurrent op that could not be launched, then launches the one waiting for its slot.
fn resume_now(run: &Bound<'_, PyRun>, op: OpId, ctx: CtxId, outcome: PyResult<Bound<'_, PyAny>>) -> PyResult<()> {
    let py = run.py();
    let next = {
        let mut core = lock(run.get())?;
        let next = core.run.state_mut().end_concurrent();
        core.complete(py, run.get().engine(), op, ctx, outcome);
        next
    };
    launch_waiting(run, next)
}

/// Launches an op that waited for the concurrency cap (already counted as started).
pub(super) fn launch_waiting(run: &Bound<'_, PyRun>, next: Option<(OpId, CtxId)>) -> PyResult<()> {
    let Some((op, ctx)) = next else { return Ok(()) };
    let py = run.py();
    let r = run.get();
    let eng = r.engine();
    let args = {
        let mut core = lock(r)?;
        let mut rt = RunCore::runtime(py, eng);
        match core.run.resolve(&mut rt, op, ctx) {
            Ok(args) => args,
            Err(failure) => {
                let next = core.run.state_mut().end_concurrent();
                core.fail_op(py, eng, op, ctx, failure);
                drop(core);
                return launch_waiting(run, next);
            }
        }
    };
    if eng.plan().ops[op as usize].calls.is_some() {
        return super::attempts::started(run, op, ctx, args);
    }
    launch(run, op, ctx, args)
}

/// Done-callback of an op's task (`__call__(task)`) or of a worker-thread job (`__call__(ok, value)`).
#[pyclass(frozen, module = "operonx._core", name = "OpDone")]
pub struct PyOpDone {
    run: Py<PyRun>,
    op: OpId,
    ctx: CtxId,
}

#[pymethods]
impl PyOpDone {
    #[pyo3(signature = (task_or_ok, value = None))]
    pub(super) fn __call__(
        &self,
        py: Python<'_>,
        task_or_ok: Bound<'_, PyAny>,
        value: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let run = self.run.bind(py);
        from_callback(run, || {
            let outcome = match value {
                Some(v) if task_or_ok.is_truthy()? => Ok(v),
                Some(v) => Err(PyErr::from_value(v)),
                None => task_outcome(py, &task_or_ok),
            };
            resume(run, self.op, self.ctx, outcome)
        })
    }
}

/// Continues a run on the next loop iteration (between batches of a sync generator, or when a
/// paused stream may go on).
#[pyclass(frozen, module = "operonx._core", name = "Resume")]
pub struct PyResume {
    run: Py<PyRun>,
}

impl PyResume {
    /// The callback of `run`.
    pub(super) fn new(run: Py<PyRun>) -> Self {
        PyResume { run }
    }
}

#[pymethods]
impl PyResume {
    pub(super) fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let run = self.run.bind(py);
        from_callback(run, || {
            lock(run.get())?.resume_scheduled = false;
            drive(run)?;
            settle(run)
        })
    }
}

/// Takes item `index`-next of async generator `op` running in `ctx`: the run records it and steps.
/// Returns a future to await first when the consumer is behind (`retain_frames=False`); an error
/// (`CancelledError`) when the run is over or the stream failed, which ends the generator.
pub(super) fn take_item(run: &Bound<'_, PyRun>, op: OpId, ctx: CtxId, item: Py<PyAny>) -> PyResult<Option<Py<PyAny>>> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine();
    {
        let mut core = lock(r)?;
        if core.run.is_over() {
            return Err(pyo3::exceptions::asyncio::CancelledError::new_err("the run is over"));
        }
        if core.noted(py, eng, op, ctx, item.bind(py)) {
            return Ok(None);
        }
        let index = {
            let n = core.item_counters.entry((op, ctx)).or_insert(0);
            *n += 1;
            *n - 1
        };
        if let Err(failure) = core.on_item(py, eng, op, ctx, index, item) {
            core.fail_op(py, eng, op, ctx, failure);
            return Err(pyo3::exceptions::asyncio::CancelledError::new_err("the stream failed"));
        }
    }
    // settled too: an item can end the run (an op it starts fails it), and nothing else would
    from_callback(run, || drive(run).and_then(|()| settle(run)))?;
    let mut core = lock(r)?;
    if core.run.frames().is_full() {
        let event_loop = core.ensure_loop(py, eng)?;
        let waiter = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        core.resume_waiter = Some(waiter.clone().unbind());
        return Ok(Some(waiter.unbind()));
    }
    Ok(None)
}

pub(super) fn task_outcome<'py>(py: Python<'py>, task: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if task.call_method0(pyo3::intern!(py, "cancelled"))?.is_truthy()? {
        return Err(pyo3::exceptions::asyncio::CancelledError::new_err("the op's task was cancelled"));
    }
    let exc = task.call_method0(pyo3::intern!(py, "exception"))?;
    if exc.is_none() {
        task.call_method0(pyo3::intern!(py, "result"))
    } else {
        Err(PyErr::from_value(exc))
    }
}

/// Done-callback of a run's future: cancelling the awaiting task cancels the run.
#[pyclass(frozen, module = "operonx._core", name = "RunFutureDone")]
pub struct PyRunFutureDone {
    run: Py<PyRun>,
}

impl PyRunFutureDone {
    /// The callback of `run`.
    pub(super) fn new(run: Py<PyRun>) -> Self {
        PyRunFutureDone { run }
    }
}

#[pymethods]
impl PyRunFutureDone {
    pub(super) fn __call__(&self, py: Python<'_>, future: Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(pyo3::intern!(py, "cancelled"))?.is_truthy()? {
            let run = self.run.bind(py);
            lock(run.get())?.cancel(py);
            settle(run)?;
        }
        Ok(())
    }
}
