//! Worker threads for `bound="cpu"` ops. Each thread attaches to the interpreter once and keeps its
//! thread state for its whole life, detaching only while it waits for work (so a call costs no fresh
//! attach). Results go back to the run's loop with `call_soon_threadsafe`.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::call::call_with_kwnames;

/// One cpu op call.
pub struct Job {
    /// The function.
    pub func: Py<PyAny>,
    /// Its keyword names.
    pub kwnames: Py<PyTuple>,
    /// Its arguments.
    pub args: Vec<Py<PyAny>>,
    /// The loop of the run.
    pub event_loop: Py<PyAny>,
    /// Called on the loop as `done(ok, value_or_exception)`.
    pub done: Py<PyAny>,
}

static POOL: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

fn pool() -> &'static Mutex<Sender<Job>> {
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
        for i in 0..threads {
            let rx = rx.clone();
            let _ = std::thread::Builder::new().name(format!("operonx-cpu-{i}")).spawn(move || worker(rx));
        }
        Mutex::new(tx)
    })
}

/// Queues a job on the pool.
pub fn submit(job: Job) {
    let tx = pool().lock().unwrap_or_else(|p| p.into_inner());
    let _ = tx.send(job);
}

fn worker(rx: Arc<Mutex<Receiver<Job>>>) {
    Python::attach(|py| loop {
        let job = py.detach(|| rx.lock().unwrap_or_else(|p| p.into_inner()).recv());
        let Ok(job) = job else { return };
        run_job(py, job);
    });
}

fn run_job(py: Python<'_>, job: Job) {
    let args: Vec<Bound<'_, PyAny>> = job.args.iter().map(|a| a.bind(py).clone()).collect();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        call_with_kwnames(py, job.func.bind(py), &args, job.kwnames.bind(py))
    }));
    let (ok, value) = match outcome {
        Ok(Ok(v)) => (true, v),
        Ok(Err(e)) => (false, e.into_value(py).into_any().into_bound(py)),
        Err(panic) => {
            let msg = operonx::engine::panic_message(&*panic);
            let err = pyo3::exceptions::PyRuntimeError::new_err(format!("worker panicked: {msg}"));
            (false, err.into_value(py).into_any().into_bound(py))
        }
    };
    // A closed loop means the run is gone; there is nobody left to tell.
    let _ = job.event_loop.bind(py).call_method1(pyo3::intern!(py, "call_soon_threadsafe"), (job.done, ok, value));
}
