//! Serde types of the graph document and the schema-version check.

use serde::Deserialize;
use serde_json::Value;

use super::refs::RefDoc;
use crate::error::{OperonError, Result};

/// The only schema version this engine reads.
pub const SCHEMA_VERSION: &str = "1.0";

/// A whole graph document.
#[derive(Debug, Deserialize)]
pub struct GraphDoc {
    /// Must equal [`SCHEMA_VERSION`] (checked by [`parse`]).
    #[serde(default)]
    pub schema_version: Option<Value>,
    /// The graph's short name.
    pub name: String,
    /// The graph's dotted path from the root graph.
    #[serde(default)]
    pub full_name: Option<String>,
    /// Cap on in-flight async and cpu ops; `None` means no cap.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// The ops, keyed by short name, in creation order.
    #[serde(default)]
    pub ops: Ordered<OpDoc>,
    /// Op-to-op edges in declaration order.
    #[serde(default)]
    pub edges: Vec<EdgeDoc>,
    /// Ops wired from START, in wiring order.
    #[serde(default)]
    pub entries: Vec<String>,
    /// Ops wired to END, in wiring order.
    #[serde(default)]
    pub exits: Vec<String>,
    /// The root graph's inputs (a loop's initial values are their literals).
    #[serde(default)]
    pub inputs: Ordered<ParamDoc>,
    /// Makes the root graph a loop.
    #[serde(default, rename = "loop")]
    pub loop_config: Option<LoopDoc>,
}

/// What makes a graph a loop: its body runs again, fed its own outputs, until `until` holds.
#[derive(Debug, Deserialize)]
pub struct LoopDoc {
    /// The stop condition: an expression over the loop's variables (text), a host callable
    /// (`{"$host": i}`), or `null` (run `max_iterations` times).
    #[serde(default)]
    pub until: Value,
    /// Cap on iterations (at least 1).
    #[serde(default = "default_max_iterations")]
    pub max_iterations: Value,
}

/// The cap on a loop's iterations when its document gives none.
pub const DEFAULT_MAX_ITERATIONS: u64 = 100;

fn default_max_iterations() -> Value {
    Value::from(DEFAULT_MAX_ITERATIONS)
}

impl GraphDoc {
    /// The graph's full name (its name when the document has none).
    pub fn full_name(&self) -> &str {
        self.full_name.as_deref().unwrap_or(&self.name)
    }
}

/// One op of the document.
#[derive(Debug, Deserialize)]
pub struct OpDoc {
    /// The op kind: `code` is the only one this version runs.
    #[serde(rename = "type")]
    pub kind: String,
    /// The op's full name (defaults to `<graph>.<name>`).
    #[serde(default)]
    pub full_name: Option<String>,
    /// The function's name, used to look up a Rust implementation.
    #[serde(default)]
    pub func_name: Option<String>,
    /// `sync`, `io` or `cpu`.
    #[serde(default)]
    pub bound: Option<String>,
    /// True for `async def` and async generators.
    #[serde(default)]
    pub is_async: bool,
    /// True for both kinds of generator.
    #[serde(default)]
    pub is_generator: bool,
    /// A disabled op does not run and its dependents are skipped.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Parameters in signature order.
    #[serde(default)]
    pub inputs: Ordered<ParamDoc>,
    /// Declared outputs; a `ref` maps the output to a graph output.
    #[serde(default)]
    pub outputs: Ordered<ParamDoc>,
    /// True when the op is wired to END with no mapped output.
    #[serde(default)]
    pub forward_all: Option<bool>,
    /// The host object to call (inside the Python package only).
    #[serde(default)]
    pub callable: Option<Value>,
    /// A branch's cases, in order.
    #[serde(default)]
    pub cases: Vec<CaseDoc>,
    /// A branch's default target.
    #[serde(default, rename = "default")]
    pub default_target: Option<String>,
    /// A nested graph's own document.
    #[serde(default)]
    pub graph: Option<Box<GraphDoc>>,
    /// Makes a nested graph a loop.
    #[serde(default, rename = "loop")]
    pub loop_config: Option<LoopDoc>,
}

/// One case of a branch.
#[derive(Debug, Deserialize)]
pub struct CaseDoc {
    /// The condition: a ref whose value's truth picks the case.
    pub condition: RefDoc,
    /// The op run when the condition holds.
    pub target: String,
    /// The condition as text (the branch's `matched` output).
    #[serde(default)]
    pub text: Option<String>,
}

fn yes() -> bool {
    true
}

/// A parameter (input or output) of an op.
#[derive(Debug, Default, Deserialize)]
pub struct ParamDoc {
    /// The function has no default for it.
    #[serde(default)]
    pub required: bool,
    /// The function's default.
    #[serde(default)]
    pub default: Value,
    /// The ref it is bound to.
    #[serde(default, rename = "ref")]
    pub reference: Option<RefDoc>,
    /// Several producers push into the input (`a["k"] >> b["x"]` from more than one op): its value
    /// is that of the first of these refs that has one when the op runs. Exclusive with `ref`.
    #[serde(default)]
    pub refs: Vec<RefDoc>,
    /// The literal it is bound to (a `null` literal counts as unbound).
    #[serde(default)]
    pub literal: Value,
}

/// An edge between two ops.
#[derive(Debug, Deserialize)]
pub struct EdgeDoc {
    /// The predecessor.
    pub from: String,
    /// The successor.
    pub to: String,
    /// A soft edge: one soft predecessor is enough.
    #[serde(default)]
    pub soft: bool,
}

/// A JSON object read as `(key, value)` pairs in document order.
#[derive(Debug)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<T> Ordered<T> {
    /// The keys in order.
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
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    pairs.push((k, v));
                }
                Ok(Ordered(pairs))
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

/// Parses a document. A wrong or missing `schema_version` is reported before any other problem.
pub fn parse(text: &str) -> Result<GraphDoc> {
    #[derive(Deserialize)]
    struct VersionOnly {
        schema_version: Option<Value>,
    }
    let parsed = parse_deep::<GraphDoc>(text);
    let version = match &parsed {
        Ok(doc) => doc.schema_version.clone(),
        Err(_) => serde_json::from_str::<VersionOnly>(text).ok().and_then(|v| v.schema_version),
    };
    match version {
        Some(Value::String(v)) if v == SCHEMA_VERSION => {}
        Some(other) => return Err(OperonError::SchemaVersion { found: other.to_string() }),
        None if parsed.is_ok() || serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object()) => {
            return Err(OperonError::SchemaVersion { found: "<missing>".into() })
        }
        None => {}
    }
    parsed.map_err(|e| OperonError::Malformed(e.to_string()))
}

/// Deserializes without serde_json's limit of 128 nested levels: each nested graph adds a few, and
/// graphs nest to any depth. The parse recurses once per level, so it grows its stack as it goes
/// instead of overflowing it.
fn parse_deep<T: serde::de::DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}

/// Reads a document that is already a JSON value.
pub fn from_value(value: Value) -> Result<GraphDoc> {
    parse(&value.to_string())
}
