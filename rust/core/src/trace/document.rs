//! The trace file of the Python package (its `LocalTracer`'s `{request_id}.json`, the dict its
//! tracers receive): a root node for the run, a node per op execution with its inputs and outputs,
//! a node per nested graph with its ops under it, a `stream_context` node per stream item under
//! the generator that yielded it, in tree order, and a summary. The format is the published Python
//! package's (0.7.1), built from a [`SpanLog`] kept with values.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::ordering::{order, parent_graph, ranks};
use super::spans::{Span, SpanLog, SpanStatus};
use super::RunIds;
use crate::plan::{OpKind, Plan};
use crate::scheduler::contexts::render;
use crate::scheduler::Segment;

/// What a code op's node says of its function: its name and its source.
#[doc = include_str!("../../doc/trace/document/OpSource.md")]
#[derive(Debug, Clone, Default)]
pub struct OpSource {
    /// The function's name.
    pub function_name: String,
    /// The function's source text, when it could be read.
    pub code: Option<String>,
}

/// A run that is over, as its trace file is built from: moved out of the run at its end, built
/// into a document off the run's thread.
#[doc = include_str!("../../doc/trace/document/RunRecord.md")]
#[derive(Debug)]
pub struct RunRecord {
    /// The plan the run ran.
    pub plan: Arc<Plan>,
    /// Its op executions, kept with values.
    pub spans: Box<SpanLog>,
    /// Its ids (those not given are made up when the document is built).
    pub ids: RunIds,
    /// The tags its ops returned under `"$tags"`, in order.
    pub tags: Vec<String>,
    /// The run's error in words, when it failed.
    pub error: Option<String>,
    /// How long it ran.
    pub duration: Duration,
    /// Loop iterations, over every loop.
    pub loop_iterations: u64,
    /// Per op id: its function (code ops), shared by the runs of one engine.
    pub sources: Arc<[Option<OpSource>]>,
}

/// One node being built, with what places it in the tree.
pub(super) struct Built {
    pub(super) node: Map<String, Value>,
    pub(super) key: String,
    pub(super) parent: Option<String>,
    pub(super) sort: (usize, u64, String),
}

impl RunRecord {
    /// The trace document: `tags` first, then the run's own (each once; `null` when there are
    /// none); op executions in the contexts of stream items at or past `limit` are left out.
    #[doc = include_str!("../../doc/trace/document/RunRecord.document.md")]
    pub fn document(&self, tags: &[String], limit: Option<usize>) -> Value {
        let ids = self.ids.clone().filled();
        let root_name = self.plan.full_name.clone();
        let root_key = format!("{root_name}:main");
        let mut tree = Tree::new(self, &root_key);
        for span in self.spans.spans() {
            if within(span, limit) {
                tree.add(span);
            }
        }
        let mut nodes = vec![self.root(&root_key)];
        nodes.extend(tree.built);
        let ordered = order(nodes);
        let summary = self.summary(&ordered);
        let mut merged: Vec<String> = Vec::new();
        for t in tags.iter().chain(&self.tags) {
            if !merged.contains(t) {
                merged.push(t.clone());
            }
        }
        // built in place: `json!` would serialize the nodes again into new values
        let mut doc = Map::new();
        doc.insert("request_id".into(), ids.request_id.into());
        doc.insert("user_id".into(), ids.user_id.into());
        doc.insert("session_id".into(), ids.session_id.into());
        doc.insert("workflow_name".into(), self.plan.name.clone().into());
        doc.insert("tags".into(), if merged.is_empty() { Value::Null } else { Value::from(merged) });
        doc.insert("nodes".into(), Value::Array(ordered.into_iter().map(|b| Value::Object(b.node)).collect()));
        doc.insert("summary".into(), summary);
        Value::Object(doc)
    }

    fn root(&self, key: &str) -> Built {
        let started = self.spans.started_at();
        let mut metadata = Map::new();
        metadata.insert("kind".into(), "batch".into());
        if let Some(e) = &self.error {
            metadata.insert("error".into(), e.as_str().into());
        }
        let node = node(
            key,
            None,
            Some(&self.plan.full_name),
            &self.plan.name,
            ("trace", "batch"),
            (self.spans.run_inputs(), self.spans.run_outputs()),
            (timestamp(started), Some(timestamp(started + self.duration)), Some(millis(self.duration))),
            metadata,
        );
        Built { node, key: key.to_string(), parent: None, sort: (0, 0, String::new()) }
    }

