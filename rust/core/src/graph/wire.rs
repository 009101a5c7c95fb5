//! The document as written, in either form, and its translation into [`GraphDoc`] / [`OpDoc`].
//!
//! Every key either form may hold is listed here; any other key is refused (naming it), and so is a
//! key of the published form whose meaning this engine does not have (a provider
//! op's settings, a graph's own `cache` or `delay`, lookback edges). Keys that change nothing in what runs (`python_callable`,
//! `verbose`, `description`, `stream_initial_ready`, a ref's `is_output`) are read and dropped.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::schema::{EdgeDoc, EdgeOrigin, GraphDoc, LoopDoc, OpDoc, Ordered, ParamDoc};
use super::values::bounded_opt;

/// The published form's `[target, soft]` links of one op.
pub(super) type Links = Vec<(String, bool)>;

/// The published form's cap on a loop whose `loop_config` gives no `max_iterations`.
#[doc = include_str!("../../doc/graph/wire/PUBLISHED_MAX_ITERATIONS.md")]
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
pub(super) struct Body {
    pub(super) ops: Ordered<OpDoc>,
    pub(super) edges: Option<Vec<EdgeDoc>>,
    pub(super) compiled_adj: Option<Ordered<Links>>,
    pub(super) initial_ready_count: Option<Ordered<i64>>,
    pub(super) entries: Vec<String>,
    pub(super) exits: Vec<String>,
    pub(super) concurrency: Option<u32>,
    pub(super) max_stream_concurrent: Option<u32>,
    pub(super) loop_doc: Option<LoopDoc>,
    pub(super) loop_config: Option<PublishedLoop>,
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
        refuse_unsupported(&|| w.name.clone(), &[("cache", &w.cache), ("delay", &w.delay)])?;
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
    pub(super) fn into_graph(self, name: String) -> Result<GraphDoc, String> {
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
pub(super) fn one_loop(name: &str, ours: Option<LoopDoc>, published: Option<PublishedLoop>) -> Result<Option<LoopDoc>, String> {
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
pub(super) fn refuse_unsupported(name: &dyn Fn() -> String, settings: &[(&str, &Option<Value>)]) -> Result<(), String> {
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
            return Err(format!("'{}' has \"{key}\" ({what}), which this engine does not support; remove it", name()));
        }
    }
    Ok(())
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
