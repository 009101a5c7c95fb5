//! Tracing runs driven from Python: the core's run layer records each op execution (its inputs
//! and outputs made JSON on the loop thread), and at the run's end the record is handed to the
//! engine's tracing thread, which builds the trace document and writes it to a file
//! ([`PyLocalTracer`]) or queues it for a Python tracer's thread ([`PyTraceQueue`]). A run with no
//! tracer records nothing: the run layer tests once per op call that it has no log, and the
//! driver once per run.

mod sinks;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use operonx::plan::OpKind;
use operonx::trace::{deliver_job, OpSource, RunIds, RunRecord, SpanLog};
use pyo3::prelude::*;

use crate::compiled::Compiled;
use crate::runtime::PyRuntime;
use sinks::{FileSink, QueueSink, Target};
pub use sinks::{PyLocalTracer, PyTraceQueue};

/// What a generator yields to give its span attributes instead of an item
/// (`operonx.tracing.SpanNote`): `attributes` is a dict of names to JSON values.
#[pyclass(frozen, module = "operonx._core", name = "SpanNote")]
pub struct PySpanNote {
    attributes: Py<pyo3::types::PyDict>,
}

#[pymethods]
impl PySpanNote {
    #[new]
    fn new(attributes: Bound<'_, pyo3::types::PyDict>) -> Self {
        PySpanNote { attributes: attributes.unbind() }
    }

    /// The attributes, by name.
    #[getter]
    fn attributes(&self, py: Python<'_>) -> Py<pyo3::types::PyDict> {
        self.attributes.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("SpanNote({})", self.attributes.bind(py).repr()?))
    }
}

/// The attributes of `item` when it is a [`PySpanNote`] (one type test: items pay nothing more).
#[inline]
pub(crate) fn note_attributes<'py>(item: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    let note = item.cast_exact::<PySpanNote>().ok()?;
    Some(note.get().attributes.bind(item.py()).clone().into_any())
}

/// One place a run's trace goes.
pub(crate) enum Sink {
    /// A `LocalTracer`'s file writer.
    File(Arc<FileSink>),
    /// A Python tracer's queue, and what it calls as a run starts.
    Queue(Arc<QueueSink>, Option<Py<PyAny>>),
}

/// The tracers of an engine or of one run.
pub(crate) type Sinks = Arc<[Sink]>;

/// The `_core` tracers in `tracers` (a `LocalTracer` or a `TraceQueue` each); `None` for none.
pub(crate) fn sinks(tracers: Option<Vec<Bound<'_, PyAny>>>) -> PyResult<Option<Sinks>> {
    let Some(tracers) = tracers.filter(|t| !t.is_empty()) else { return Ok(None) };
    let mut out = Vec::with_capacity(tracers.len());
    for t in tracers {
        if let Ok(local) = t.cast::<PyLocalTracer>() {
            out.push(Sink::File(Arc::clone(&local.get().sink)));
        } else if let Ok(queue) = t.cast::<PyTraceQueue>() {
            let q = queue.get();
            out.push(Sink::Queue(Arc::clone(&q.sink), q.capture.as_ref().map(|c| c.clone_ref(t.py()))));
        } else {
            let ty = t.get_type().name()?.to_string();
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "a tracer is an operonx.tracing.Tracer (LocalTracer, OpenTelemetryTracer...), not {ty}"
            )));
        }
    }
    Ok(Some(out.into()))
}

/// What an engine keeps for tracing: its tracers, and its ops' functions as trace files show
/// them (read once, at the first traced run's end).
#[derive(Default)]
pub(crate) struct EngineTrace {
    /// The engine's tracers (`Operon(g, tracer=...)`).
    pub(crate) default: Option<Sinks>,
    sources: OnceLock<Arc<[Option<OpSource>]>>,
    /// Span logs whose traces were written, emptied with their memory kept: a traced run takes
    /// one, so that recording allocates (and the tracing thread frees) nothing per run. Boxed:
    /// a run holds its log as a box, which moves in and out of the pool as a pointer.
    #[allow(clippy::vec_box)]
    logs: Mutex<Vec<Box<SpanLog>>>,
    /// How many spans and bytes of values the engine's last traced run recorded: a new log is
    /// made that big at once (the pool is empty while the tracing thread catches up).
    last_size: (AtomicUsize, AtomicUsize),
}

/// How many emptied span logs an engine keeps.
const POOLED_LOGS: usize = 8;

impl EngineTrace {
    /// An engine's tracing with `default` tracers.
    pub(crate) fn new(default: Option<Sinks>) -> Self {
        EngineTrace {
            default,
            sources: OnceLock::new(),
            logs: Mutex::new(Vec::new()),
            last_size: (AtomicUsize::new(0), AtomicUsize::new(0)),
        }
    }

    /// An empty span log keeping values, its clock started now.
    fn log(&self) -> Box<SpanLog> {
        let pooled = self.logs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        match pooled {
            Some(mut log) => {
                log.restart();
                log
            }
            None => {
                let mut log = Box::new(SpanLog::with_values());
                log.reserve(self.last_size.0.load(Ordering::Relaxed), self.last_size.1.load(Ordering::Relaxed));
                log
            }
        }
    }

