//! From a run that is over to the [`TraceData`] each tracer receives: a root node for the run, a
//! node per context (stream item, collected consumer, loop iteration), a span per op execution.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::models::{TraceData, TraceNode, TraceSummary};
use super::spans::{Span, SpanLog, SpanStatus};
use super::RunIds;
use crate::plan::{OpKind, Plan};
use crate::scheduler::contexts::render;
use crate::scheduler::Segment;

/// What the trace of a run is made of, taken from the run at its end (moves and counts only: the
/// trace itself is built off the run's task).
#[doc = include_str!("../../doc/trace/build/Finished.md")]
#[derive(Debug)]
pub struct Finished {
    plan: Arc<Plan>,
    ids: RunIds,
    spans: Box<SpanLog>,
    frames: usize,
    loop_iterations: u64,
    status: &'static str,
    error: Option<String>,
    duration: Duration,
}

/// What a run that is over is, for its trace: its plan, the ids it was started with (all set),
/// how many frames it emitted, its loop iterations, its status (`"ok"`, `"error"`, `"cancelled"`)
/// and its error in words (when it failed). Made by [`crate::run::Run::finished`].
#[doc = include_str!("../../doc/trace/build/RunEnd.md")]
#[derive(Debug)]
pub struct RunEnd {
    /// The plan it ran.
    pub plan: Arc<Plan>,
    /// Its ids.
    pub ids: RunIds,
    /// Frames it emitted.
    pub frames: usize,
    /// Loop iterations, over every loop.
    pub loop_iterations: u64,
    /// `"ok"`, `"error"` or `"cancelled"`.
    pub status: &'static str,
    /// Its error in words, when it failed.
    pub error: Option<String>,
}

impl Finished {
    /// The trace material of a run that ended as `end`, with its spans.
    #[doc = include_str!("../../doc/trace/build/Finished.new.md")]
    pub fn new(end: RunEnd, spans: Box<SpanLog>) -> Self {
        let RunEnd { plan, ids, frames, loop_iterations, status, error } = end;
        Finished { plan, ids, frames, loop_iterations, status, error, duration: spans.elapsed(), spans }
    }

    /// The trace, keeping the op executions of the first `limit` items of each stream (all with
    /// `None`).
    #[doc = include_str!("../../doc/trace/build/Finished.trace.md")]
    pub fn trace(&self, limit: Option<usize>) -> TraceData {
        let rid = self.ids.request_id.clone().unwrap_or_default();
        let root_key = format!("__root__:{rid}");
        let mut nodes = vec![self.root(&root_key)];
        let mut contexts: HashMap<Vec<String>, String> = HashMap::new();
        for (i, span) in self.code_spans().enumerate() {
            if !within(&span.path, limit) {
                continue;
            }
            let path = render(&span.path);
            let parent = context_nodes(&path, &span.path, &root_key, &mut contexts, &mut nodes);
            nodes.push(self.span_node(i, span, path, parent));
        }
        TraceData {
            request_id: rid,
            workflow_name: self.plan.name.clone(),
            user_id: self.ids.user_id.clone(),
            session_id: self.ids.session_id.clone(),
            tags: Vec::new(),
            summary: self.summary(),
            nodes,
        }
    }

    fn root(&self, key: &str) -> TraceNode {
        let started = self.spans.started_at();
        let mut metadata = Map::new();
        metadata.insert("status".into(), Value::from(self.status));
        if let Some(e) = &self.error {
            metadata.insert("error".into(), Value::from(e.as_str()));
        }
        TraceNode {
            trace_key: key.to_string(),
            display_name: self.plan.name.clone(),
            node_type: "trace".into(),
            kind: "graph".into(),
            start_time: Some(timestamp(started)),
            end_time: Some(timestamp(started + self.duration)),
            duration_ms: Some(millis(self.duration)),
            metadata,
            ..TraceNode::default()
        }
    }

