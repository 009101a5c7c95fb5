//! The graph document as the compiler reads it.
//!
//! Two written forms parse into these types (see `docs/graph-schema.md`): this engine's own (what
//! `GraphOp.export_config()` writes: `edges`, nested graphs under `graph`, `loop`, `policy`) and the
//! published operonx 0.7.1 form (`compiled_adj` / `initial_ready_count`, `"__PARENT__"` refs, nested
//! graphs inline, `loop_config`, `stream_policy`, `max_stream_concurrent`). `wire` reads both and
//! translates the second into the first; what cannot be translated is refused there or by the
//! compiler, never ignored.

use serde::Deserialize;
use serde_json::Value;

pub use super::calls::{CallsDoc, DEFAULT_BACKOFF};
use super::refs::RefDoc;
use super::values::bounded;
use super::wire::{EdgeWire, GraphWire};
use super::wire_op::OpWire;

pub use super::parse::{from_value, parse, MAX_DOCUMENT_DEPTH};

/// The only schema version this engine reads.
#[doc = include_str!("../../doc/graph/schema/SCHEMA_VERSION.md")]
pub const SCHEMA_VERSION: &str = "1.0";

/// The source a ref names to read its own graph's inputs (`PARENT[k]` in the published form): the
/// enclosing graph, whichever graph that is.
#[doc = include_str!("../../doc/graph/schema/PARENT.md")]
pub const PARENT: &str = "__PARENT__";

/// A whole graph document, or the body of a nested graph.
#[doc = include_str!("../../doc/graph/schema/GraphDoc.md")]
#[derive(Debug, Deserialize)]
#[serde(try_from = "GraphWire")]
pub struct GraphDoc {
    /// Must equal [`SCHEMA_VERSION`] (checked by [`parse`]).
    pub schema_version: Option<Value>,
    /// The graph's short name.
    pub name: String,
    /// The graph's dotted path from the root graph.
    pub full_name: Option<String>,
    /// Cap on in-flight async and cpu ops; `None` means no cap.
    pub concurrency: Option<u32>,
    /// The ops, keyed by short name, in creation order.
    pub ops: Ordered<OpDoc>,
    /// Op-to-op edges in declaration order.
    pub edges: Vec<EdgeDoc>,
    /// Where [`GraphDoc::edges`] come from.
    pub edge_origin: EdgeOrigin,
    /// The published form's ready counts (`{op: count}`), checked against the edges when these come
    /// from `compiled_adj` (or are missing); `None` when absent.
    pub initial_ready_count: Option<Ordered<i64>>,
    /// Ops wired from START, in wiring order.
    pub entries: Vec<String>,
    /// Ops wired to END, in wiring order.
    pub exits: Vec<String>,
    /// The root graph's inputs (a loop's initial values are their literals).
    pub inputs: Ordered<ParamDoc>,
    /// Makes the root graph a loop.
    pub loop_config: Option<LoopDoc>,
}

/// Where a graph's edges were read from.
#[doc = include_str!("../../doc/graph/schema/EdgeOrigin.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeOrigin {
    /// The document's `edges` (its `compiled_adj` and `initial_ready_count`, if any, are informational).
    Edges,
    /// The published form: no `edges`, so every `[target, soft]` link of `compiled_adj` is an edge.
    CompiledAdj,
    /// Neither `edges` nor `compiled_adj`: the graph has no edges.
    Missing,
}

/// What makes a graph a loop: its body runs again, fed its own outputs, until `until` holds.
#[doc = include_str!("../../doc/graph/schema/LoopDoc.md")]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a loop (a JSON object with until and max_iterations)")]
pub struct LoopDoc {
    /// The stop condition: an expression over the loop's variables (text), a host callable
    /// (`{"$host": i}`), or `null` (run `max_iterations` times).
    #[serde(default, deserialize_with = "bounded")]
    pub until: Value,
    /// Cap on iterations (at least 1).
    #[serde(default = "default_max_iterations", deserialize_with = "bounded")]
    pub max_iterations: Value,
}

/// The cap on a loop's iterations when its document gives none.
#[doc = include_str!("../../doc/graph/schema/DEFAULT_MAX_ITERATIONS.md")]
pub const DEFAULT_MAX_ITERATIONS: u64 = 100;

fn default_max_iterations() -> Value {
    Value::from(DEFAULT_MAX_ITERATIONS)
}

impl GraphDoc {
    /// The graph's full name (its name when the document has none).
    #[doc = include_str!("../../doc/graph/schema/GraphDoc.full_name.md")]
    pub fn full_name(&self) -> &str {
        self.full_name.as_deref().unwrap_or(&self.name)
    }
}

