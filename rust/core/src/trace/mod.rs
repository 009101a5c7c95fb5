//! Tracing runs of the Rust API: a [`Tracer`] receives one [`TraceData`] per run, once the run is
//! over, with a span ([`TraceNode`]) per op execution: every call of a code op, in every loop
//! iteration and for every stream item it ran in, with the op's full name, its context path, its
//! start and end times and its status (`"ok"`, or `"error"` with the error in words).
//!
//! The trait is the published crate's (`operonx::core::tracing::Tracer`, also at that path here),
//! so tracers written for it compile unchanged. Tracers are registered with
//! [`crate::OperonBuilder::tracer`], or given for one run to [`crate::Operon::start`]. A run with
//! no tracer records nothing: the drivers test once per op call that there is no span log.
//!
//! The trace is built and flushed off the run's task, on one engine-wide thread, after the run's
//! consumers saw its end (the published crate flushes on tokio's blocking pool at the same point):
//! it arrives shortly after the run's result, never before. [`flush_pending`] waits for the traces
//! of the runs that ended.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use operonx::core::tracing::{TraceData, Tracer};
//! use operonx::{Operon, OperonError};
//! use serde_json::{json, Map, Value};
//!
//! #[derive(Debug, Default)]
//! struct Keep(Mutex<Vec<TraceData>>);
//!
//! impl Tracer for Keep {
//!     fn name(&self) -> &str {
//!         "keep"
//!     }
//!     fn flush(&self, trace: &TraceData) -> Result<(), OperonError> {
//!         self.0.lock().unwrap().push(trace.clone());
//!         Ok(())
//!     }
//! }
//!
//! let doc = json!({
//!     "schema_version": "1.0", "type": "graph", "name": "g",
//!     "ops": {"inc": {"type": "code", "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}}},
//!     "edges": [], "entries": ["inc"], "exits": ["inc"]
//! });
//! let keep = Arc::new(Keep::default());
//! let engine = Operon::builder(&doc.to_string())
//!     .op("inc", |i: Map<String, Value>| Ok(json!({"y": i["x"].as_i64().unwrap_or(0) + 1})))
//!     .tracer(keep.clone())
//!     .build()?;
//! engine.run_json(Map::from_iter([("x".into(), json!(1))]), None, None, Some("req-1".into()))?;
//! assert!(operonx::trace::flush_pending(std::time::Duration::from_secs(5)));
//!
//! let traces = keep.0.lock().unwrap();
//! assert_eq!(traces[0].request_id, "req-1");
//! let span = traces[0].spans().next().unwrap();
//! assert_eq!((span.op_name.as_deref(), span.status()), (Some("g.inc"), Some("ok")));
//! # Ok::<(), OperonError>(())
//! ```

mod build;
mod deliver;
mod document;
mod filter;
mod genai;
mod local;
mod models;
mod node;
mod ordering;
mod pretty;
pub mod spans;

use std::fmt::Debug;

pub use build::{Finished, RunEnd};
pub use deliver::{deliver, deliver_job, flush_pending};
pub use document::{OpSource, RunRecord};
pub use filter::TraceFilter;
pub use local::{file_stem, LocalTracer};
pub use models::{TraceData, TraceNode, TraceSummary};
pub use spans::SpanLog;

use crate::error::OperonError;

/// Receives the trace of each run of the engines it is registered with (the published crate's
/// trait: the same methods, defaults and bounds).
///
/// `flush` is called on the engine's tracing thread, never on a run's task: it may block (write
/// a file, make a blocking HTTP call). An error it returns, or a panic, is logged through
/// `tracing` and does not affect the run nor the other tracers.
#[doc = include_str!("../../doc/trace/Tracer.md")]
pub trait Tracer: Send + Sync + Debug {
    /// A short name for log lines.
    #[doc = include_str!("../../doc/trace/Tracer.name.md")]
    fn name(&self) -> &str {
        "unknown"
    }

    /// Tags set on every trace this tracer receives.
    #[doc = include_str!("../../doc/trace/Tracer.tags.md")]
    fn tags(&self) -> &[String] {
        &[]
    }

    /// How many items of each stream are traced: the op executions in the contexts of later
    /// items are left out of this tracer's trace (they still count in its summary). `None`
    /// traces every item; the default is 100.
    #[doc = include_str!("../../doc/trace/Tracer.stream_trace_limit.md")]
    fn stream_trace_limit(&self) -> Option<usize> {
        Some(100)
    }

    /// Nodes to leave out of this tracer's traces.
    #[doc = include_str!("../../doc/trace/Tracer.trace_filter.md")]
    fn trace_filter(&self) -> Option<&TraceFilter> {
        None
    }

    /// The tracer's settings as JSON, for tools that export an engine's setup; `None` by default.
    #[doc = include_str!("../../doc/trace/Tracer.to_config_dict.md")]
    fn to_config_dict(&self) -> Option<serde_json::Value> {
        None
    }

    /// Takes the trace of one run.
    #[doc = include_str!("../../doc/trace/Tracer.flush.md")]
    fn flush(&self, trace: &TraceData) -> Result<(), OperonError>;
}

/// The ids a run was started with.
#[doc = include_str!("../../doc/trace/RunIds.md")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIds {
    /// The user the run is for.
    pub user_id: Option<String>,
    /// The session the run belongs to.
    pub session_id: Option<String>,
    /// The request that started the run.
    pub request_id: Option<String>,
}

impl RunIds {
    /// The same ids, each one not given made up (a new UUID), as the published crate makes them.
    #[doc = include_str!("../../doc/trace/RunIds.filled.md")]
    pub fn filled(self) -> RunIds {
        // the random bytes of all three in one system call (a trace usually makes up all three)
        let mut random = [0u8; 48];
        let drawn = getrandom::fill(&mut random).is_ok();
        let mut at = 0;
        let mut fill = |id: Option<String>| {
            at += 16;
            Some(id.unwrap_or_else(|| {
                if drawn {
                    let bytes = random[at - 16..at].try_into().unwrap_or_default();
                    uuid_text(uuid::Builder::from_random_bytes(bytes).into_uuid())
                } else {
                    new_id()
                }
            }))
        };
        RunIds { user_id: fill(self.user_id), session_id: fill(self.session_id), request_id: fill(self.request_id) }
    }
}

/// A new id: a random (version 4) UUID as text.
#[doc = include_str!("../../doc/trace/new_id.md")]
pub fn new_id() -> String {
    uuid_text(uuid::Uuid::new_v4())
}

/// `id` as hyphenated lower-case text (what `to_string` writes, without the formatting machinery).
fn uuid_text(id: uuid::Uuid) -> String {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut text).to_owned()
}