    fn span_node(&self, i: usize, span: &Span, path: Vec<String>, parent: String) -> TraceNode {
        let op = &self.plan.ops[span.op as usize];
        let started = self.spans.started_at();
        let mut metadata = Map::new();
        let status = match &span.status {
            SpanStatus::Ok => "ok",
            SpanStatus::Open => "cancelled",
            SpanStatus::Error(e) => {
                metadata.insert("error".into(), Value::from(e.as_str()));
                "error"
            }
        };
        metadata.insert("status".into(), Value::from(status));
        metadata.insert("context".into(), Value::from(path));
        let gen = matches!(op.kind, OpKind::SyncGen | OpKind::AsyncGen);
        if gen {
            metadata.insert("items".into(), Value::from(span.items));
        }
        let attributes = self.spans.attributes_of(span);
        let (model, usage) = if attributes.is_empty() {
            (None, None)
        } else {
            let (model, usage) = super::genai::model_and_usage(&attributes);
            metadata.insert("attributes".into(), Value::Object(attributes));
            (model.as_str().map(str::to_string), Some(usage).filter(|u| !u.is_null()))
        };
        TraceNode {
            model,
            usage,
            trace_key: format!("{}:{i}", op.full_name),
            parent_trace_key: Some(parent),
            op_name: Some(op.full_name.clone()),
            display_name: op.name.clone(),
            node_type: "span".into(),
            kind: if gen { "generator" } else { "batch" }.into(),
            start_time: Some(timestamp(started + span.start)),
            end_time: span.end.map(|end| timestamp(started + end)),
            duration_ms: span.end.map(|end| millis(end.saturating_sub(span.start))),
            metadata,
            ..TraceNode::default()
        }
    }

    /// The executions of code ops (the run also records its nested graphs' entries and ends and
    /// its branches, which the Rust API's traces leave out).
    fn code_spans(&self) -> impl Iterator<Item = &Span> + Clone {
        self.spans.spans().iter().filter(|s| !self.plan.ops[s.op as usize].kind.is_builtin())
    }

    fn summary(&self) -> TraceSummary {
        let spans: Vec<&Span> = self.code_spans().collect();
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let gens = spans.iter().filter(|s| self.plan.ops[s.op as usize].is_gen());
        TraceSummary {
            total_ops: count(spans.len()),
            total_records: count(self.frames),
            total_duration_ms: millis(self.duration),
            stream_count: count(gens.clone().count()),
            total_yields: gens.map(|s| s.items).fold(0, u32::saturating_add),
            loop_iterations: u32::try_from(self.loop_iterations).unwrap_or(u32::MAX),
            error_count: count(spans.iter().filter(|s| matches!(s.status, SpanStatus::Error(_))).count()),
        }
    }
}

/// True when no segment of `path` is an item at or past `limit`.
fn within(path: &[Segment], limit: Option<usize>) -> bool {
    let Some(limit) = limit else { return true };
    path.iter().all(|s| !matches!(s, Segment::Item(i) if *i as usize >= limit))
}

/// Adds the nodes of the contexts of `path` not added yet; returns the key of the innermost (the
/// root's for the root context).
fn context_nodes(
    path: &[String],
    segments: &[Segment],
    root_key: &str,
    contexts: &mut HashMap<Vec<String>, String>,
    nodes: &mut Vec<TraceNode>,
) -> String {
    let mut parent = root_key.to_string();
    for depth in 2..=path.len() {
        let prefix = &path[..depth];
        if let Some(key) = contexts.get(prefix) {
            parent = key.clone();
            continue;
        }
        let key = format!("$ctx:{}", prefix.join("/"));
        let kind = match segments[depth - 1] {
            Segment::Loop(_) => "loop_iter",
            _ => "stream_context",
        };
        let mut metadata = Map::new();
        metadata.insert("context".into(), Value::from(prefix.to_vec()));
        nodes.push(TraceNode {
            trace_key: key.clone(),
            parent_trace_key: Some(parent),
            display_name: prefix[depth - 1].clone(),
            node_type: "span".into(),
            kind: kind.into(),
            metadata,
            ..TraceNode::default()
        });
        contexts.insert(prefix.to_vec(), key.clone());
        parent = key;
    }
    parent
}

/// A time as RFC 3339 text, UTC, to the microsecond.
fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// A duration in milliseconds.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