/// One op of the document.
#[doc = include_str!("../../doc/graph/schema/OpDoc.md")]
#[derive(Debug, Deserialize)]
#[serde(try_from = "OpWire")]
pub struct OpDoc {
    /// The op kind: `code`, `branch` or `graph`.
    pub kind: String,
    /// The op's full name (defaults to `<graph>.<name>`).
    pub full_name: Option<String>,
    /// The function's name, used to look up a Rust implementation.
    pub func_name: Option<String>,
    /// `sync`, `io`, `cpu` or `process`.
    pub bound: Option<String>,
    /// The executor the op's calls run on (`process`, `ray`, any name the Python engine was given);
    /// `None` for ops the engine calls itself. A `bound` of `process` names the `process` executor.
    pub executor: Option<String>,
    /// True for `async def` and async generators.
    pub is_async: bool,
    /// True for both kinds of generator.
    pub is_generator: bool,
    /// A disabled op does not run and its dependents are skipped.
    pub enabled: bool,
    /// Parameters in signature order.
    pub inputs: Ordered<ParamDoc>,
    /// Declared outputs; a `ref` maps the output to a graph output.
    pub outputs: Ordered<ParamDoc>,
    /// True when the op is wired to END with no mapped output.
    pub forward_all: Option<bool>,
    /// The host object to call (inside the Python package only).
    pub callable: Option<Value>,
    /// A branch's cases, in order.
    pub cases: Vec<CaseDoc>,
    /// A branch's default target.
    pub default_target: Option<String>,
    /// A branch's targets as the published form lists them (`candidates`); checked against the
    /// cases and the default.
    pub candidates: Option<Vec<String>>,
    /// A nested graph's own document.
    pub graph: Option<Box<GraphDoc>>,
    /// Makes a nested graph a loop.
    pub loop_config: Option<LoopDoc>,
    /// How the op's calls are made: cache, delay, retries, timeout (all off by default).
    pub calls: CallsDoc,
    /// A parser op's text format: `json`, `xml` or `yaml`.
    pub format: Option<String>,
    /// A parser op's fields: `"a.b: int"`, ...
    pub extract: Option<Vec<String>>,
    /// A prompt op's template: role → text with `{variable}`s.
    pub template: Option<Value>,
}

impl Drop for OpDoc {
    /// Nested graphs are dropped one after another, not inside each other, so a document nested to
    /// any depth is freed without deep recursion.
    fn drop(&mut self) {
        let Some(graph) = self.graph.take() else {
            return;
        };
        let mut pending = vec![graph];
        while let Some(mut g) = pending.pop() {
            for (_, op) in &mut g.ops.0 {
                pending.extend(op.graph.take());
            }
        }
    }
}

/// One case of a branch.
#[doc = include_str!("../../doc/graph/schema/CaseDoc.md")]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a branch case (a JSON object with condition and target)")]
pub struct CaseDoc {
    /// The condition: a ref whose value's truth picks the case.
    pub condition: RefDoc,
    /// The op run when the condition holds.
    pub target: String,
    /// The condition as text (the branch's `matched` output).
    #[serde(default)]
    pub text: Option<String>,
}

/// A parameter (input or output) of an op.
#[doc = include_str!("../../doc/graph/schema/ParamDoc.md")]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a parameter (a JSON object with required, default, ref or literal)")]
pub struct ParamDoc {
    /// The function has no default for it.
    #[serde(default)]
    pub required: bool,
    /// The function's default.
    #[serde(default, deserialize_with = "bounded")]
    pub default: Value,
    /// The ref it is bound to.
    #[serde(default, rename = "ref")]
    pub reference: Option<RefDoc>,
    /// Several producers push into the input (`a["k"] >> b["x"]` from more than one op): its value
    /// is that of the first of these refs that has one when the op runs. Exclusive with `ref`.
    #[serde(default)]
    pub refs: Vec<RefDoc>,
    /// The literal it is bound to (a `null` literal counts as unbound).
    #[serde(default, deserialize_with = "bounded")]
    pub literal: Value,
}

/// An edge between two ops.
#[doc = include_str!("../../doc/graph/schema/EdgeDoc.md")]
#[derive(Debug, Deserialize)]
#[serde(try_from = "EdgeWire")]
pub struct EdgeDoc {
    /// The predecessor.
    pub from: String,
    /// The successor.
    pub to: String,
    /// A soft edge: one soft predecessor is enough.
    pub soft: bool,
}

/// A JSON object read as `(key, value)` pairs in document order; a key given twice is refused.
#[doc = include_str!("../../doc/graph/schema/Ordered.md")]
#[derive(Debug)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<T> Ordered<T> {
    /// The keys in order.
    #[doc = include_str!("../../doc/graph/schema/Ordered.keys.md")]
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(Ordered(Vec::new()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
                let mut seen = rustc_hash::FxHashSet::default();
                while let Some(k) = map.next_key::<String>()? {
                    if !seen.insert(k.clone()) {
                        return Err(serde::de::Error::custom(format!("the key `{k}` is given twice")));
                    }
                    let v = map.next_value::<T>()?;
                    pairs.push((k, v));
                }
                Ok(Ordered(pairs))
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}
