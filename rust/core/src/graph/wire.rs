//! The document as written, in either form, and its translation into [`GraphDoc`] / [`OpDoc`].
//!
//! Every key either form may hold is listed here; any other key is refused (naming it), and so is a
//! key of the published form whose meaning this engine does not have (`cache`, `delay`, a provider
//! op's settings, lookback edges). Keys that change nothing in what runs (`python_callable`,
//! `verbose`, `description`, `stream_initial_ready`, a ref's `is_output`) are read and dropped.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::schema::{CaseDoc, EdgeDoc, EdgeOrigin, GraphDoc, LoopDoc, OpDoc, Ordered, ParamDoc};
use super::values::bounded_opt;

/// The published form's `[target, soft]` links of one op.
type Links = Vec<(String, bool)>;

/// The published form's cap on a loop whose `loop_config` gives no `max_iterations`.
pub const PUBLISHED_MAX_ITERATIONS: u64 = 1000;

/// The published form's loop (`loop_config`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a loop_config (a JSON object with until and max_iterations)")]
pub(super) struct PublishedLoop {
    #[serde(default, deserialize_with = "bounded_opt")]
    until: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    max_iterations: Option<Value>,
}

/// The keys a graph's body has in both forms (a root document's, or a published nested graph op's).
#[derive(Default)]
struct Body {
    ops: Ordered<OpDoc>,
    edges: Option<Vec<EdgeDoc>>,
    compiled_adj: Option<Ordered<Links>>,
    initial_ready_count: Option<Ordered<i64>>,
    entries: Vec<String>,
    exits: Vec<String>,
    concurrency: Option<u32>,
    max_stream_concurrent: Option<u32>,
    loop_doc: Option<LoopDoc>,
    loop_config: Option<PublishedLoop>,
}

/// A whole document (or our form's nested `graph` body) as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a graph document (a JSON object)")]
pub(super) struct GraphWire {
    #[serde(default, deserialize_with = "bounded_opt")]
    schema_version: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    name: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    concurrency: Option<u32>,
    #[serde(default)]
    max_stream_concurrent: Option<u32>,
    #[serde(default)]
    ops: Ordered<OpDoc>,
    #[serde(default)]
    edges: Option<Vec<EdgeDoc>>,
    #[serde(default)]
    compiled_adj: Option<Ordered<Links>>,
    #[serde(default)]
    initial_ready_count: Option<Ordered<i64>>,
    #[serde(default, rename = "stream_initial_ready")]
    _stream_initial_ready: Option<IgnoredAny>,
    #[serde(default)]
    entries: Vec<String>,
    #[serde(default)]
    exits: Vec<String>,
    #[serde(default)]
    inputs: Ordered<ParamDoc>,
    #[serde(default, rename = "outputs")]
    _outputs: Ordered<ParamDoc>,
    #[serde(default, rename = "loop")]
    loop_doc: Option<LoopDoc>,
    #[serde(default)]
    loop_config: Option<PublishedLoop>,
    // What 0.7.1's Python writes on a root graph as on any op.
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default, rename = "func_name")]
    _func_name: Option<IgnoredAny>,
    #[serde(default, rename = "python_callable")]
    _python_callable: Option<IgnoredAny>,
    #[serde(default, rename = "is_async")]
    _is_async: Option<IgnoredAny>,
    #[serde(default, rename = "is_generator")]
    _is_generator: Option<IgnoredAny>,
    #[serde(default, rename = "verbose")]
    _verbose: Option<IgnoredAny>,
    #[serde(default, rename = "stream")]
    _stream: Option<IgnoredAny>,
    #[serde(default, rename = "bound")]
    _bound: Option<IgnoredAny>,
    #[serde(default, rename = "description")]
    _description: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "bounded_opt")]
    cache: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    delay: Option<Value>,
}

impl TryFrom<GraphWire> for GraphDoc {
    type Error = String;

    fn try_from(w: GraphWire) -> Result<GraphDoc, String> {
        if let Some(kind) = w.kind.as_deref().filter(|k| *k != "graph") {
            return Err(format!("the document has type '{kind}'; a graph document has \"type\": \"graph\""));
        }
        if w.enabled == Some(false) {
            return Err(format!("graph '{}' is disabled (\"enabled\": false): nothing of it would run", w.name));
        }
        refuse_unsupported(&w.name, &[("cache", &w.cache), ("delay", &w.delay)])?;
        let body = Body {
            ops: w.ops,
            edges: w.edges,
            compiled_adj: w.compiled_adj,
            initial_ready_count: w.initial_ready_count,
            entries: w.entries,
            exits: w.exits,
            concurrency: w.concurrency,
            max_stream_concurrent: w.max_stream_concurrent,
            loop_doc: w.loop_doc,
            loop_config: w.loop_config,
        };
        let mut doc = body.into_graph(w.name)?;
        doc.schema_version = w.schema_version;
        doc.full_name = w.full_name;
        doc.inputs = w.inputs;
        Ok(doc)
    }
}

