//! The workloads our Rust benchmarks share with the Rust peer (`benches/peers/rust`): the graph
//! documents of `benches/rust/docs/` and the trivial ops they call, registered in the two forms
//! our builder has.
//!
//! * [`Form::Op`]: `OperonBuilder::op`, a function of its inputs by value as a JSON object,
//!   returning a JSON value: the published crate's form. `inc`, `add` and `sum` are, line for
//!   line, the peer's ops (`benches/peers/rust/src/ops.rs`).
//! * [`Form::OpRef`]: `OperonBuilder::op_ref`, a function of borrowed inputs returning its outputs
//!   as `Outputs` (`Outputs::one`): our fast path (no map of the inputs or of the outputs is built
//!   for a call).
//!
//! `count` (the stream's generator, `n -> {"i": 0} … {"i": n - 1}`) is registered with
//! `OperonBuilder::gen` in both forms: it yields its items one at a time, where the peer's returns
//! its whole list (0.7.1 has no lazy generator for Rust ops).

use std::path::PathBuf;

use operonx::ops::{Inputs, Items, Outputs};
use operonx::{Operon, OperonBuilder, OperonError};
use serde_json::{json, Map, Value};

/// Ops of the chain (W1) and of the build (B).
pub const CHAIN_OPS: usize = 1000;
/// Ops of the fan-out (W2): `src`, 1000 `inc`, `join`.
pub const FANOUT_OPS: usize = 1002;
/// Ops of the diamond (W3).
pub const DIAMOND_OPS: usize = 5;
/// Items of the stream (W5).
pub const STREAM_ITEMS: u64 = 100_000;

/// How the ops are registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `OperonBuilder::op`: inputs by value as a map (the published crate's form).
    Op,
    /// `OperonBuilder::op_ref`: borrowed inputs (our fast path).
    OpRef,
}

impl Form {
    /// The suffix of a figure's id (`W1` for the published form, `W1/op_ref` for the other).
    pub fn suffix(self) -> &'static str {
        match self {
            Form::Op => "",
            Form::OpRef => "/op_ref",
        }
    }

    /// The name of the registration form, as the figures print it.
    pub fn name(self) -> &'static str {
        match self {
            Form::Op => "op",
            Form::OpRef => "op_ref",
        }
    }
}

/// The text of `benches/rust/docs/<file>`.
pub fn document(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/rust/docs").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The inputs `{key: value}`.
pub fn inputs(key: &str, value: u64) -> Map<String, Value> {
    Map::from_iter([(key.to_string(), Value::from(value))])
}

fn int(inputs: &Map<String, Value>, key: &str) -> Result<i64, OperonError> {
    inputs
        .get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| OperonError::Runtime(format!("input '{key}' is not an integer")))
}

/// `x -> {"x": x + 1}`.
pub fn inc(inputs: Map<String, Value>) -> Result<Value, OperonError> {
    Ok(json!({ "x": int(&inputs, "x")? + 1 }))
}

/// `x, y -> {"x": x + y}`.
pub fn add(inputs: Map<String, Value>) -> Result<Value, OperonError> {
    Ok(json!({ "x": int(&inputs, "x")? + int(&inputs, "y")? }))
}

/// Every input is an integer: `{"x": their sum}`.
pub fn sum(inputs: Map<String, Value>) -> Result<Value, OperonError> {
    let mut total = 0;
    for key in inputs.keys() {
        total += int(&inputs, key)?;
    }
    Ok(json!({ "x": total }))
}

fn int_ref(inputs: &Inputs, key: &str) -> Result<i64, String> {
    inputs.get(key).and_then(Value::as_i64).ok_or_else(|| format!("input '{key}' is not an integer"))
}

/// `inc` over borrowed inputs.
pub fn inc_ref(inputs: &Inputs) -> Result<Outputs, String> {
    Ok(Outputs::one("x", int_ref(inputs, "x")? + 1))
}

/// `add` over borrowed inputs.
pub fn add_ref(inputs: &Inputs) -> Result<Outputs, String> {
    Ok(Outputs::one("x", int_ref(inputs, "x")? + int_ref(inputs, "y")?))
}

/// `sum` over borrowed inputs.
pub fn sum_ref(inputs: &Inputs) -> Result<Outputs, String> {
    let mut total = 0;
    for (key, value) in inputs.iter() {
        total += value.as_i64().ok_or_else(|| format!("input '{key}' is not an integer"))?;
    }
    Ok(Outputs::one("x", total))
}

/// The generator `n -> {"i": 0} … {"i": n - 1}`, one item at a time.
pub fn count(inputs: &Inputs) -> Result<Items, String> {
    let n = int_ref(inputs, "n")?;
    Ok(Box::new((0..n).map(|i| Ok(Outputs::one("i", i)))))
}

/// A builder of `json` with the four ops registered in `form`.
pub fn builder(json: &str, form: Form) -> OperonBuilder {
    let b = Operon::builder(json);
    let b = match form {
        Form::Op => b.op("inc", inc).op("add", add).op("sum", sum),
        Form::OpRef => b.op_ref("inc", inc_ref).op_ref("add", add_ref).op_ref("sum", sum_ref),
    };
    b.gen("count", count)
}

/// The engine of `json` with the ops in `form`.
pub fn engine(json: &str, form: Form) -> Operon {
    builder(json, form).build().unwrap_or_else(|e| panic!("the document does not build: {e}"))
}
