//! Ref transforms on JSON values, for graphs run from Rust. Integers and floats stay apart: `7 // 2` is
//! `3`, not `3.0`, and integer arithmetic never goes through `f64`.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::graph::TransformKind;

/// Applies a transform to a JSON value. `apply` and calls of unknown methods are refused: a JSON graph
/// run from Rust has no host functions.
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
            Value::Number(n) if n.is_i64() => Ok(Value::from(n.as_i64().unwrap_or(0).unsigned_abs())),
            Value::Number(n) => Ok(float(n.as_f64().unwrap_or(0.0).abs())),
            _ => Err(format!("abs() of {value}")),
        },
        Eq => Ok(Value::Bool(json_eq(&value, &arg()?))),
        Ne => Ok(Value::Bool(!json_eq(&value, &arg()?))),
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

fn arith(op: TransformKind, a: &Value, b: &Value) -> Result<Value, String> {
    use TransformKind::*;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y), false) = (x.as_i64(), y.as_i64(), op == TrueDiv) {
                // Python's floor division and modulo from the Euclidean ones, without overflow: the
                // remainder takes the divisor's sign (`checked_rem_euclid` fails only for MIN % -1 == 0).
                let rem = x.checked_rem_euclid(y).unwrap_or(0);
                let adjust = y < 0 && rem != 0;
                let r = match op {
                    Add => x.checked_add(y),
                    Sub => x.checked_sub(y),
                    Mul => x.checked_mul(y),
                    FloorDiv if y == 0 => return Err("integer division by zero".into()),
                    FloorDiv => x.checked_div_euclid(y).map(|q| q - i64::from(adjust)),
                    Mod if y == 0 => return Err("integer modulo by zero".into()),
                    Mod => Some(if adjust { rem + y } else { rem }),
                    Pow if y >= 0 => u32::try_from(y).ok().and_then(|e| x.checked_pow(e)),
                    Pow if x == 0 => return Err("0 cannot be raised to a negative power".into()),
                    Pow => return Ok(float((x as f64).powf(y as f64))),
                    _ => None,
                };
                return r.map(Value::from).ok_or_else(|| "integer overflow".into());
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

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().partial_cmp(&y.as_f64()).ok_or_else(|| "cannot compare NaN".into())
        }
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(format!("cannot compare {a} with {b}")),
    }
}
