//! Ops written in Rust, for graphs run from Rust.

use std::sync::Arc;

use serde_json::{Map, Value};

mod registry;
pub(crate) use registry::binding_problems;

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
