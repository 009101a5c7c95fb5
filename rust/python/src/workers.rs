//! Worker threads for `bound="cpu"` ops. Each thread attaches to the interpreter once and keeps its
//! thread state for its whole life, detaching only while it waits for work (so a call costs no fresh
//! attach). Results go back to the run's loop with `call_soon_threadsafe`.
//!
//! Each job carries its run's stop token: a job whose run failed or was cancelled before it started
//! is dropped, and a job whose run stopped while it ran has its result discarded. The pool is shut
//! down by an `atexit` hook: jobs still queued are dropped, running ones finish, and every thread is
//! joined, so no thread of ours touches Python once the interpreter finalizes. A forked child
//! starts a pool of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyTuple};

use operonx::run::CancelToken;

use crate::call::call_op;

/// One cpu op call.
pub struct Job {
    /// The function.
    func: Py<PyAny>,
    /// Its keyword names.
    kwnames: Py<PyTuple>,
    /// Its arguments.
    args: Vec<Py<PyAny>>,
    /// A copy of the caller's `contextvars` context, entered around the call (as
    /// `asyncio.to_thread` does).
    context: Py<PyAny>,
    /// Another copy of the caller's context, in which `done` runs on the loop (unchanged by
    /// whatever the call set in its own copy).
    done_context: Py<PyAny>,
    /// The loop of the run.
    event_loop: Py<PyAny>,
    /// Called on the loop as `done(ok, value_or_exception)`.
    done: Py<PyAny>,
    /// The run's cancel token: set once the run has stopped (failed or cancelled).
    stopped: CancelToken,
}

impl Job {
    /// A call of `func` with `args` under `kwnames`, on behalf of a run on `event_loop`: `done(ok,
    /// value_or_exception)` is called on the loop when it is over, unless the run's token
    /// `stopped` is set by then. The call runs in a copy of the caller's `contextvars` context.
    pub fn new(
        py: Python<'_>,
        func: Py<PyAny>,
        kwnames: Py<PyTuple>,
        args: Vec<Py<PyAny>>,
        event_loop: Py<PyAny>,
        done: Py<PyAny>,
        stopped: CancelToken,
    ) -> PyResult<Self> {
        let (context, done_context) = (copy_context(py)?, copy_context(py)?);
        Ok(Job { func, kwnames, args, context, done_context, event_loop, done, stopped })
    }

    fn run_stopped(&self) -> bool {
        self.stopped.is_cancelled()
    }
}

/// The running threads and the queue that feeds them.
struct Pool {
    tx: Sender<Job>,
    threads: Vec<JoinHandle<()>>,
    /// The process that started the threads (a forked child has none of them).
    pid: u32,
}

/// The pool, once started; `None` before the first cpu op and after shutdown.
static POOL: Mutex<Option<Pool>> = Mutex::new(None);
/// Set by the exit hook: no job is accepted any more.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);
/// Set once the exit hook is registered (a forked child inherits it).
static HOOKED: AtomicBool = AtomicBool::new(false);

impl Pool {
    fn start(py: Python<'_>) -> PyResult<Pool> {
        if !HOOKED.swap(true, Ordering::AcqRel) {
            let hook = wrap_pyfunction!(shutdown, py)?;
            py.import("atexit")?.call_method1(pyo3::intern!(py, "register"), (hook,))?;
        }
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let count = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
        let mut threads = Vec::with_capacity(count);
        for i in 0..count {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("operonx-cpu-{i}")).spawn(move || worker(rx));
            threads.push(spawned.map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?);
        }
        Ok(Pool { tx, threads, pid: std::process::id() })
    }
}

/// Queues a job; gives it back when the pool cannot take it (the interpreter is exiting, or no
/// thread could be started), with the reason.
pub fn submit(py: Python<'_>, job: Job) -> Result<(), (Job, String)> {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if SHUT_DOWN.load(Ordering::Acquire) {
        return Err((job, "the interpreter is exiting: cpu ops no longer run".into()));
    }
    if pool.as_ref().is_some_and(|p| p.pid != std::process::id()) {
        // A forked child: the parent's threads do not exist here, and joining them would fail.
        std::mem::forget(pool.take());
    }
    if pool.is_none() {
        match Pool::start(py) {
            Ok(p) => *pool = Some(p),
            Err(e) => return Err((job, format!("cpu worker threads could not start: {e}"))),
        }
    }
    let Some(p) = pool.as_ref() else { unreachable!("the pool was just started") };
    p.tx.send(job).map_err(|e| (e.0, "cpu worker threads are gone".to_string()))
}

/// The exit hook: refuses new jobs, drops the queued ones, lets running ones finish and joins every
/// thread.
#[pyfunction]
fn shutdown(py: Python<'_>) {
    SHUT_DOWN.store(true, Ordering::Release);
    let pool = POOL.lock().unwrap_or_else(|p| p.into_inner()).take();
    let Some(pool) = pool.filter(|p| p.pid == std::process::id()) else { return };
    drop(pool.tx); // the threads see the queue closed once it is empty
    py.detach(|| {
        for t in pool.threads {
            let _ = t.join();
        }
    });
}

fn worker(rx: Arc<Mutex<Receiver<Job>>>) {
    Python::attach(|py| loop {
        let job = py.detach(|| rx.lock().unwrap_or_else(|p| p.into_inner()).recv());
        let Ok(job) = job else { return };
        if job.run_stopped() || SHUT_DOWN.load(Ordering::Acquire) {
            // Its run failed or was cancelled before it started, or the interpreter is exiting:
            // dropped, never run.
            continue;
        }
        run_job(py, job);
    });
}

fn run_job(py: Python<'_>, job: Job) {
    let outcome =
        in_context(py, job.context.bind(py), || call_op(py, job.func.bind(py), &job.args, Some(job.kwnames.bind(py))));
    if job.run_stopped() {
        return; // the run stopped while this ran: the result is discarded and starts nothing
    }
    let (ok, value) = match outcome {
        Ok(v) => (true, v),
        Err(e) => (false, e.into_value(py).into_any().into_bound(py)),
    };
    // A closed loop means the run is gone; there is nobody left to tell.
    let kwargs = [(pyo3::intern!(py, "context"), job.done_context.bind(py))].into_py_dict(py);
    let _ = kwargs.and_then(|kwargs| {
        job.event_loop.bind(py).call_method(
            pyo3::intern!(py, "call_soon_threadsafe"),
            (job.done, ok, value),
            Some(&kwargs),
        )
    });
}

/// Calls `f` with `context` (a `contextvars.Context`) as the thread's current context; a panic
/// becomes a `RuntimeError`.
fn in_context<'py>(
    py: Python<'py>,
    context: &Bound<'py, PyAny>,
    f: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: attached; `context` is a live Context object that only this job enters.
    if unsafe { pyo3::ffi::PyContext_Enter(context.as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = operonx::engine::panic_message(&*panic);
        Err(pyo3::exceptions::PyRuntimeError::new_err(format!("worker panicked: {msg}")))
    });
    // SAFETY: the same context, entered above on this thread and still current.
    if unsafe { pyo3::ffi::PyContext_Exit(context.as_ptr()) } != 0 {
        let err = PyErr::fetch(py);
        return result.and(Err(err));
    }
    result
}

/// A copy of the calling thread's current `contextvars` context.
fn copy_context(py: Python<'_>) -> PyResult<Py<PyAny>> {
    // SAFETY: attached; PyContext_CopyCurrent returns a new reference or NULL with an exception.
    unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyContext_CopyCurrent()).map(Bound::unbind) }
}
