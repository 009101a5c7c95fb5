//! Ops written in Rust, for graphs run from Rust.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::OperonError;

pub mod inventory;
#[doc(hidden)]
pub mod macro_support;
mod registry;
pub(crate) use registry::{bind, binding_problems, Registry};

/// The outputs an op returns: each key is an output variable.
pub type Outputs = Map<String, Value>;

/// The resolved inputs of one op call, by parameter name.
#[derive(Debug, Default)]
pub struct Inputs {
    pairs: Vec<(String, Value)>,
}

impl Inputs {
    /// Inputs from `(name, value)` pairs.
    pub fn new(pairs: Vec<(String, Value)>) -> Self {
        Inputs { pairs }
    }

    /// The value of input `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The inputs as a map by name, in signature order.
    pub fn into_map(self) -> Map<String, Value> {
        self.pairs.into_iter().collect()
    }

    /// Every input in signature order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// A synchronous op implemented in Rust. An error message fails the op.
pub trait RustOp: Send + Sync {
    /// Runs the op once.
    fn call(&self, inputs: &Inputs) -> Result<Outputs, String>;
}

impl<F> RustOp for F
where
    F: Fn(&Inputs) -> Result<Outputs, String> + Send + Sync,
{
    fn call(&self, inputs: &Inputs) -> Result<Outputs, String> {
        self(inputs)
    }
}

/// A shared op implementation.
pub type SharedOp = Arc<dyn RustOp>;

/// The items of one call of a generator op, in order: each one set of outputs; an error ends the
/// stream and fails the op.
pub type Items = Box<dyn Iterator<Item = Result<Outputs, String>> + Send>;

/// A generator op implemented in Rust: each call returns an iterator of items, pulled one at a
/// time while the items' downstream ops run. An error message fails the op.
pub trait RustGen: Send + Sync {
    /// Starts the op's stream.
    fn call(&self, inputs: &Inputs) -> Result<Items, String>;
}

impl<F> RustGen for F
where
    F: Fn(&Inputs) -> Result<Items, String> + Send + Sync,
{
    fn call(&self, inputs: &Inputs) -> Result<Items, String> {
        self(inputs)
    }
}

/// A shared generator implementation.
pub type SharedGen = Arc<dyn RustGen>;

/// A synchronous op as the published crate writes it: it takes its inputs by value, as a map,
/// and returns its outputs (an object; `null` is no output) or an error.
pub trait MapOp: Send + Sync {
    /// Runs the op once.
    fn call(&self, inputs: Map<String, Value>) -> Result<Value, OperonError>;
}

impl<F> MapOp for F
where
    F: Fn(Map<String, Value>) -> Result<Value, OperonError> + Send + Sync,
{
    fn call(&self, inputs: Map<String, Value>) -> Result<Value, OperonError> {
        self(inputs)
    }
}

/// The future of one call of an async op.
pub type OpFuture = Pin<Box<dyn Future<Output = Result<Value, OperonError>> + Send + 'static>>;

/// An asynchronous op: each call returns a future of its outputs (an object; `null` is no
/// output). It runs on the tokio driver (`Operon::run_json_async`, `Operon::start`).
pub trait AsyncRustOp: Send + Sync {
    /// Starts one call of the op.
    fn call(&self, inputs: Map<String, Value>) -> OpFuture;
}

/// An async op made of a closure returning a future.
pub struct AsyncFn<F>(pub F);

impl<F, Fut> AsyncRustOp for AsyncFn<F>
where
    F: Fn(Map<String, Value>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, OperonError>> + Send + 'static,
{
    fn call(&self, inputs: Map<String, Value>) -> OpFuture {
        Box::pin((self.0)(inputs))
    }
}

/// What runs one op: a function, or a generator.
#[derive(Clone)]
pub enum Implementation {
    /// A plain op over borrowed inputs (the fast path): one set of outputs per call.
    Op(SharedOp),
    /// A plain op over owned inputs, as the published crate writes it.
    Map(Arc<dyn MapOp>),
    /// An async op: a future of its outputs per call.
    Async(Arc<dyn AsyncRustOp>),
    /// A generator op: a stream of items per call.
    Gen(SharedGen),
}

impl Implementation {
    /// True for a generator.
    pub fn is_generator(&self) -> bool {
        matches!(self, Implementation::Gen(_))
    }
}
