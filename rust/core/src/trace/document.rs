//! The trace file of the Python package (its `LocalTracer`'s `{request_id}.json`, the dict its
//! tracers receive): a root node for the run, a node per op execution with its inputs and outputs,
//! a node per nested graph with its ops under it, a `stream_context` node per stream item under
//! the generator that yielded it, in tree order, and a summary. The format is the published Python
//! package's (0.7.1), built from a [`SpanLog`] kept with values.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::node::{escaped_codes, timestamp, Io, Meta, Node};
use super::ordering::{node_key, order, parent_graph, plan_facts, PlanFacts};
use super::pretty::{self, Obj};
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

impl RunRecord {
    /// The trace document: `tags` first, then the run's own (each once; `null` when there are
    /// none); op executions in the contexts of stream items at or past `limit` are left out.
    #[doc = include_str!("../../doc/trace/document/RunRecord.document.md")]
    pub fn document(&self, tags: &[String], limit: Option<usize>) -> Value {
        let (ids, nodes) = self.nodes(limit);
        let summary = self.summary(&nodes);
        let merged = self.tags(tags);
        // built in place: `json!` would serialize the nodes again into new values
        let mut doc = Map::new();
        doc.insert("request_id".into(), ids.request_id.into());
        doc.insert("user_id".into(), ids.user_id.into());
        doc.insert("session_id".into(), ids.session_id.into());
        doc.insert("workflow_name".into(), self.plan.name.clone().into());
        doc.insert("tags".into(), if merged.is_empty() { Value::Null } else { Value::from(merged) });
        let nodes = nodes.iter().map(|n| Value::Object(n.value(&self.spans))).collect();
        doc.insert("nodes".into(), Value::Array(nodes));
        doc.insert("summary".into(), summary.value());
        Value::Object(doc)
    }

    /// Writes the trace document (see [`RunRecord::document`], every stream item kept) to `out`
    /// as pretty-printed JSON text (what `serde_json::to_vec_pretty` writes for it), without
    /// building it as a `Value`; returns its request id.
    #[doc = include_str!("../../doc/trace/document/RunRecord.write_pretty.md")]
    pub fn write_pretty(&self, tags: &[String], out: &mut Vec<u8>) -> String {
        let (ids, nodes) = self.nodes(None);
        let summary = self.summary(&nodes);
        let merged = self.tags(tags);
        let request_id = ids.request_id.unwrap_or_default();
        let mut doc = Obj::open(out, 0);
        doc.str("request_id", &request_id);
        doc.opt_str("user_id", ids.user_id.as_deref());
        doc.opt_str("session_id", ids.session_id.as_deref());
        doc.str("workflow_name", &self.plan.name);
        if merged.is_empty() {
            doc.key("tags").extend_from_slice(b"null");
        } else {
            pretty::value(doc.key("tags"), &Value::from(merged), 1);
        }
        let codes = escaped_codes(&self.sources);
        let list = doc.key("nodes");
        if nodes.is_empty() {
            list.extend_from_slice(b"[]");
        } else {
            list.push(b'[');
            for (i, n) in nodes.iter().enumerate() {
                list.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
                n.write(&self.spans, list, 2, &codes);
            }
            list.extend_from_slice(b"\n  ]");
        }
        summary.write(doc.key("summary"), 1);
        doc.close();
        request_id
    }

    /// The ids (made up where not given) and the nodes, in tree order.
    fn nodes(&self, limit: Option<usize>) -> (RunIds, Vec<Node<'_>>) {
        let ids = self.ids.clone().filled();
        let root_key = format!("{}:main", self.plan.full_name);
        let mut tree = Tree::new(self, &root_key);
        for span in self.spans.spans() {
            if within(span, limit) {
                tree.add(span);
            }
        }
        let mut nodes = vec![self.root(&root_key)];
        nodes.extend(tree.built);
        (ids, order(nodes))
    }

    /// `tags` first, then the run's own, each once.
    fn tags(&self, tags: &[String]) -> Vec<String> {
        let mut merged: Vec<String> = Vec::new();
        for t in tags.iter().chain(&self.tags) {
            if !merged.contains(t) {
                merged.push(t.clone());
            }
        }
        merged
    }

