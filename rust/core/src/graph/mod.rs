//! The graph document (schema 1.0, see `docs/graph-schema.md`): its serde types and its refs.

pub mod refs;
pub mod schema;

pub use refs::{RefDoc, TransformKind};
pub use schema::{CaseDoc, EdgeDoc, GraphDoc, OpDoc, ParamDoc, SCHEMA_VERSION};