    /// Takes back the log of a run whose trace was handed over (on the tracing thread).
    fn recycle(&self, mut log: Box<SpanLog>) {
        log.restart();
        let mut logs = self.logs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if logs.len() < POOLED_LOGS {
            logs.push(log);
        }
    }

    fn sources(&self, py: Python<'_>, eng: &Compiled) -> Arc<[Option<OpSource>]> {
        Arc::clone(self.sources.get_or_init(|| read_sources(py, eng)))
    }
}

/// Each code op's function name and source (`inspect.getsource`, read once per function; `None`
/// when it cannot be read).
fn read_sources(py: Python<'_>, eng: &Compiled) -> Arc<[Option<OpSource>]> {
    let getsource = py.import("inspect").and_then(|m| Ok((m.getattr("getsource")?, m.getattr("unwrap")?))).ok();
    let mut read: std::collections::HashMap<usize, Option<String>> = std::collections::HashMap::new();
    let plan = eng.plan();
    (0..plan.ops.len())
        .map(|i| {
            let op = &plan.ops[i];
            if op.kind.is_builtin() || matches!(op.kind, OpKind::LoopEnter | OpKind::LoopExit) {
                return None;
            }
            let f = eng.callable(i as u32).bind(py);
            let code = read
                .entry(f.as_ptr() as usize)
                .or_insert_with(|| {
                    let (getsource, unwrap) = getsource.as_ref()?;
                    let f = unwrap.call1((f,)).ok()?;
                    getsource.call1((f,)).ok()?.extract::<String>().ok()
                })
                .clone();
            Some(OpSource { function_name: op.func_name.clone(), code })
        })
        .collect()
}

/// A traced run: where its trace goes and what its Python tracers captured at its start.
pub(crate) struct TraceRun {
    targets: Vec<(Sink, Option<serde_json::Value>)>,
    engine: Arc<EngineTrace>,
    compiled: Arc<Compiled>,
}

impl TraceRun {
    /// Starts tracing a run of `compiled` to `sinks`: calls each Python tracer's capture.
    pub(crate) fn begin(
        py: Python<'_>,
        sinks: &Sinks,
        engine: &Arc<EngineTrace>,
        compiled: &Arc<Compiled>,
    ) -> PyResult<(Box<TraceRun>, Box<SpanLog>)> {
        let mut targets = Vec::with_capacity(sinks.len());
        for s in sinks.iter() {
            let (sink, captured) = match s {
                Sink::File(f) => (Sink::File(Arc::clone(f)), None),
                Sink::Queue(q, capture) => {
                    let captured = match capture {
                        Some(c) => Some(crate::value::py_to_json_lossy(&c.bind(py).call0()?)),
                        None => None,
                    };
                    (Sink::Queue(Arc::clone(q), None), captured)
                }
            };
            targets.push((sink, captured));
        }
        let run = TraceRun { targets, engine: Arc::clone(engine), compiled: Arc::clone(compiled) };
        let log = engine.log();
        Ok((Box::new(run), log))
    }

    /// Hands the trace of a run that is over to the tracing thread. `spans` is its log (the
    /// run's inputs and outputs recorded), `ids` its request, session and user ids.
    pub(crate) fn end(
        self,
        py: Python<'_>,
        run: &mut operonx::run::Run<crate::runtime::PyModel>,
        ids: [Option<String>; 3],
    ) {
        let mut rt = PyRuntime::new(py, &self.compiled);
        run.finish_spans(&mut rt);
        let Some(spans) = run.take_spans() else { return };
        self.engine.last_size.0.store(spans.spans().len(), Ordering::Relaxed);
        self.engine.last_size.1.store(spans.mark() as usize, Ordering::Relaxed);
        let tags = run.tags().iter().map(|t| text(t.bind(py))).collect();
        let error = run.failure().map(|e| {
            let ty = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
            format!("{ty}: {}", text(e.value(py).as_any()))
        });
        let [request_id, session_id, user_id] = ids;
        let record = RunRecord {
            plan: Arc::clone(run.plan_shared()),
            duration: spans.elapsed(),
            spans,
            ids: RunIds { user_id, session_id, request_id },
            tags,
            error,
            loop_iterations: run.loop_stats().map(|(_, s)| s.iterations).sum(),
            sources: self.engine.sources(py, &self.compiled),
        };
        let targets: Vec<Target> = self
            .targets
            .into_iter()
            .map(|(sink, captured)| match sink {
                Sink::File(f) => Target::File(f),
                Sink::Queue(q, _) => {
                    q.expect();
                    Target::Queue(q, captured)
                }
            })
            .collect();
        let engine = self.engine;
        deliver_job(Box::new(move || {
            for t in targets {
                t.take(&record);
            }
            engine.recycle(record.spans);
        }));
    }
}

/// `str(obj)`.
fn text(obj: &Bound<'_, PyAny>) -> String {
    obj.str().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Waits until the traces of the runs that ended are built and handed to their tracers (files
/// written, Python tracers' queues fed), at most `timeout` seconds, without holding the GIL;
/// false when the time ran out.
#[pyfunction]
#[pyo3(signature = (timeout = 10.0))]
pub fn flush_traces(py: Python<'_>, timeout: f64) -> bool {
    let wait = std::time::Duration::from_secs_f64(timeout.max(0.0));
    py.detach(|| operonx::trace::flush_pending(wait))
}