    fn root(&self, key: &str) -> Node<'_> {
        let started = self.spans.started_at();
        let outputs = match self.spans.run_output_ranges() {
            [] => Io::Empty,
            [one] => Io::Text(one.clone()),
            _ => Io::Map(self.spans.run_outputs()),
        };
        let inputs = self.spans.run_input_range().map_or(Io::Empty, Io::Text);
        Node {
            key: key.to_string(),
            parent: None,
            sort: (0, 0),
            op_name: Some(&self.plan.full_name),
            display: self.plan.name.clone(),
            node_type: "trace",
            kind: "batch",
            inputs,
            outputs,
            start: Some(timestamp(started)),
            end: Some(timestamp(started + self.duration)),
            duration: Some(millis(self.duration)),
            meta: Meta { kind: Some("batch"), error: self.error.as_deref(), ..Meta::default() },
        }
    }

    fn summary(&self, nodes: &[Node<'_>]) -> Summary {
        let (mut streams, mut yields, mut total, mut errors) = (0u64, 0u64, 0.0f64, 0u64);
        for n in nodes {
            total += n.duration.unwrap_or(0.0);
            if n.kind == "generator" {
                streams += 1;
                yields += u64::from(n.meta.yield_count.unwrap_or(0));
            }
            if n.node_type == "span" && n.meta.error.is_some() {
                errors += 1;
            }
        }
        Summary {
            total_ops: plan_facts(&self.plan).names,
            total_records: nodes.iter().filter(|n| n.op_name.is_some()).count() as u64,
            total_duration_ms: (total * 100.0).round() / 100.0,
            stream_count: streams,
            total_yields: yields,
            loop_iterations: self.loop_iterations,
            error_count: errors,
        }
    }
}

/// A document's `summary`.
struct Summary {
    total_ops: u64,
    total_records: u64,
    total_duration_ms: f64,
    stream_count: u64,
    total_yields: u64,
    loop_iterations: u64,
    error_count: u64,
}

impl Summary {
    fn value(&self) -> Value {
        json!({
            "total_ops": self.total_ops,
            "total_records": self.total_records,
            "total_duration_ms": self.total_duration_ms,
            "stream_count": self.stream_count,
            "total_yields": self.total_yields,
            "loop_iterations": self.loop_iterations,
            "error_count": self.error_count,
        })
    }

    fn write(&self, out: &mut Vec<u8>, depth: usize) {
        let mut o = Obj::open(out, depth);
        o.u64("total_ops", self.total_ops);
        o.u64("total_records", self.total_records);
        o.f64("total_duration_ms", Some(self.total_duration_ms));
        o.u64("stream_count", self.stream_count);
        o.u64("total_yields", self.total_yields);
        o.u64("loop_iterations", self.loop_iterations);
        o.u64("error_count", self.error_count);
        o.close();
    }
}

