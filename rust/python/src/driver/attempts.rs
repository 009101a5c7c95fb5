//! Calls of ops with a call policy (`@op(delay=, retries=, timeout=, cache=)`): where and when each
//! attempt runs. Whether a failed attempt is retried, after how long, and how the last failure reads
//! is the core's ([`operonx::run::Run::retry`]); this module waits on loop timers and counts attempts.
//!
//! An instance with a policy counts as in flight (under its graph's concurrency cap) from its first
//! attempt to its last. A wait (the delay, a backoff) is a `loop.call_later` timer kept with the
//! run's tasks, so a run that stops cancels it. A sync op is called on the loop thread when its timer
//! fires; an async op's attempt is a task, cancelled at its timeout; a cpu op's attempt is a worker
//! job whose result is abandoned at its timeout (the thread finishes the call; nothing reads it).

use std::sync::Mutex;

use operonx::plan::{OpId, OpKind};
use operonx::run::{OpFailure, Retry};
use operonx::scheduler::CtxId;
use pyo3::prelude::*;

use super::cache;
use super::callbacks::{launch, launch_waiting, task_outcome, Args};
use super::step::{drive, from_callback, settle};
use super::{lock, PyRun, RunCore};
use crate::call::call_op;
use crate::workers;

/// One attempt of a call: its arguments, its number (1 for the first) and the cache key to store
/// its outputs under.
struct Attempt {
    args: Args,
    number: u32,
    key: Option<String>,
}

/// An instance of an op with a policy, its inputs resolved in `args`: counted in flight (or queued
/// behind the graph's concurrency cap, for [`launch_waiting`] to hand back to [`started`]).
pub(super) fn begin(run: &Bound<'_, PyRun>, op: OpId, ctx: CtxId, args: Args) -> PyResult<()> {
    if !lock(run.get())?.run.state_mut().begin_concurrent(op, ctx) {
        return Ok(());
    }
    started(run, op, ctx, args)
}

/// An instance counted in flight: a cache hit completes it; else its first attempt runs after the
/// op's delay.
pub(super) fn started(run: &Bound<'_, PyRun>, op: OpId, ctx: CtxId, args: Args) -> PyResult<()> {
    let py = run.py();
    let eng = run.get().engine();
    let Some(policy) = eng.plan().ops[op as usize].calls.as_deref() else {
        return launch(run, op, ctx, args);
    };
    let (delay, cached) = (policy.delay, policy.cache);
    let mut key = None;
    if cached {
        match cache::key(py, eng, op, &args) {
            Ok(k) => {
                if let Some(out) = cache::get(py, &k)? {
                    return conclude(run, op, ctx, Ok(out.into_bound(py)), None);
                }
                key = Some(k);
            }
            Err(e) => return conclude(run, op, ctx, Err(OpFailure::Raised(e)), None),
        }
    }
    schedule(run, op, ctx, Attempt { args, number: 1, key }, delay)
}

/// Runs `attempt` after `wait` seconds (now when there is no wait and it is the first).
fn schedule(run: &Bound<'_, PyRun>, op: OpId, ctx: CtxId, attempt: Attempt, wait: f64) -> PyResult<()> {
    if wait <= 0.0 && attempt.number == 1 {
        return call(run, op, ctx, attempt);
    }
    let py = run.py();
    let mut core = lock(run.get())?;
    let event_loop = match core.ensure_loop(py, run.get().engine()) {
        Ok(l) => l,
        Err(e) => {
            core.fail(py, e);
            return Ok(());
        }
    };
    let fire = PyAttempt { run: run.clone().unbind(), op, ctx, attempt: Mutex::new(Some(attempt)) };
    let timer = event_loop.bind(py).call_method1(pyo3::intern!(py, "call_later"), (wait, fire))?;
    core.tasks.insert((op, ctx), timer.unbind());
    Ok(())
}

