//! The op vocabulary of the conformance fixtures in Rust: the twins of `tests/conformance/ops.py`,
//! registered under the same `func_name`s with the same behaviour. `ainc` is `inc` and `acount_to` is
//! `count_to` (Rust ops are called inline; the Python twins are an `async def` and an async generator).
#![allow(dead_code)] // each test crate that includes it uses its own part of it

use operonx::ops::{Inputs, Items, Outputs};
use operonx::OperonBuilder;
use serde_json::{json, Value};

/// Registers every op of the vocabulary that has a Rust twin.
pub fn register(builder: OperonBuilder) -> OperonBuilder {
    builder
        .op_ref("inc", inc)
        .op_ref("ainc", inc)
        .op_ref("add", add)
        .op_ref("scale", scale)
        .op_ref("echo", echo)
        .op_ref("split", split)
        .op_ref("tagged", tagged)
        .op_ref("step", step)
        .op_ref("accum", accum)
        .op_ref("fail", fail)
        .op_ref("fail_at", fail_at)
        .op_ref("total", total)
        .gen("count_to", count_to)
        .gen("acount_to", count_to)
        .gen("spread", spread)
}

/// The error every failing op of the vocabulary reports.
pub const BOOM: &str = "boom";

fn value<'a>(inputs: &'a Inputs, name: &str) -> &'a Value {
    inputs.get(name).unwrap_or(&Value::Null)
}

fn int(inputs: &Inputs, name: &str) -> Result<i64, String> {
    value(inputs, name).as_i64().ok_or_else(|| format!("input '{name}' must be an int, got {}", value(inputs, name)))
}

fn outputs<const N: usize>(pairs: [(&str, Value); N]) -> Outputs {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn checked(r: Option<i64>) -> Result<Value, String> {
    r.map(Value::from).ok_or_else(|| "integer overflow".to_string())
}

fn inc(i: &Inputs) -> Result<Outputs, String> {
    Ok(outputs([("y", checked(int(i, "x")?.checked_add(1))?)]))
}

fn add(i: &Inputs) -> Result<Outputs, String> {
    Ok(outputs([("y", checked(int(i, "a")?.checked_add(int(i, "b")?))?)]))
}

fn scale(i: &Inputs) -> Result<Outputs, String> {
    let k = if value(i, "k").is_null() { 10 } else { int(i, "k")? };
    Ok(outputs([("y", checked(int(i, "x")?.checked_mul(k))?)]))
}

fn echo(i: &Inputs) -> Result<Outputs, String> {
    Ok(outputs([("v", value(i, "v").clone())]))
}

fn split(i: &Inputs) -> Result<Outputs, String> {
    let x = int(i, "x")?;
    Ok(outputs([("lo", checked(x.checked_sub(1))?), ("hi", checked(x.checked_add(1))?)]))
}

fn tagged(i: &Inputs) -> Result<Outputs, String> {
    Ok(outputs([("y", value(i, "x").clone()), ("$tags", json!(["seen"]))]))
}

fn step(i: &Inputs) -> Result<Outputs, String> {
    Ok(outputs([("n", checked(int(i, "n")?.checked_add(1))?)]))
}

fn accum(i: &Inputs) -> Result<Outputs, String> {
    let n = int(i, "n")?;
    let mut acc = match value(i, "acc") {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        other => return Err(format!("input 'acc' must be a list, got {other}")),
    };
    acc.push(Value::from(n));
    Ok(outputs([("n", checked(n.checked_add(1))?), ("acc", Value::Array(acc))]))
}

fn fail(_: &Inputs) -> Result<Outputs, String> {
    Err(BOOM.into())
}

fn fail_at(i: &Inputs) -> Result<Outputs, String> {
    let n = int(i, "n")?;
    if value(i, "at") == &Value::from(n) {
        return Err(BOOM.into());
    }
    Ok(outputs([("n", checked(n.checked_add(1))?)]))
}

fn total(i: &Inputs) -> Result<Outputs, String> {
    let Value::Array(xs) = value(i, "xs") else {
        return Err(format!("input 'xs' must be a list, got {}", value(i, "xs")));
    };
    let mut sum: i64 = 0;
    for x in xs {
        sum = x.as_i64().and_then(|x| sum.checked_add(x)).ok_or_else(|| format!("cannot sum {x}"))?;
    }
    Ok(outputs([("sum", Value::from(sum)), ("xs", Value::Array(xs.clone()))]))
}

fn count_to(i: &Inputs) -> Result<Items, String> {
    let n = int(i, "n")?;
    Ok(Box::new((0..n).map(|i| Ok(outputs([("i", Value::from(i))])))))
}

fn spread(i: &Inputs) -> Result<Items, String> {
    let x = int(i, "x")?;
    let base = x.checked_mul(10).ok_or("integer overflow")?;
    Ok(Box::new((0..x).map(move |j| Ok(outputs([("z", checked(base.checked_add(j))?)])))))
}

/// [`register`], with the twins of the `async def` ops (`ainc`) as async ops: each call yields to
/// the runtime once before it returns, so calls in flight overlap.
#[cfg(feature = "tokio")]
pub fn register_async(builder: OperonBuilder) -> OperonBuilder {
    register(builder).op_async("ainc", |inputs: serde_json::Map<String, Value>| async move {
        tokio::task::yield_now().await;
        let x = inputs.get("x").and_then(Value::as_i64).ok_or_else(|| {
            operonx::OperonError::Runtime(format!("input 'x' must be an int, got {}", inputs.get("x").unwrap_or(&Value::Null)))
        })?;
        let y = x.checked_add(1).ok_or_else(|| operonx::OperonError::Runtime("integer overflow".into()))?;
        Ok(json!({ "y": y }))
    })
}
