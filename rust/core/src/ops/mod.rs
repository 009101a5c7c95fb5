//! Ops written in Rust, for graphs run from Rust.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::error::OperonError;
use crate::json::RunValue;

pub mod inventory;
#[doc(hidden)]
pub mod macro_support;
mod registry;
pub use crate::json::{OutputName, Outputs};
pub(crate) use registry::{bind, binding_problems, Registry};

/// The resolved inputs of one op call, by parameter name.
#[doc = include_str!("../../doc/ops/Inputs.md")]
#[derive(Debug, Default)]
pub struct Inputs {
    /// The parameter names, shared by every call of the op.
    names: Arc<[String]>,
    /// The values, in the order of `names`: JSON values only (see [`Inputs::settle`]), held as
    /// the run resolves them, so that no call moves them from one buffer to another.
    values: SmallVec<[RunValue; 8]>,
}

/// The value of an input: JSON, always (a mapping of outputs is made an object by
/// [`Inputs::settle`] before the op sees it).
#[inline]
fn json_of(v: &RunValue) -> &Value {
    static NULL: Value = Value::Null;
    match v {
        RunValue::Json(v) => v,
        RunValue::Outputs(_) => &NULL,
    }
}

impl Inputs {
    /// Inputs from `(name, value)` pairs.
    #[doc = include_str!("../../doc/ops/Inputs.new.md")]
    pub fn new(pairs: Vec<(String, Value)>) -> Self {
        let (names, values): (Vec<String>, SmallVec<[RunValue; 8]>) =
            pairs.into_iter().map(|(k, v)| (k, RunValue::Json(v))).unzip();
        Inputs { names: names.into(), values }
    }

    /// Inputs from the op's parameter names and their values in the same order (a name with no
    /// value is left out).
    #[doc = include_str!("../../doc/ops/Inputs.from_parts.md")]
    pub fn from_parts(names: Arc<[String]>, values: SmallVec<[Value; 8]>) -> Self {
        Inputs { names, values: values.into_iter().map(RunValue::Json).collect() }
    }

    /// The value of input `name`.
    #[doc = include_str!("../../doc/ops/Inputs.get.md")]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.names.iter().position(|n| n == name).and_then(|i| self.values.get(i)).map(json_of)
    }

    /// The inputs as a map by name, in signature order.
    #[doc = include_str!("../../doc/ops/Inputs.into_map.md")]
    pub fn into_map(self) -> Map<String, Value> {
        self.names.iter().cloned().zip(self.values.into_iter().map(RunValue::into_json)).collect()
    }

    /// Every input in signature order.
    #[doc = include_str!("../../doc/ops/Inputs.iter.md")]
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.names.iter().map(String::as_str).zip(self.values.iter().map(json_of))
    }

    /// The values, for a driver that resolves a call's inputs into this buffer (reused from call
    /// to call).
    pub(crate) fn values_mut(&mut self) -> &mut SmallVec<[RunValue; 8]> {
        &mut self.values
    }

    /// Makes every value JSON: a mapping of outputs read whole becomes an object (one check per
    /// value otherwise).
    #[inline]
    pub(crate) fn settle(&mut self) {
        for v in &mut self.values {
            if let RunValue::Outputs(_) = v {
                *v = RunValue::Json(std::mem::replace(v, RunValue::Json(Value::Null)).into_json());
            }
        }
    }

    /// Names the values of the next call.
    pub(crate) fn set_names(&mut self, names: &Arc<[String]>) {
        if !Arc::ptr_eq(&self.names, names) {
            self.names = Arc::clone(names);
        }
    }

    /// Takes the values out as a map by name, leaving the buffer empty.
    pub(crate) fn take_map(&mut self) -> Map<String, Value> {
        self.names.iter().cloned().zip(self.values.drain(..).map(RunValue::into_json)).collect()
    }

    /// [`Inputs::take_map`] made from `template`, the names as a map of nulls in order (a copy of
    /// it hashes no name): its values are replaced by the buffer's.
    pub(crate) fn take_map_from(&mut self, template: &Map<String, Value>) -> Map<String, Value> {
        if template.len() != self.values.len() {
            return self.take_map();
        }
        let mut map = template.clone();
        for (slot, value) in map.values_mut().zip(self.values.drain(..)) {
            *slot = value.into_json();
        }
        map
    }

    /// Takes the inputs out, leaving the buffer empty.
    pub(crate) fn take(&mut self) -> Inputs {
        Inputs { names: Arc::clone(&self.names), values: std::mem::take(&mut self.values) }
    }
}

/// A synchronous op implemented in Rust. An error message fails the op.
#[doc = include_str!("../../doc/ops/RustOp.md")]
pub trait RustOp: Send + Sync {
    /// Runs the op once.
    #[doc = include_str!("../../doc/ops/RustOp.call.md")]
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
#[doc = include_str!("../../doc/ops/SharedOp.md")]
pub type SharedOp = Arc<dyn RustOp>;

/// The items of one call of a generator op, in order: each one set of outputs; an error ends the
/// stream and fails the op.
#[doc = include_str!("../../doc/ops/Items.md")]
pub type Items = Box<dyn Iterator<Item = Result<Outputs, String>> + Send>;

/// A generator op implemented in Rust: each call returns an iterator of items, pulled one at a
/// time while the items' downstream ops run. An error message fails the op.
#[doc = include_str!("../../doc/ops/RustGen.md")]
pub trait RustGen: Send + Sync {
    /// Starts the op's stream.
    #[doc = include_str!("../../doc/ops/RustGen.call.md")]
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
#[doc = include_str!("../../doc/ops/SharedGen.md")]
pub type SharedGen = Arc<dyn RustGen>;

/// A synchronous op as the published crate writes it: it takes its inputs by value, as a map,
/// and returns its outputs (an object; `null` is no output) or an error.
#[doc = include_str!("../../doc/ops/MapOp.md")]
pub trait MapOp: Send + Sync {
    /// Runs the op once.
    #[doc = include_str!("../../doc/ops/MapOp.call.md")]
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
#[doc = include_str!("../../doc/ops/OpFuture.md")]
pub type OpFuture = Pin<Box<dyn Future<Output = Result<Value, OperonError>> + Send + 'static>>;

/// An asynchronous op: each call returns a future of its outputs (an object; `null` is no
/// output). It runs on the tokio driver (`Operon::run_json_async`, `Operon::start`).
#[doc = include_str!("../../doc/ops/AsyncRustOp.md")]
pub trait AsyncRustOp: Send + Sync {
    /// Starts one call of the op.
    #[doc = include_str!("../../doc/ops/AsyncRustOp.call.md")]
    fn call(&self, inputs: Map<String, Value>) -> OpFuture;
}

/// An async op made of a closure returning a future.
#[doc = include_str!("../../doc/ops/AsyncFn.md")]
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
#[doc = include_str!("../../doc/ops/Implementation.md")]
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
    #[doc = include_str!("../../doc/ops/Implementation.is_generator.md")]
    pub fn is_generator(&self) -> bool {
        matches!(self, Implementation::Gen(_))
    }
}
