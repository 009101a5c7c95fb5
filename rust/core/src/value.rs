//! Ref transforms on JSON values, for graphs run from Rust. Integers and floats stay apart: `7 // 2` is
//! `3`, not `3.0`, and integer arithmetic and comparisons never go through `f64`: integers are exact
//! over the whole range JSON holds (`i64::MIN..=u64::MAX`), and a result beyond it is an error.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::error::Problem;
use crate::graph::TransformKind;
use crate::plan::{Builtin, Const, LoopPlan, Plan, Until};

/// The constants of a plan that a graph run from Rust cannot hold: host objects, and whole numbers
/// beyond 64 bits in a loop's `until` (each named with its loop), and options of op calls (cache, delay,
/// retries, timeout), which the Rust drivers do not make.
#[doc = include_str!("../doc/value/unsupported_constants.md")]
pub fn unsupported_constants(plan: &Plan) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(c) = plan.consts.iter().find(|c| matches!(c, Const::Host(_))) {
        problems.push(Problem::new(
            "invalid",
            format!("the document holds a host object ({c:?}); a graph run from Rust holds JSON values only"),
        ));
    }
    for op in &plan.ops {
        let Builtin::Loop(LoopPlan { until: Until::Expr { cond, text, .. }, .. }) = &op.builtin else {
            continue;
        };
        for c in cond.constants() {
            if let Const::Int(digits) = &plan.consts[c as usize] {
                let message = format!(
                    "loop '{}' has until {text:?}, whose integer {digits} does not fit in 64 bits; a graph run \
                     from Rust holds integers from {} to {} only",
                    op.name,
                    i64::MIN,
                    u64::MAX
                );
                problems.push(Problem::new("unsupported", message).op(&op.name));
            }
        }
    }
    for op in plan.ops.iter().filter(|o| o.calls.is_some()) {
        let message = format!(
            "op '{}' has cache, delay, retries or timeout, which a graph run from Rust does not support yet \
             (the Python package runs them)",
            op.full_name
        );
        problems.push(Problem::new("unsupported", message).op(&op.name));
    }
    problems
}

/// Applies a transform to a JSON value. `apply` and calls of unknown methods are refused: a JSON graph
/// run from Rust has no host functions.
#[doc = include_str!("../doc/value/apply_json.md")]
pub fn apply_json(kind: TransformKind, value: Value, args: &[Value]) -> Result<Value, String> {
    use TransformKind::*;
    let arg = || args.first().cloned().ok_or_else(|| format!("transform {kind:?} needs an argument"));
    let (op, reflected) = kind.unreflected();
    match op {
        GetItem => get_item(&value, &arg()?),
        // A method is looked up by `getattr` and run by the `call` that follows it.
        GetAttr => Ok(serde_json::json!({"$method": arg()?, "$self": value})),
        Call => match (value.get("$method").and_then(Value::as_str), value.get("$self")) {
            (Some(name), Some(this)) => call_method(name, this, args),
            _ => Err(format!("{value} is not callable")),
        },
        Apply => Err("apply() needs a host function; it cannot run in a graph executed from Rust".into()),
        Add | Sub | Mul | TrueDiv | FloorDiv | Mod | Pow => {
            let other = arg()?;
            let (a, b) = if reflected { (other, value) } else { (value, other) };
            arith(op, &a, &b)
        }
        Neg => arith(Sub, &Value::from(0), &value),
        Pos => Ok(value),
        Abs => match &value {
            Value::Number(n) => match integer(n) {
                Some(i) => int_value(i.abs()),
                None => Ok(float(n.as_f64().unwrap_or(0.0).abs())),
            },
            _ => Err(format!("abs() of {value}")),
        },
        Eq => Ok(Value::Bool(json_eq(&value, &arg()?))),
        Ne => Ok(Value::Bool(!json_eq(&value, &arg()?))),
        Is => Ok(Value::Bool(same_singleton(&value, &arg()?))),
        IsNot => Ok(Value::Bool(!same_singleton(&value, &arg()?))),
        Lt | Le | Gt | Ge => {
            let ord = compare(&value, &arg()?)?;
            Ok(Value::Bool(match op {
                Lt => ord == Ordering::Less,
                Le => ord != Ordering::Greater,
                Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }))
        }
        And => Ok(Value::Bool(truthy(&value) && truthy(&arg()?))),
        Or => Ok(Value::Bool(truthy(&value) || truthy(&arg()?))),
        Not => Ok(Value::Bool(!truthy(&value))),
        _ => Err(format!("transform {kind:?} is not supported on JSON values")),
    }
}

/// Python's truthiness for a JSON value.
#[doc = include_str!("../doc/value/truthy.md")]
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

fn get_item(v: &Value, key: &Value) -> Result<Value, String> {
    match (v, key) {
        (Value::Object(o), Value::String(k)) => o.get(k).cloned().ok_or_else(|| format!("key {k:?} not found")),
        (Value::Array(a), Value::Number(i)) => {
            let i = i.as_i64().ok_or("list index must be an integer")?;
            let idx = if i < 0 { a.len() as i64 + i } else { i };
            a.get(usize::try_from(idx).map_err(|_| "list index out of range")?)
                .cloned()
                .ok_or_else(|| "list index out of range".into())
        }
        _ => Err(format!("cannot index {v} with {key}")),
    }
}