impl Body {
    /// The graph these keys describe (its loop set on the graph itself).
    fn into_graph(self, name: String) -> Result<GraphDoc, String> {
        let concurrency = match (self.concurrency, self.max_stream_concurrent) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "graph '{name}' has concurrency {a} and max_stream_concurrent {b}; give one"
                ))
            }
            (a, b) => a.or(b),
        };
        let loop_config = one_loop(&name, self.loop_doc, self.loop_config)?;
        let (edges, edge_origin) = match (self.edges, self.compiled_adj) {
            (Some(edges), _) => (edges, EdgeOrigin::Edges),
            (None, Some(adj)) => (edges_of(adj), EdgeOrigin::CompiledAdj),
            (None, None) => (Vec::new(), EdgeOrigin::Missing),
        };
        Ok(GraphDoc {
            schema_version: None,
            name,
            full_name: None,
            concurrency,
            ops: self.ops,
            edges,
            edge_origin,
            initial_ready_count: self.initial_ready_count,
            entries: self.entries,
            exits: self.exits,
            inputs: Ordered::default(),
            loop_config,
        })
    }
}

/// The edges of a published `compiled_adj`: each op's links, in order.
fn edges_of(adj: Ordered<Links>) -> Vec<EdgeDoc> {
    let mut edges = Vec::new();
    for (from, links) in adj.0 {
        for (to, soft) in links {
            edges.push(EdgeDoc { from: from.clone(), to, soft });
        }
    }
    edges
}

/// Our `loop` or the published `loop_config` (whose missing cap is the published one), not both.
fn one_loop(name: &str, ours: Option<LoopDoc>, published: Option<PublishedLoop>) -> Result<Option<LoopDoc>, String> {
    match (ours, published) {
        (Some(_), Some(_)) => Err(format!("graph '{name}' has both \"loop\" and \"loop_config\"; give one")),
        (Some(l), None) => Ok(Some(l)),
        (None, Some(p)) => Ok(Some(LoopDoc {
            until: p.until.unwrap_or(Value::Null),
            max_iterations: p.max_iterations.unwrap_or(Value::from(PUBLISHED_MAX_ITERATIONS)),
        })),
        (None, None) => Ok(None),
    }
}

/// Refuses settings whose meaning this engine does not have, unless they are off (`null`, `false`,
/// `0`, empty).
fn refuse_unsupported(name: &str, settings: &[(&str, &Option<Value>)]) -> Result<(), String> {
    let off = |v: &Value| match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    };
    for (key, value) in settings {
        if let Some(v) = value.as_ref().filter(|v| !off(v)) {
            let what = match *key {
                "cache" => "caching an op's outputs".to_string(),
                "delay" => "delaying an op's runs".to_string(),
                _ => format!("a provider op's setting (for ops such as llm or embedding), given {v}"),
            };
            return Err(format!("'{name}' has \"{key}\" ({what}), which this engine does not support; remove it"));
        }
    }
    Ok(())
}

/// One op as written, in either form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an op (a JSON object with a type)")]
pub(super) struct OpWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    func_name: Option<String>,
    #[serde(default)]
    bound: Option<String>,
    #[serde(default)]
    is_async: bool,
    #[serde(default)]
    is_generator: bool,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    inputs: Ordered<ParamDoc>,
    #[serde(default)]
    outputs: Ordered<ParamDoc>,
    #[serde(default)]
    forward_all: Option<bool>,
    #[serde(default, deserialize_with = "bounded_opt")]
    callable: Option<Value>,
    #[serde(default)]
    cases: Vec<CaseDoc>,
    #[serde(default, rename = "default")]
    default_target: Option<String>,
    #[serde(default)]
    candidates: Option<Vec<String>>,
    #[serde(default)]
    graph: Option<Box<GraphDoc>>,
    #[serde(default, rename = "loop")]
    loop_doc: Option<LoopDoc>,
    // A published nested graph holds its body inline.
    #[serde(default)]
    ops: Option<Ordered<OpDoc>>,
    #[serde(default)]
    edges: Option<Vec<EdgeDoc>>,
    #[serde(default)]
    compiled_adj: Option<Ordered<Links>>,
    #[serde(default)]
    initial_ready_count: Option<Ordered<i64>>,
    #[serde(default, rename = "stream_initial_ready")]
    _stream_initial_ready: Option<IgnoredAny>,
    #[serde(default)]
    entries: Option<Vec<String>>,
    #[serde(default)]
    exits: Option<Vec<String>>,
    #[serde(default)]
    loop_config: Option<PublishedLoop>,
    #[serde(default)]
    max_stream_concurrent: Option<u32>,
    #[serde(default, rename = "python_callable")]
    _python_callable: Option<IgnoredAny>,
    #[serde(default, rename = "verbose")]
    _verbose: Option<IgnoredAny>,
    #[serde(default, rename = "stream")]
    _stream: Option<IgnoredAny>,
    #[serde(default, rename = "description")]
    _description: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "bounded_opt")]
    cache: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    delay: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    resource: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    ratios: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    fallback: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    batch_mode: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    resource_config: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    resource_configs: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    fallback_configs: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    inputs_map: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    outputs_map: Option<Value>,
}