/// Makes one attempt: a sync op is called here, an async op becomes a task, a cpu op a worker job;
/// an attempt with a timeout gets a timer that ends it.
fn call(run: &Bound<'_, PyRun>, op: OpId, ctx: CtxId, attempt: Attempt) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine();
    let p = &eng.plan().ops[op as usize];
    let f = eng.callable(op).bind(py);
    match p.kind {
        OpKind::Sync => {
            let result = call_op(py, f, &attempt.args, eng.call_names(op).map(|n| n.bind(py)));
            outcome(run, op, ctx, attempt, result.map_err(OpFailure::Raised))
        }
        OpKind::SyncGen => {
            let started = call_op(py, f, &attempt.args, eng.call_names(op).map(|n| n.bind(py)))
                .and_then(|g| g.try_iter().map(|i| i.into_any()));
            let next = {
                let mut core = lock(r)?;
                let next = core.run.state_mut().end_concurrent();
                if !core.run.is_over() {
                    core.start_generator(py, eng, op, ctx, started);
                }
                next
            };
            launch_waiting(run, next)
        }
        OpKind::AsyncGen => launch(run, op, ctx, attempt.args),
        OpKind::Async => {
            let coroutine = match call_op(py, f, &attempt.args, eng.call_names(op).map(|n| n.bind(py))) {
                Ok(c) => c,
                Err(e) => return outcome(run, op, ctx, attempt, Err(OpFailure::Raised(e))),
            };
            let event_loop = lock(r)?.ensure_loop(py, eng)?;
            let task = event_loop.bind(py).call_method1(pyo3::intern!(py, "create_task"), (&coroutine,));
            let task = match task {
                Ok(t) => t,
                Err(e) => {
                    let _ = coroutine.call_method0(pyo3::intern!(py, "close"));
                    return outcome(run, op, ctx, attempt, Err(OpFailure::Raised(e)));
                }
            };
            let done = Py::new(py, PyAttemptDone::new(run, op, ctx, attempt, Some(task.clone().unbind())))?;
            task.call_method1(pyo3::intern!(py, "add_done_callback"), (done.clone_ref(py),))?;
            lock(r)?.tasks.insert((op, ctx), task.unbind());
            arm_timeout(py, &event_loop, p.calls.as_deref().and_then(|c| c.timeout), done)
        }
        _ => {
            let event_loop = lock(r)?.ensure_loop(py, eng)?;
            let done = Py::new(py, PyAttemptDone::new(run, op, ctx, attempt, None))?;
            let token = lock(r)?.run.token();
            let args = done.get().args_copy(py);
            let (f, kwnames) = (f.clone().unbind(), eng.kwnames(op).clone_ref(py));
            let job = workers::Job::new(
                py,
                f,
                kwnames,
                args,
                event_loop.clone_ref(py),
                done.clone_ref(py).into_any(),
                token,
            )?;
            if let Err((job, why)) = workers::submit(py, job) {
                drop(job);
                let err = pyo3::exceptions::PyRuntimeError::new_err(why);
                return done.get().settle(run, Err(OpFailure::Raised(err)));
            }
            arm_timeout(py, &event_loop, p.calls.as_deref().and_then(|c| c.timeout), done)
        }
    }
}

/// Sets the timer that ends an attempt still running after `timeout` seconds.
fn arm_timeout(py: Python<'_>, event_loop: &Py<PyAny>, timeout: Option<f64>, done: Py<PyAttemptDone>) -> PyResult<()> {
    let Some(seconds) = timeout else { return Ok(()) };
    let timer = PyAttemptTimeout { done: done.clone_ref(py), seconds };
    let handle = event_loop.bind(py).call_method1(pyo3::intern!(py, "call_later"), (seconds, timer))?;
    *done.get().timer.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(handle.unbind());
    Ok(())
}

/// An attempt came back: a success concludes the instance; a failure is retried when the core says
/// so, else concludes it.
fn outcome(
    run: &Bound<'_, PyRun>,
    op: OpId,
    ctx: CtxId,
    attempt: Attempt,
    result: Result<Bound<'_, PyAny>, OpFailure<PyErr>>,
) -> PyResult<()> {
    let failure = match result {
        Ok(out) => return conclude(run, op, ctx, Ok(out), attempt.key),
        Err(f) => f,
    };
    let py = run.py();
    let retry = {
        let core = lock(run.get())?;
        let mut rt = RunCore::runtime(py, run.get().engine());
        core.run.retry(&mut rt, op, ctx, attempt.number, failure)
    };
    match retry {
        Retry::After { attempt: number, wait } => {
            lock(run.get())?.tasks.remove(&(op, ctx));
            schedule(run, op, ctx, Attempt { number, ..attempt }, wait)
        }
        Retry::Fail(failure) => conclude(run, op, ctx, Err(failure), None),
    }
}

/// The instance is over: it leaves the in-flight count, its outputs are cached (with `key`) and the
/// run records them, or its failure; an instance waiting for its slot is launched.
fn conclude(
    run: &Bound<'_, PyRun>,
    op: OpId,
    ctx: CtxId,
    result: Result<Bound<'_, PyAny>, OpFailure<PyErr>>,
    key: Option<String>,
) -> PyResult<()> {
    let py = run.py();
    let eng = run.get().engine();
    let next = {
        let mut core = lock(run.get())?;
        core.tasks.remove(&(op, ctx));
        let next = core.run.state_mut().end_concurrent();
        if core.run.is_over() {
            return Ok(());
        }
        if let (Ok(out), Some(key)) = (&result, key) {
            cache::put(py, key, out)?;
        }
        let mut rt = RunCore::runtime(py, eng);
        core.run.complete(&mut rt, op, ctx, result.map(Bound::unbind));
        core.release(py);
        next
    };
    launch_waiting(run, next)
}

