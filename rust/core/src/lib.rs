//! # operonx
//!
//! The engine of the operonx workflow engine: a graph document (schema 1.0) is compiled once into a
//! [`plan::Plan`] of dense ids; each run is a [`scheduler::RunState`] that a driver steps. This crate
//! has no Python in it: the Python package drives the same scheduler from its event loop, and
//! [`Operon`] runs graphs of Rust ops.
//!
//! ```
//! use operonx::Operon;
//! use serde_json::{json, Map, Value};
//!
//! let doc = json!({
//!     "schema_version": "1.0", "type": "graph", "name": "g",
//!     "ops": {"inc": {"type": "code", "func_name": "inc",
//!         "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}}},
//!     "edges": [], "entries": ["inc"], "exits": ["inc"]
//! });
//! let engine = Operon::builder(doc.to_string())
//!     .op_ref("inc", |i: &operonx::ops::Inputs| {
//!         let x = i.get("x").and_then(Value::as_i64).ok_or("x must be an int")?;
//!         Ok(Map::from_iter([("y".to_string(), json!(x + 1))]))
//!     })
//!     .build()
//!     .unwrap();
//! let out = engine.run(json!({"x": 41})).unwrap();
//! assert_eq!(out.outputs["y"], json!(42));
//! ```

#![warn(missing_docs)]

pub mod drivers;
pub mod engine;
pub mod error;
pub mod graph;
pub mod handle;
pub mod ops;
pub mod plan;
pub mod run;
pub mod scheduler;
pub mod trace;
pub mod value;

pub use engine::{Frame, Operon, OperonBuilder, RunOutput};
pub use error::{OpError, OperonError, Problem, Result};
pub use handle::FrameEvent;
#[cfg(feature = "tokio")]
pub use handle::{CollectMode, ExecutionHandle, Watcher};
pub use trace::Tracer;
