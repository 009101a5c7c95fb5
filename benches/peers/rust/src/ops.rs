//! The trivial Rust ops the documents call, and the builder that registers them.

use operonx::{Operon, OperonBuilder, OperonError};
use serde_json::{json, Map, Value};

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

/// A generator: `n -> [{"i": 0}, …, {"i": n - 1}]`, one frame per item. 0.7.1 has no lazy
/// generator for Rust ops: a generator op returns its whole list, which the scheduler then
/// splits into frames.
pub fn count(inputs: Map<String, Value>) -> Result<Value, OperonError> {
    let n = int(&inputs, "n")?;
    Ok(Value::Array((0..n).map(|i| json!({ "i": i })).collect()))
}

/// A builder of `json` with the four ops registered, the way a user builds an engine
/// without resource files: no `resources.yaml`, no `.env`, no global hub.
pub fn builder(json: &str) -> OperonBuilder {
    Operon::builder(json)
        .op("inc", inc)
        .op("add", add)
        .op("sum", sum)
        .op("count", count)
        .no_resources()
        .install_global_hub(false)
        .load_dotenv(false)
}

/// The engine of `json`.
pub fn engine(json: &str) -> Operon {
    builder(json).build().unwrap_or_else(|e| panic!("operonx 0.7.1 rejected the document: {e}"))
}