/// A timer's callback: makes the next attempt of an instance.
#[pyclass(frozen, module = "operonx._core", name = "Attempt")]
pub struct PyAttempt {
    run: Py<PyRun>,
    op: OpId,
    ctx: CtxId,
    attempt: Mutex<Option<Attempt>>,
}

#[pymethods]
impl PyAttempt {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let run = self.run.bind(py);
        let Some(attempt) = self.attempt.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() else {
            return Ok(());
        };
        from_callback(run, || {
            {
                let mut core = lock(run.get())?;
                core.tasks.remove(&(self.op, self.ctx));
                if core.run.is_over() {
                    core.run.state_mut().end_concurrent();
                    return Ok(());
                }
            }
            call(run, self.op, self.ctx, attempt)?;
            drive(run)?;
            settle(run)
        })
    }
}

/// The done-callback of an async attempt's task (`__call__(task)`) or of a cpu attempt's job
/// (`__call__(ok, value)`), and what its timeout ends. Whichever comes first settles the attempt.
#[pyclass(frozen, module = "operonx._core", name = "AttemptDone")]
pub struct PyAttemptDone {
    run: Py<PyRun>,
    op: OpId,
    ctx: CtxId,
    attempt: Mutex<Option<Attempt>>,
    task: Option<Py<PyAny>>,
    timer: Mutex<Option<Py<PyAny>>>,
}

impl PyAttemptDone {
    fn new(run: &Bound<'_, PyRun>, op: OpId, ctx: CtxId, attempt: Attempt, task: Option<Py<PyAny>>) -> Self {
        let run = run.clone().unbind();
        PyAttemptDone { run, op, ctx, attempt: Mutex::new(Some(attempt)), task, timer: Mutex::new(None) }
    }

    /// Copies of the attempt's arguments (a worker job takes its own).
    fn args_copy(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        let a = self.attempt.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        a.as_ref().map(|a| a.args.iter().map(|v| v.clone_ref(py)).collect()).unwrap_or_default()
    }

    /// Settles the attempt with `result`, once: a later call (the task ending after its timeout, or
    /// a timeout after the end) does nothing.
    fn settle(&self, run: &Bound<'_, PyRun>, result: Result<Bound<'_, PyAny>, OpFailure<PyErr>>) -> PyResult<()> {
        let py = run.py();
        let Some(attempt) = self.attempt.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() else {
            return Ok(());
        };
        if let Some(timer) = self.timer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            timer.bind(py).call_method0(pyo3::intern!(py, "cancel"))?;
        }
        outcome(run, self.op, self.ctx, attempt, result)
    }
}

#[pymethods]
impl PyAttemptDone {
    #[pyo3(signature = (task_or_ok, value = None))]
    fn __call__(&self, py: Python<'_>, task_or_ok: Bound<'_, PyAny>, value: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let run = self.run.bind(py);
        from_callback(run, || {
            let result = match value {
                Some(v) if task_or_ok.is_truthy()? => Ok(v),
                Some(v) => Err(PyErr::from_value(v)),
                None => task_outcome(py, &task_or_ok),
            };
            self.settle(run, result.map_err(OpFailure::Raised))?;
            drive(run)?;
            settle(run)
        })
    }
}

/// The timer of an attempt's timeout: the attempt fails with a timeout (its task cancelled).
#[pyclass(frozen, module = "operonx._core", name = "AttemptTimeout")]
pub struct PyAttemptTimeout {
    done: Py<PyAttemptDone>,
    seconds: f64,
}

#[pymethods]
impl PyAttemptTimeout {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let done = self.done.get();
        let run = done.run.bind(py);
        from_callback(run, || {
            // taken first, so the task's own callback finds the attempt settled
            let Some(attempt) = done.attempt.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() else {
                return Ok(());
            };
            done.timer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            lock(run.get())?.tasks.remove(&(done.op, done.ctx));
            if let Some(task) = &done.task {
                task.bind(py).call_method0(pyo3::intern!(py, "cancel"))?;
            }
            outcome(run, done.op, done.ctx, attempt, Err(OpFailure::TimedOut(self.seconds)))?;
            drive(run)?;
            settle(run)
        })
    }
}
