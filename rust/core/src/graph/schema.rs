//! Serde types of the graph document and the schema-version check.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::refs::RefDoc;
use crate::error::{EngineError, Result};

/// The only schema version this engine reads.
pub const SCHEMA_VERSION: &str = "1.0";

/// A whole graph document.
#[derive(Debug, Deserialize)]
pub struct GraphDoc {
    /// Must equal [`SCHEMA_VERSION`].
    pub schema_version: Option<String>,
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
    pub ops: indexmap_like::OrderedOps,
    /// Op-to-op edges in declaration order.
    #[serde(default)]
    pub edges: Vec<EdgeDoc>,
    /// Ops wired from START, in wiring order.
    #[serde(default)]
    pub entries: Vec<String>,
    /// Ops wired to END, in wiring order.
    #[serde(default)]
    pub exits: Vec<String>,
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
    pub inputs: Map<String, Value>,
    /// Declared outputs; a `ref` maps the output to a graph output.
    #[serde(default)]
    pub outputs: Map<String, Value>,
    /// True when the op is wired to END with no mapped output.
    #[serde(default)]
    pub forward_all: Option<bool>,
    /// The host object to call (inside the Python package only).
    #[serde(default)]
    pub callable: Option<Value>,
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

/// Ops keyed by name in document order.
pub mod indexmap_like {
    use serde::{Deserialize, Deserializer};
    use serde_json::{Map, Value};

    use super::OpDoc;

    /// `(name, op)` pairs in document order.
    #[derive(Debug, Default)]
    pub struct OrderedOps(pub Vec<(String, OpDoc)>);

    impl<'de> Deserialize<'de> for OrderedOps {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let map = Map::<String, Value>::deserialize(d)?;
            let mut ops = Vec::with_capacity(map.len());
            for (name, value) in map {
                let op = OpDoc::deserialize(value)
                    .map_err(|e| serde::de::Error::custom(format!("op '{name}': {e}")))?;
                ops.push((name, op));
            }
            Ok(OrderedOps(ops))
        }
    }
}

/// Parses a document, checking the schema version before anything else.
pub fn parse(text: &str) -> Result<GraphDoc> {
    let value: Value = serde_json::from_str(text).map_err(|e| EngineError::Malformed(e.to_string()))?;
    from_value(value)
}

/// Reads a document that is already a JSON value.
pub fn from_value(value: Value) -> Result<GraphDoc> {
    let Value::Object(obj) = &value else {
        return Err(EngineError::Malformed("the document must be a JSON object".into()));
    };
    match obj.get("schema_version") {
        Some(Value::String(v)) if v == SCHEMA_VERSION => {}
        Some(other) => return Err(EngineError::SchemaVersion { found: other.to_string() }),
        None => return Err(EngineError::SchemaVersion { found: "<missing>".into() }),
    }
    serde_json::from_value(value).map_err(|e| EngineError::Malformed(e.to_string()))
}

/// Reads one parameter entry.
pub fn param(value: &Value) -> Result<ParamDoc, String> {
    ParamDoc::deserialize(value).map_err(|e| e.to_string())
}