    fn summary(&self, nodes: &[Built]) -> Value {
        let mut names: HashSet<&str> = self.plan.ops.iter().map(|o| o.full_name.as_str()).collect();
        names.insert(&self.plan.full_name);
        let (mut streams, mut yields, mut total, mut errors) = (0u64, 0u64, 0.0f64, 0u64);
        for b in nodes {
            let n = &b.node;
            total += n.get("duration_ms").and_then(Value::as_f64).unwrap_or(0.0);
            if n["kind"] == "generator" {
                streams += 1;
                yields += n["metadata"]["yield_count"].as_u64().unwrap_or(0);
            }
            if n["node_type"] == "span" && n["metadata"].get("error").is_some() {
                errors += 1;
            }
        }
        json!({
            "total_ops": names.len(),
            "total_records": nodes.iter().filter(|b| !b.node["op_name"].is_null()).count(),
            "total_duration_ms": (total * 100.0).round() / 100.0,
            "stream_count": streams,
            "total_yields": yields,
            "loop_iterations": self.loop_iterations,
            "error_count": errors,
        })
    }
}

/// The nodes of the op executions and of the contexts they ran in.
struct Tree<'r> {
    rec: &'r RunRecord,
    root_key: &'r str,
    ranks: HashMap<String, usize>,
    /// Where each nested graph ran: (graph full name, rendered path) → index in `built`.
    graphs: HashMap<(String, Vec<String>), usize>,
    /// Where each generator ran: (graph full name, rendered path) → its key.
    generators: HashMap<(String, Vec<String>), String>,
    contexts: HashSet<String>,
    built: Vec<Built>,
}

impl<'r> Tree<'r> {
    fn new(rec: &'r RunRecord, root_key: &'r str) -> Self {
        Tree {
            rec,
            root_key,
            ranks: ranks(&rec.plan),
            graphs: HashMap::new(),
            generators: HashMap::new(),
            contexts: HashSet::new(),
            built: Vec::new(),
        }
    }

    fn add(&mut self, span: &Span) {
        let plan = &self.rec.plan;
        let p = &plan.ops[span.op as usize];
        let path = render(&span.path);
        let graph = parent_graph(&p.full_name).to_string();
        match p.kind {
            OpKind::LoopEnter | OpKind::LoopExit => return,
            OpKind::GraphExit => return self.graph_end(span, &p.full_name, path),
            _ => {}
        }
        let kind = match p.kind {
            OpKind::SyncGen | OpKind::AsyncGen => "generator",
            OpKind::GraphEnter => "graph",
            _ if matches!(span.path.last(), Some(Segment::Loop(_))) => "loop_iter",
            _ => "batch",
        };
        let key = format!("{}:{}", p.full_name, path.join("."));
        let parent = self.parent_of(&graph, &path, span);
        let started = self.rec.spans.started_at();
        let mut metadata = Map::new();
        metadata.insert("kind".into(), kind.into());
        if let Some(Some(src)) = self.rec.sources.get(span.op as usize) {
            metadata.insert("function_name".into(), src.function_name.as_str().into());
            if let Some(code) = &src.code {
                metadata.insert("code_fn".into(), code.as_str().into());
            }
        }
        if kind == "generator" {
            metadata.insert("yield_count".into(), span.items.into());
            self.generators.insert((graph, path.clone()), key.clone());
        }
        if let SpanStatus::Error(e) = &span.status {
            metadata.insert("error".into(), e.as_str().into());
        }
        let log = &self.rec.spans;
        let (inputs, outputs) = if p.kind == OpKind::GraphEnter {
            (log.object(span.outputs.as_ref()), Map::new())
        } else {
            (log.object(span.inputs.as_ref()), log.outputs_of(span))
        };
        let end = span.end.map(|e| timestamp(started + e));
        let duration = span.end.map(|e| millis(e.saturating_sub(span.start)));
        let attributes = log.attributes_of(span);
        let llm = (!attributes.is_empty()).then(|| super::genai::model_and_usage(&attributes));
        if !attributes.is_empty() {
            metadata.insert("attributes".into(), Value::Object(attributes));
        }
        let mut node = node(
            &key,
            Some(&parent),
            Some(&p.full_name),
            &p.name,
            ("span", kind),
            (inputs, outputs),
            (timestamp(started + span.start), end, duration),
            metadata,
        );
        if let Some((model, usage)) = llm {
            node.insert("model".into(), model);
            node.insert("usage".into(), usage);
        }
        if p.kind == OpKind::GraphEnter {
            self.graphs.insert((p.full_name.clone(), path), self.built.len());
        }
        let rank = self.ranks.get(&p.full_name).copied().unwrap_or(999_999);
        self.built.push(Built { node, key: key.clone(), parent: Some(parent), sort: (rank, 0, key) });
    }

