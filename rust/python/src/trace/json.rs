//! Python values as JSON, for traces: converted on the loop thread when a traced op starts or
//! ends, so the trace is written later without touching Python.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// How deep nested containers are followed; deeper ones are shown as their text.
const MAX_DEPTH: usize = 32;

/// `obj` as JSON: `None`, booleans, numbers, text, lists, tuples and dicts as themselves (a
/// dict's `None` entries left out, its keys as text), anything else as its `str()` (what the
/// published package's `json.dumps(..., default=str)` writes).
pub(crate) fn to_json(obj: &Bound<'_, PyAny>) -> Value {
    convert(obj, 0)
}

fn convert(obj: &Bound<'_, PyAny>, depth: usize) -> Value {
    if obj.is_none() {
        return Value::Null;
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Value::String(s.to_string_lossy().into_owned());
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Value::Bool(b.is_true());
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Value::from(v);
        }
        if let Ok(v) = i.extract::<u64>() {
            return Value::from(v);
        }
        return text(obj);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value()).map_or_else(|| text(obj), Value::Number);
    }
    if depth >= MAX_DEPTH {
        return text(obj);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            if v.is_none() {
                continue;
            }
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_string_lossy().into_owned(),
                Err(_) => k.str().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            };
            map.insert(key, convert(&v, depth + 1));
        }
        return Value::Object(map);
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return Value::Array(l.iter().map(|v| convert(&v, depth + 1)).collect());
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Value::Array(t.iter().map(|v| convert(&v, depth + 1)).collect());
    }
    text(obj)
}

/// `str(obj)`, or a placeholder naming its type when that raises.
fn text(obj: &Bound<'_, PyAny>) -> Value {
    match obj.str() {
        Ok(s) => Value::String(s.to_string_lossy().into_owned()),
        Err(_) => {
            let ty = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            Value::String(format!("<unrepresentable {ty}>"))
        }
    }
}
