//! The graph document (schema 1.0, see `docs/graph-schema.md`): its serde types and its refs, read
//! from this engine's own form or the published operonx 0.7.1 form.

mod calls;
mod parse;
pub mod refs;
pub mod schema;
pub mod values;
mod wire;
mod wire_op;

pub use refs::{RefDoc, TransformKind};
pub use schema::{CallsDoc, CaseDoc, EdgeDoc, EdgeOrigin, GraphDoc, OpDoc, ParamDoc, PARENT, SCHEMA_VERSION};
pub use wire::PUBLISHED_MAX_ITERATIONS;
