//! Ops written in Rust, for graphs run from Rust.

use std::sync::Arc;

use serde_json::{Map, Value};

mod registry;
pub(crate) use registry::{bind, binding_problems};

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

/// What runs one op: a function, or a generator.
#[derive(Clone)]
pub enum Implementation {
    /// A plain op: one set of outputs per call.
    Op(SharedOp),
    /// A generator op: a stream of items per call.
    Gen(SharedGen),
}