fn call_method(name: &str, v: &Value, _args: &[Value]) -> Result<Value, String> {
    let s = v.as_str().ok_or_else(|| format!("method {name}() is only supported on strings here"))?;
    Ok(Value::String(match name {
        "upper" => s.to_uppercase(),
        "lower" => s.to_lowercase(),
        "strip" => s.trim().to_string(),
        _ => return Err(format!("method {name}() is not supported on JSON values")),
    }))
}

/// A JSON integer (`i64` or `u64`), widened so that any two combine and compare exactly.
fn integer(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// An exact integer result as JSON; one beyond `i64::MIN..=u64::MAX` is an error, never a rounded float.
fn int_value(i: i128) -> Result<Value, String> {
    if let Ok(v) = i64::try_from(i) {
        return Ok(Value::from(v));
    }
    u64::try_from(i).map(Value::from).map_err(|_| format!("integer overflow: {i} does not fit in 64 bits"))
}

fn arith(op: TransformKind, a: &Value, b: &Value) -> Result<Value, String> {
    use TransformKind::*;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y), false) = (integer(x), integer(y), op == TrueDiv) {
                return int_arith(op, x, y);
            }
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            Ok(float(match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                TrueDiv | FloorDiv | Mod if y == 0.0 => return Err("division by zero".into()),
                TrueDiv => x / y,
                FloorDiv => (x / y).floor(),
                Mod => x - y * (x / y).floor(),
                _ => x.powf(y),
            }))
        }
        (Value::String(x), Value::String(y)) if op == Add => Ok(Value::String(format!("{x}{y}"))),
        (Value::Array(x), Value::Array(y)) if op == Add => Ok(Value::Array(x.iter().chain(y).cloned().collect())),
        _ => Err(format!("unsupported operands for {op:?}: {a} and {b}")),
    }
}

/// Integer arithmetic with Python's semantics, exact for operands and results of 64 bits.
fn int_arith(op: TransformKind, x: i128, y: i128) -> Result<Value, String> {
    use TransformKind::*;
    // Python's floor division and modulo from the Euclidean ones: the remainder takes the divisor's
    // sign. Operands of 64 bits never overflow an i128 here.
    let rem = x.checked_rem_euclid(y).unwrap_or(0);
    let adjust = y < 0 && rem != 0;
    let r = match op {
        Add => x.checked_add(y),
        Sub => x.checked_sub(y),
        Mul => x.checked_mul(y),
        FloorDiv if y == 0 => return Err("integer division by zero".into()),
        FloorDiv => x.checked_div_euclid(y).map(|q| q - i128::from(adjust)),
        Mod if y == 0 => return Err("integer modulo by zero".into()),
        Mod => Some(if adjust { rem + y } else { rem }),
        Pow if y >= 0 => u32::try_from(y).ok().and_then(|e| x.checked_pow(e)),
        Pow if x == 0 => return Err("0 cannot be raised to a negative power".into()),
        Pow => return Ok(float((x as f64).powf(y as f64))),
        _ => None,
    };
    r.ok_or_else(|| "integer overflow".to_string()).and_then(int_value)
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y).ok_or_else(|| "cannot compare NaN".into()),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(format!("cannot compare {a} with {b}")),
    }
}

/// Compares two numbers exactly, as Python does: integers never through `f64`, and an integer with a
/// float by value (`2**53 + 1 > 2.0**53`). `None` when a float is NaN.
fn compare_numbers(x: &Number, y: &Number) -> Option<Ordering> {
    match (integer(x), integer(y)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        (Some(a), None) => int_float(a, y.as_f64()?),
        (None, Some(b)) => int_float(b, x.as_f64()?).map(Ordering::reverse),
        (None, None) => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

/// Compares an integer of at most 64 bits with a float exactly.
fn int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // every float of magnitude 2**64 or more is beyond any 64-bit integer
    if f.abs() >= 18_446_744_073_709_551_616.0 {
        return Some(if f > 0.0 { Ordering::Less } else { Ordering::Greater });
    }
    let whole = f.trunc();
    // `whole` is an integer below 2**64 in magnitude: the conversion is exact
    Some(i.cmp(&(whole as i128)).then(if f > whole {
        Ordering::Less
    } else if f < whole {
        Ordering::Greater
    } else {
        Ordering::Equal
    }))
}

/// `a is b` over JSON values: true only for the same singleton (`null`, `true` or `false`), never for
/// equal numbers or strings (`1 is True` is false, as in Python).
fn same_singleton(a: &Value, b: &Value) -> bool {
    matches!((a, b), (Value::Null, Value::Null)) || matches!((a, b), (Value::Bool(x), Value::Bool(y)) if x == y)
}

/// The JSON type name of a value, for messages.
#[doc = include_str!("../doc/value/json_type.md")]
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
