//! Where a traced run's trace goes: a [`PyLocalTracer`] writes it as a JSON file, a
//! [`PyTraceQueue`] hands it to Python code (the package's `Tracer` classes) that takes traces in
//! batches on a thread of its own. Both are fed on the engine's tracing thread, which never
//! touches Python.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use operonx::trace::RunRecord;
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::Value;

use crate::value::json_to_py;

/// The file writer behind a `LocalTracer`.
#[derive(Debug)]
pub(crate) struct FileSink {
    dir: PathBuf,
    tags: Vec<String>,
    /// True once the directory is known to exist.
    dir_made: AtomicBool,
    /// Why writes failed since Python last asked (the tracing thread cannot log through Python).
    failures: Mutex<Vec<String>>,
}

impl FileSink {
    /// Writes the trace of `rec` to `<dir>/<request_id>.json` (through a temporary file, renamed,
    /// so a reader never sees half a trace).
    fn write(&self, rec: &RunRecord) {
        thread_local! {
            /// The text of the trace being written (kept: the next trace of the thread reuses it).
            static BODY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BODY.with_borrow_mut(|body| {
            body.clear();
            let id = rec.write_pretty(&self.tags, body);
            self.save(&id, body);
        });
    }

    fn save(&self, id: &str, body: &[u8]) {
        // `<dir>/<stem>.json`, written as `<dir>/<stem>.json.tmp` first (no path parsing)
        let mut name = operonx::trace::file_stem(id);
        name.push_str(".json");
        let file = self.dir.join(name);
        let mut tmp = file.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        // the directory is made once (and again when a write finds it gone)
        let mut written = Ok(());
        if !self.dir_made.load(Ordering::Relaxed) {
            written = std::fs::create_dir_all(&self.dir);
            self.dir_made.store(written.is_ok(), Ordering::Relaxed);
        }
        let mut written = written.and_then(|()| std::fs::write(&tmp, body));
        if matches!(&written, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            written = std::fs::create_dir_all(&self.dir).and_then(|()| std::fs::write(&tmp, body));
        }
        let written = written.and_then(|()| std::fs::rename(&tmp, &file));
        if let Err(e) = written {
            let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if failures.len() < 100 {
                failures.push(format!("LocalTracer could not write {}: {e}", file.display()));
            }
        }
    }
}

/// The queue behind a Python tracer: trace documents waiting for its thread.
#[derive(Debug)]
pub(crate) struct QueueSink {
    tags: Vec<String>,
    limit: Option<usize>,
    tx: Mutex<Sender<Value>>,
    rx: Mutex<Receiver<Value>>,
    /// Traces handed over by runs and not yet marked done by the Python side.
    pending: AtomicUsize,
    closed: AtomicBool,
}

impl QueueSink {
    /// A run's trace is on its way (counted at the run's end, on the loop thread).
    pub(crate) fn expect(&self) {
        self.pending.fetch_add(1, Ordering::AcqRel);
    }

    /// Builds the document of `rec` and queues it; `parent` is what the tracer captured when the
    /// run started (its `"$parent"` key).
    fn push(&self, rec: &RunRecord, parent: Option<Value>) {
        let mut doc = rec.document(&self.tags, self.limit);
        if let (Some(parent), Value::Object(map)) = (parent, &mut doc) {
            map.insert("$parent".into(), parent);
        }
        let tx = self.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if tx.send(doc).is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Where one traced run's trace goes (pure Rust: it travels to the tracing thread).
pub(crate) enum Target {
    /// A file.
    File(Arc<FileSink>),
    /// A Python tracer's queue, with what it captured at the run's start.
    Queue(Arc<QueueSink>, Option<Value>),
}

impl Target {
    /// Hands the trace of `rec` over.
    pub(crate) fn take(self, rec: &RunRecord) {
        match self {
            Target::File(f) => f.write(rec),
            Target::Queue(q, parent) => q.push(rec, parent),
        }
    }
}

/// `LocalTracer(path, tags)`: writes each traced run's trace to `<path>/<request_id>.json`, in
/// Rust, on the engine's tracing thread.
#[pyclass(frozen, module = "operonx._core", name = "LocalTracer")]
pub struct PyLocalTracer {
    pub(crate) sink: Arc<FileSink>,
}

#[pymethods]
impl PyLocalTracer {
    #[new]
    #[pyo3(signature = (path, tags = Vec::new()))]
    fn new(path: PathBuf, tags: Vec<String>) -> Self {
        PyLocalTracer { sink: Arc::new(FileSink { dir: path, tags, dir_made: AtomicBool::new(false), failures: Mutex::new(Vec::new()) }) }
    }

    /// The directory traces are written to.
    #[getter]
    fn path(&self) -> String {
        self.sink.dir.display().to_string()
    }

    /// Why writes failed since the last call (each a sentence naming the file).
    fn take_failures(&self) -> Vec<String> {
        std::mem::take(&mut *self.sink.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// `TraceQueue(tags, stream_trace_limit, capture)`: the traces of the runs a Python tracer
/// traces, taken in batches by its thread. `capture`, when given, is called on the loop thread as
/// each run starts; what it returns (JSON-like) comes back with the trace under `"$parent"`.
#[pyclass(frozen, module = "operonx._core", name = "TraceQueue")]
pub struct PyTraceQueue {
    pub(crate) sink: Arc<QueueSink>,
    pub(crate) capture: Option<Py<PyAny>>,
}

#[pymethods]
impl PyTraceQueue {
    #[new]
    #[pyo3(signature = (tags = Vec::new(), stream_trace_limit = None, capture = None))]
    fn new(tags: Vec<String>, stream_trace_limit: Option<usize>, capture: Option<Py<PyAny>>) -> Self {
        let (tx, rx) = mpsc::channel();
        let sink = QueueSink {
            tags,
            limit: stream_trace_limit,
            tx: Mutex::new(tx),
            rx: Mutex::new(rx),
            pending: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        };
        PyTraceQueue { sink: Arc::new(sink), capture }
    }

    /// Up to `max` traces (dicts), waiting at most `timeout` seconds for the first (without
    /// holding the GIL); an empty list when none came, `None` once the queue is closed and empty.
    fn take<'py>(&self, py: Python<'py>, max: usize, timeout: f64) -> PyResult<Option<Bound<'py, PyList>>> {
        let wait = Duration::from_secs_f64(timeout.max(0.0));
        let sink = Arc::clone(&self.sink);
        let batch = py.detach(move || {
            let rx = sink.rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut batch = Vec::new();
            match rx.recv_timeout(wait) {
                Ok(doc) => batch.push(doc),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return if sink.closed.load(Ordering::Acquire) { None } else { Some(batch) };
                }
            }
            while batch.len() < max.max(1) {
                match rx.try_recv() {
                    Ok(doc) => batch.push(doc),
                    Err(_) => break,
                }
            }
            Some(batch)
        });
        let Some(batch) = batch else { return Ok(None) };
        let items = batch.iter().map(|doc| json_to_py(py, doc)).collect::<PyResult<Vec<_>>>()?;
        Ok(Some(PyList::new(py, items)?))
    }

    /// Marks `n` traces taken by [`PyTraceQueue::take`] as handled.
    fn done(&self, n: usize) {
        let _ = self.sink.pending.fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| Some(p.saturating_sub(n)));
    }

    /// Traces handed over by runs that are not marked handled yet.
    fn pending(&self) -> usize {
        self.sink.pending.load(Ordering::Acquire)
    }

    /// Closes the queue: `take` returns `None` once it is empty.
    fn close(&self) {
        self.sink.closed.store(true, Ordering::Release);
    }
}