    /// A nested graph's end: its node gets its end time and outputs.
    fn graph_end(&mut self, span: &Span, full_name: &str, path: Vec<String>) {
        let Some(&i) = self.graphs.get(&(full_name.to_string(), path)) else { return };
        let started = self.rec.spans.started_at();
        let node = &mut self.built[i].node;
        let end = span.end.unwrap_or(span.start);
        let begun = node["start_time"].as_str().and_then(|s| humantime::parse_rfc3339(s).ok()).unwrap_or(started);
        let ms = millis((started + end).duration_since(begun).unwrap_or_default());
        node.insert("end_time".into(), timestamp(started + end).into());
        node.insert("duration_ms".into(), ms.into());
        node.insert("outputs".into(), Value::Object(self.rec.spans.object(span.outputs.as_ref())));
    }

    /// The key of the node an execution of an op of `graph` at `path` sits under: its graph's
    /// node (the root's, or the nested graph's where it ran), or the context node of the stream
    /// item it ran for.
    fn parent_of(&mut self, graph: &str, path: &[String], span: &Span) -> String {
        let (graph_key, matched) = if graph == self.rec.plan.full_name || graph.is_empty() {
            (self.root_key.to_string(), 1.min(path.len()))
        } else {
            let found =
                (1..=path.len()).rev().find(|&n| self.graphs.contains_key(&(graph.to_string(), path[..n].to_vec())));
            match found {
                Some(n) => (format!("{graph}:{}", path[..n].join(".")), n),
                None => return graph.to_string(),
            }
        };
        let relative = &span.path[matched.min(span.path.len())..];
        if relative.is_empty() || !relative.iter().all(|s| matches!(s, Segment::Item(_))) {
            return graph_key;
        }
        let mut parent = graph_key.clone();
        for depth in matched + 1..=path.len() {
            let key = format!("$ctx:{graph}:{}", path[..depth].join("."));
            if self.contexts.insert(key.clone()) {
                let spawner = self.generators.get(&(graph.to_string(), path[..depth - 1].to_vec()));
                let up = spawner.cloned().unwrap_or_else(|| graph_key.clone());
                let index = match span.path[depth - 1] {
                    Segment::Item(i) => u64::from(i),
                    _ => 0,
                };
                let node = node(
                    &key,
                    Some(&up),
                    None,
                    &path[depth - 1],
                    ("span", "stream_context"),
                    (Map::new(), Map::new()),
                    (String::new(), None, None),
                    Map::new(),
                );
                self.built.push(Built {
                    node,
                    key: key.clone(),
                    parent: Some(up),
                    sort: (999_998, index, key.clone()),
                });
            }
            parent = key;
        }
        parent
    }
}

/// One node in the published field order.
#[allow(clippy::too_many_arguments)]
fn node(
    key: &str,
    parent: Option<&str>,
    op_name: Option<&str>,
    display: &str,
    (node_type, kind): (&str, &str),
    (inputs, outputs): (Map<String, Value>, Map<String, Value>),
    (start, end, duration): (String, Option<String>, Option<f64>),
    metadata: Map<String, Value>,
) -> Map<String, Value> {
    let mut n = Map::new();
    n.insert("trace_key".into(), key.into());
    n.insert("parent_trace_key".into(), parent.into());
    n.insert("op_name".into(), op_name.into());
    n.insert("display_name".into(), display.into());
    n.insert("node_type".into(), node_type.into());
    n.insert("kind".into(), kind.into());
    n.insert("inputs".into(), Value::Object(inputs));
    n.insert("outputs".into(), Value::Object(outputs));
    n.insert("start_time".into(), if start.is_empty() { Value::Null } else { start.into() });
    n.insert("end_time".into(), end.into());
    n.insert("duration_ms".into(), duration.into());
    n.insert("metadata".into(), Value::Object(metadata));
    n.insert("model".into(), Value::Null);
    n.insert("usage".into(), Value::Null);
    n.insert("cost".into(), Value::Null);
    n.insert("media".into(), Value::Array(Vec::new()));
    n
}

/// True when no segment of the span's context is an item at or past `limit`.
fn within(span: &Span, limit: Option<usize>) -> bool {
    let Some(limit) = limit else { return true };
    span.path.iter().all(|s| !matches!(s, Segment::Item(i) if *i as usize >= limit))
}

/// A time as ISO 8601 text, UTC, to the microsecond (`2026-01-01T12:00:00.000001Z`).
fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// A duration in milliseconds.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
