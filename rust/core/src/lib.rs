//! # operonx
//!
//! The engine of the operonx workflow engine: a graph document (schema 1.0) is compiled once into a
//! [`plan::Plan`] of dense ids; each run is a [`scheduler::RunState`] that a driver steps. This crate
//! has no Python in it: the Python package drives the same scheduler from its event loop, and
//! [`Operon`] runs graphs of Rust ops.
//!
//! ```
//! use operonx::Operon;
//! use serde_json::{json, Value};
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
//!         Ok(operonx::ops::Outputs::one("y", x + 1))
//!     })
//!     .build()
//!     .unwrap();
//! let out = engine.run(json!({"x": 41})).unwrap();
//! assert_eq!(out.outputs["y"], json!(42));
//! ```

#![warn(missing_docs)]

pub mod core;
pub mod drivers;
pub mod engine;
pub mod error;
pub mod graph;
pub mod handle;
#[cfg(feature = "tokio")]
pub mod middleware;
pub mod json;
pub mod ops;
pub mod options;
pub mod plan;
#[cfg(feature = "resources")]
pub mod resources;
pub mod run;
pub mod scheduler;
pub mod textops;
pub mod trace;
pub mod value;

pub use engine::{Frame, Operon, OperonBuilder, RunOutput};
pub use error::{OpError, OperonError, Problem, Result};
pub use handle::FrameEvent;
#[cfg(feature = "tokio")]
pub use handle::{CollectMode, ExecutionHandle, Watcher};
pub use trace::Tracer;
#[cfg(feature = "tokio")]
pub use middleware::{Middleware, MiddlewareContext};
/// The attribute that declares and implements async trait methods, for [`Middleware`]: the
/// `async-trait` crate's, so `#[operonx::async_trait]` and `#[async_trait::async_trait]` are one.
#[doc = include_str!("../doc/async_trait.md")]
#[cfg(feature = "tokio")]
pub use async_trait::async_trait;
pub use options::EngineOptions;
#[cfg(feature = "resources")]
pub use resources::{bootstrap, BootstrapOpts, ResourceHub};
/// The [`inventory`](https://docs.rs/inventory) crate, through which [`op`] registers functions
/// (its expansion names `::operonx::inventory`, so a program needs no dependency of its own).
#[doc = include_str!("../doc/inventory.md")]
pub use inventory;
pub use ops::inventory::{OpEntry, OpKind};
/// Registers a function as an op for [`OperonBuilder::auto_register`]: `#[op]`,
/// `#[op(generator)]`, `#[op(name = "custom")]`, `#[op(generator, name = "custom")]`.
///
/// The function stays as it is (callable as before); next to it the attribute submits an
/// [`OpEntry`] through [`inventory`]. It answers to its bare name (the function's, or `name`),
/// its module-qualified name without the crate (`math::double`, the published crate's form) and
/// its full name (`my_crate::math::double`); see [`OperonBuilder::auto_register`] for ambiguous
/// and duplicate names.
///
/// # Signatures
/// A free function, sync or `async`, not generic, not `unsafe`, taking its inputs in one of these
/// ways:
/// - **typed parameters** `fn f(a: i64, text: String, opt: Option<Vec<f64>>)`: each parameter
///   is the input of its name, deserialized with serde (any `DeserializeOwned` type; an absent
///   input reads as `null`, so an `Option` is `None`); a `Value` parameter takes the input as it
///   is. An input that does not fit fails the op with an error naming the function and the input.
/// - **`inputs: &Value`**: every input as one JSON object (the published crate's untyped form).
/// - **`inputs: Map<String, Value>` returning a `Result`**: every input by value, as
///   [`OperonBuilder::op`] takes them. (A single `Map` parameter with another return type is a
///   typed parameter, as in the published crate.)
/// - **`inputs: &Inputs`** (sync only): the borrowed fast path of [`OperonBuilder::op_ref`],
///   returning `Result<Outputs, String>`; with `generator`, [`OperonBuilder::gen`]'s shape,
///   returning `Result<Items, String>`.
///
/// and returning:
/// - a `Value` or a `Map<String, Value>` (the outputs as they are), any other `Serialize` value
///   (serialized: a struct gives one output per field), or nothing (no outputs). The outputs must
///   be a mapping: anything else fails the op, as for every op of this engine.
/// - a `Result<T, E>` of such a `T`: `Err` fails the op. An [`OperonError`] is kept as it is; any
///   other error type that is `Display` (`String`, `anyhow::Error`, `std::io::Error`, ...) becomes
///   [`OperonError::Runtime`] with its message.
///
/// A sync function runs inline ([`Operon::run`]); an `async fn` is an async op (its future must be
/// `Send`), which the tokio driver runs. With `generator` (sync only) the function returns the
/// array of its items (`Vec<T>`, `Value::Array`; `null` is no items), each a mapping of outputs;
/// the items stream to the op's consumers.
///
/// Where this differs from the published `#[op]`: an input that does not deserialize, or a return
/// value that does not serialize, fails the op instead of giving an `{"error": ...}` output; a
/// return that is not a mapping fails the op instead of becoming `{"result": value}`; an unknown
/// argument to `#[op(...)]` is a compile error instead of being ignored; `async fn`, `Result`
/// returns, `Map` and `&Inputs` parameters and functions with no parameters are accepted.
///
/// ```
/// use operonx::{op, Operon, OperonError};
/// use serde::Serialize;
/// use serde_json::{json, Map, Value};
///
/// #[derive(Serialize)]
/// struct Stats {
///     total: f64,
///     count: usize,
/// }
///
/// /// Typed: `xs` is the op's input `xs`; the struct's fields are its outputs.
/// #[op]
/// fn stats(xs: Vec<f64>) -> Stats {
///     Stats { total: xs.iter().sum(), count: xs.len() }
/// }
///
/// /// Every input as a map, as `OperonBuilder::op` takes them.
/// #[op(name = "label")]
/// fn make_label(inputs: Map<String, Value>) -> Result<Value, OperonError> {
///     let total = inputs.get("total").and_then(Value::as_f64).ok_or_else(|| OperonError::Runtime("no total".into()))?;
///     Ok(json!({"label": format!("total {total}")}))
/// }
///
/// let doc = json!({
///     "schema_version": "1.0", "type": "graph", "name": "g",
///     "ops": {
///         "s": {"type": "code", "func_name": "stats",
///               "inputs": {"xs": {"required": true, "ref": {"source": "g", "var": "xs"}}}},
///         "l": {"type": "code", "func_name": "label",
///               "inputs": {"total": {"required": true, "ref": {"source": "g.s", "var": "total"}}}}
///     },
///     "edges": [{"from": "s", "to": "l"}], "entries": ["s"], "exits": ["l"]
/// });
/// let engine = Operon::builder(doc.to_string()).auto_register().build()?;
/// let out = engine.run(json!({"xs": [1.5, 2.5]}))?;
/// assert_eq!(out.outputs["label"], json!("total 4"));
///
/// // The function itself is unchanged.
/// assert_eq!(stats(vec![1.0]).count, 1);
/// # Ok::<(), OperonError>(())
/// ```
///
/// An async op (run by the tokio driver, `Operon::run_json_async` / `Operon::start`):
///
/// ```
/// use operonx::{op, OperonError};
/// use serde_json::{json, Value};
///
/// #[op]
/// async fn fetch(url: String) -> Result<Value, OperonError> {
///     Ok(json!({"body": format!("contents of {url}")}))
/// }
/// ```
pub use operonx_macros::op;

/// Derives `Serialize`, `Deserialize`, `Debug` and `Clone` on a struct or enum, as the published
/// crate's `#[model]` does: the traits a type of typed [`op`] parameters and returns needs. The
/// program depends on `serde` (with its `derive` feature) itself.
///
/// ```
/// use operonx::{model, op};
/// use serde_json::{json, Value};
///
/// #[model]
/// struct Point {
///     x: f64,
///     y: f64,
/// }
///
/// #[op]
/// fn norm(p: Point) -> Value {
///     json!({"norm": (p.x * p.x + p.y * p.y).sqrt()})
/// }
///
/// assert_eq!(norm(Point { x: 3.0, y: 4.0 }.clone()), json!({"norm": 5.0}));
/// ```
pub use operonx_macros::model;

/// The guide `docs/rust.md`, whose code blocks run as this crate's doc tests.
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../../../docs/rust.md")]
pub struct RustGuide;