/// The nodes of the op executions and of the contexts they ran in.
struct Tree<'r> {
    rec: &'r RunRecord,
    root_key: String,
    facts: std::rc::Rc<PlanFacts>,
    /// Where each nested graph ran: (graph full name, rendered path) → index in `built`.
    graphs: HashMap<(&'r str, Vec<String>), usize>,
    /// Where each generator ran: (graph full name, rendered path) → its key.
    generators: HashMap<(&'r str, Vec<String>), String>,
    contexts: HashSet<String>,
    built: Vec<Node<'r>>,
}

impl<'r> Tree<'r> {
    fn new(rec: &'r RunRecord, root_key: &str) -> Self {
        Tree {
            rec,
            root_key: root_key.to_string(),
            facts: plan_facts(&rec.plan),
            graphs: HashMap::default(),
            generators: HashMap::default(),
            contexts: HashSet::default(),
            built: Vec::new(),
        }
    }

    fn add(&mut self, span: &'r Span) {
        let plan = &self.rec.plan;
        let p = &plan.ops[span.op as usize];
        let path = render(&span.path);
        let graph = parent_graph(&p.full_name);
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
        let key = node_key(&p.full_name, &path);
        let parent = self.parent_of(graph, &path, span);
        let started = self.rec.spans.started_at();
        let mut meta = Meta { kind: Some(kind), ..Meta::default() };
        if let Some(Some(src)) = self.rec.sources.get(span.op as usize) {
            meta.op = Some(span.op);
            meta.function_name = Some(&src.function_name);
            meta.code = src.code.as_deref();
        }
        if kind == "generator" {
            meta.yield_count = Some(span.items);
            self.generators.insert((graph, path.clone()), key.clone());
        }
        if let SpanStatus::Error(e) = &span.status {
            meta.error = Some(e);
        }
        let (inputs, outputs) = if p.kind == OpKind::GraphEnter {
            (io(&span.outputs), Io::Empty)
        } else if span.yielded.is_empty() {
            (io(&span.inputs), io(&span.outputs))
        } else {
            (io(&span.inputs), Io::Map(self.rec.spans.outputs_of(span)))
        };
        let attributes = self.rec.spans.attributes_of(span);
        if !attributes.is_empty() {
            meta.attributes = Some(attributes);
        }
        if p.kind == OpKind::GraphEnter {
            self.graphs.insert((&p.full_name, path), self.built.len());
        }
        let rank = self.facts.ranks.get(&p.full_name).copied().unwrap_or(999_999);
        self.built.push(Node {
            key,
            parent: Some(parent),
            sort: (rank, 0),
            op_name: Some(&p.full_name),
            display: p.name.clone(),
            node_type: "span",
            kind,
            inputs,
            outputs,
            start: Some(timestamp(started + span.start)),
            end: span.end.map(|e| timestamp(started + e)),
            duration: span.end.map(|e| millis(e.saturating_sub(span.start))),
            meta,
        });
    }

    /// A nested graph's end: its node gets its end time and outputs.
    fn graph_end(&mut self, span: &Span, full_name: &str, path: Vec<String>) {
        let Some(&i) = self.graphs.get(&(full_name, path)) else { return };
        let started = self.rec.spans.started_at();
        let node = &mut self.built[i];
        let end = span.end.unwrap_or(span.start);
        let begun = node.start.as_deref().and_then(|s| humantime::parse_rfc3339(s).ok()).unwrap_or(started);
        let ms = millis((started + end).duration_since(begun).unwrap_or_default());
        node.end = Some(timestamp(started + end));
        node.duration = Some(ms);
        node.outputs = io(&span.outputs);
    }

    /// The key of the node an execution of an op of `graph` at `path` sits under: its graph's
    /// node (the root's, or the nested graph's where it ran), or the context node of the stream
    /// item it ran for.
    fn parent_of(&mut self, graph: &'r str, path: &[String], span: &Span) -> String {
        let (graph_key, matched) = if graph == self.rec.plan.full_name || graph.is_empty() {
            (self.root_key.clone(), 1.min(path.len()))
        } else {
            let found =
                (1..=path.len()).rev().find(|&n| self.graphs.contains_key(&(graph, path[..n].to_vec())));
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
                let spawner = self.generators.get(&(graph, path[..depth - 1].to_vec()));
                let up = spawner.cloned().unwrap_or_else(|| graph_key.clone());
                let index = match span.path[depth - 1] {
                    Segment::Item(i) => u64::from(i),
                    _ => 0,
                };
                self.built.push(Node {
                    key: key.clone(),
                    parent: Some(up),
                    sort: (999_998, index),
                    op_name: None,
                    display: path[depth - 1].clone(),
                    node_type: "span",
                    kind: "stream_context",
                    inputs: Io::Empty,
                    outputs: Io::Empty,
                    start: None,
                    end: None,
                    duration: None,
                    meta: Meta::default(),
                });
            }
            parent = key;
        }
        parent
    }
}

/// A value kept in the log's text, or `{}`.
fn io(range: &Option<std::ops::Range<u32>>) -> Io {
    range.clone().map_or(Io::Empty, Io::Text)
}

/// True when no segment of the span's context is an item at or past `limit`.
fn within(span: &Span, limit: Option<usize>) -> bool {
    let Some(limit) = limit else { return true };
    span.path.iter().all(|s| !matches!(s, Segment::Item(i) if *i as usize >= limit))
}

/// A duration in milliseconds.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