fn yes() -> bool {
    true
}

impl OpWire {
    /// The op's name for messages.
    fn label(&self) -> String {
        let name = self.name.as_deref().or(self.full_name.as_deref()).unwrap_or("?");
        format!("op '{name}'")
    }

    /// The published nested graph's body when this op holds one inline (`None` when it has none of its
    /// keys).
    fn take_body(&mut self) -> Option<Body> {
        let inline = self.ops.is_some()
            || self.edges.is_some()
            || self.compiled_adj.is_some()
            || self.initial_ready_count.is_some()
            || self.entries.is_some()
            || self.exits.is_some()
            || self.max_stream_concurrent.is_some();
        inline.then(|| Body {
            ops: self.ops.take().unwrap_or_default(),
            edges: self.edges.take(),
            compiled_adj: self.compiled_adj.take(),
            initial_ready_count: self.initial_ready_count.take(),
            entries: self.entries.take().unwrap_or_default(),
            exits: self.exits.take().unwrap_or_default(),
            max_stream_concurrent: self.max_stream_concurrent.take(),
            ..Body::default()
        })
    }
}

impl TryFrom<OpWire> for OpDoc {
    type Error = String;

    fn try_from(mut w: OpWire) -> Result<OpDoc, String> {
        let label = w.label();
        refuse_unsupported(
            &label,
            &[
                ("cache", &w.cache),
                ("delay", &w.delay),
                ("resource", &w.resource),
                ("ratios", &w.ratios),
                ("fallback", &w.fallback),
                ("batch_mode", &w.batch_mode),
                ("resource_config", &w.resource_config),
                ("resource_configs", &w.resource_configs),
                ("fallback_configs", &w.fallback_configs),
                ("inputs_map", &w.inputs_map),
                ("outputs_map", &w.outputs_map),
            ],
        )?;
        let is_graph = w.kind == "graph";
        let body = w.take_body();
        let loops = (w.loop_doc.take(), w.loop_config.take());
        let (graph, loop_config) = match (is_graph, w.graph.take(), body) {
            (false, _, Some(_)) | (false, Some(_), None) => {
                return Err(format!("{label} has type '{}' but holds a graph (its ops, edges or \"graph\"); only an op of type 'graph' does", w.kind))
            }
            (false, None, None) => match loops {
                (None, None) => (None, None),
                _ => return Err(format!("{label} has type '{}' but a loop; only an op of type 'graph' loops", w.kind)),
            },
            (true, Some(_), Some(_)) => {
                return Err(format!("{label} has a \"graph\" document and also the graph's ops or edges inline; give one"))
            }
            (true, Some(g), None) => (Some(g), one_loop(&label, loops.0, loops.1)?),
            (true, None, Some(mut body)) => {
                (body.loop_doc, body.loop_config) = loops;
                let mut inner = body.into_graph(w.name.clone().unwrap_or_default())?;
                inner.full_name = w.full_name.clone();
                let loop_config = inner.loop_config.take();
                (Some(Box::new(inner)), loop_config)
            }
            (true, None, None) => (None, one_loop(&label, loops.0, loops.1)?),
        };
        Ok(OpDoc {
            kind: std::mem::take(&mut w.kind),
            full_name: w.full_name.take(),
            func_name: w.func_name.take(),
            bound: w.bound.take(),
            is_async: w.is_async,
            is_generator: w.is_generator,
            enabled: w.enabled,
            inputs: std::mem::take(&mut w.inputs),
            outputs: std::mem::take(&mut w.outputs),
            forward_all: w.forward_all,
            callable: w.callable.take(),
            cases: std::mem::take(&mut w.cases),
            default_target: w.default_target.take(),
            candidates: w.candidates.take(),
            graph,
            loop_config,
        })
    }
}

/// An edge as written: the published form may give its `type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an edge (a JSON object with from and to)")]
pub(super) struct EdgeWire {
    from: String,
    to: String,
    #[serde(default)]
    soft: bool,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl TryFrom<EdgeWire> for EdgeDoc {
    type Error = String;

    fn try_from(w: EdgeWire) -> Result<EdgeDoc, String> {
        match w.kind.as_deref() {
            None | Some("normal") | Some("condition") => Ok(EdgeDoc { from: w.from, to: w.to, soft: w.soft }),
            Some("lookback") => Err(format!(
                "the edge {} -> {} is a lookback edge (an intentional cycle), which this engine does not run; \
                 write the repetition as a loop (\"loop\")",
                w.from, w.to
            )),
            Some(other) => Err(format!(
                "the edge {} -> {} has type '{other}'; an edge's type is normal, condition or lookback",
                w.from, w.to
            )),
        }
    }
}
