//! Python values in the engine: constants of the document as Python objects, and ref transforms
//! evaluated with Python's own operators, and Python values as JSON (for traces).

use operonx::graph::TransformKind;
use operonx::plan::TransformPlan;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyModule, PyString, PyTuple};
use serde_json::{Number, Value};

/// Converts a JSON constant of the document into a Python object.
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python value as JSON when it is one: `None`, `bool`, `int` (64 bits), `float` (finite), `str`,
/// lists and tuples of them, dicts of them with `str` keys; `None` for anything else.
pub fn py_to_json(v: &Bound<'_, PyAny>, depth: u32) -> Option<Value> {
    use pyo3::types::{PyBool, PyFloat, PyInt, PyString};
    if depth > 256 {
        return None;
    }
    if v.is_none() {
        Some(Value::Null)
    } else if let Ok(b) = v.cast::<PyBool>() {
        Some(Value::Bool(b.is_true()))
    } else if v.cast::<PyInt>().is_ok() {
        v.extract::<i64>().ok().map(Value::from).or_else(|| v.extract::<u64>().ok().map(Value::from))
    } else if let Ok(f) = v.cast::<PyFloat>() {
        serde_json::Number::from_f64(f.value()).map(Value::Number)
    } else if let Ok(s) = v.cast::<PyString>() {
        s.to_str().ok().map(|s| Value::String(s.to_string()))
    } else if let Ok(d) = v.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, item) in d.iter() {
            map.insert(k.cast::<PyString>().ok()?.to_str().ok()?.to_string(), py_to_json(&item, depth + 1)?);
        }
        Some(Value::Object(map))
    } else if v.cast::<PyList>().is_ok() || v.cast::<PyTuple>().is_ok() {
        v.try_iter().ok()?.map(|i| i.ok().and_then(|i| py_to_json(&i, depth + 1))).collect::<Option<Vec<_>>>().map(Value::Array)
    } else {
        None
    }
}

/// Converts a whole number given by its decimal digits (a constant beyond 64 bits) into a Python `int`,
/// exactly. The digits go through bytes, so Python's limit on converting long digit strings never applies.
pub fn int_to_py<'py>(py: Python<'py>, digits: &str) -> PyResult<Bound<'py, PyAny>> {
    // little-endian base 256, one decimal digit at a time
    let mut bytes: Vec<u8> = Vec::with_capacity(digits.len() / 2 + 1);
    for d in digits.bytes() {
        if !d.is_ascii_digit() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!("{digits:?} is not a whole number")));
        }
        let mut carry = u32::from(d - b'0');
        for b in &mut bytes {
            let v = u32::from(*b) * 10 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            bytes.push(carry as u8);
            carry >>= 8;
        }
    }
    let int = py.get_type::<pyo3::types::PyInt>();
    int.call_method1("from_bytes", (pyo3::types::PyBytes::new(py, &bytes), "little"))
}

static OPERATOR: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn operator_fn<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = OPERATOR.get_or_try_init(py, || PyModule::import(py, "operator").map(Bound::unbind))?;
    module.bind(py).getattr(name)
}

/// Applies one transform with Python semantics.
pub fn apply_transform<'py>(
    py: Python<'py>,
    t: &TransformPlan,
    value: Bound<'py, PyAny>,
    args: Vec<Bound<'py, PyAny>>,
    kwargs: Vec<(&str, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyAny>> {
    use TransformKind::*;
    let first =
        || args.first().cloned().ok_or_else(|| pyo3::exceptions::PyValueError::new_err("transform needs an argument"));
    let compare = |op: CompareOp| -> PyResult<Bound<'py, PyAny>> { value.rich_compare(first()?, op) };
    match t.kind {
        GetItem => value.get_item(first()?),
        GetAttr => value.getattr(first()?.str()?),
        Call => {
            let kw = PyDict::new(py);
            for (k, v) in kwargs {
                kw.set_item(k, v)?;
            }
            value.call(PyTuple::new(py, args)?, Some(&kw))
        }
        Apply => {
            let f = first()?;
            let mut call_args = vec![value];
            call_args.extend(args.into_iter().skip(1));
            f.call1(PyTuple::new(py, call_args)?)
        }
        Eq => compare(CompareOp::Eq),
        Ne => compare(CompareOp::Ne),
        Lt => compare(CompareOp::Lt),
        Le => compare(CompareOp::Le),
        Gt => compare(CompareOp::Gt),
        Ge => compare(CompareOp::Ge),
        Is => Ok(pyo3::types::PyBool::new(py, value.is(&first()?)).to_owned().into_any()),
        IsNot => Ok(pyo3::types::PyBool::new(py, !value.is(&first()?)).to_owned().into_any()),
        Neg | Pos | Abs | Not => operator_fn(py, unary_name(t.kind))?.call1((value,)),
        kind => {
            let (op, reflected) = kind.unreflected();
            let f = operator_fn(py, binary_name(op))?;
            let other = first()?;
            if reflected {
                f.call1((other, value))
            } else {
                f.call1((value, other))
            }
        }
    }
}

fn unary_name(kind: TransformKind) -> &'static str {
    match kind {
        TransformKind::Neg => "neg",
        TransformKind::Pos => "pos",
        TransformKind::Abs => "abs",
        _ => "not_",
    }
}

fn binary_name(kind: TransformKind) -> &'static str {
    use TransformKind::*;
    match kind {
        Add => "add",
        Sub => "sub",
        Mul => "mul",
        TrueDiv => "truediv",
        FloorDiv => "floordiv",
        Mod => "mod",
        Pow => "pow",
        And => "and_",
        _ => "or_",
    }
}

// Python values as JSON text, for traces: written on the loop thread when a traced op starts or
// ends, into the run's span log, so the trace is built later without touching Python.

/// How deep nested containers are followed; deeper ones are shown as their text.
const MAX_DEPTH: usize = 32;

/// Writes `obj` as JSON text: `None`, booleans, numbers, text, lists, tuples and dicts as
/// themselves (a dict's `None` entries left out, its keys as text), anything else as its `str()`
/// (what the published package's `json.dumps(..., default=str)` writes).
pub(crate) fn write_json(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) {
    write(obj, out, 0);
}

/// `obj` as a JSON value, what JSON has no form for as its `str()` (see [`write_json`]).
pub(crate) fn py_to_json_lossy(obj: &Bound<'_, PyAny>) -> Value {
    let mut out = Vec::new();
    write_json(obj, &mut out);
    serde_json::from_slice(&out).unwrap_or(Value::Null)
}

fn write(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) {
    // the common exact types first, one type comparison each (a subclass takes the tests below)
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return string(out, s);
    }
    if let Ok(i) = obj.cast_exact::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return int(out, v);
        }
    }
    if depth < MAX_DEPTH {
        if let Ok(d) = obj.cast_exact::<PyDict>() {
            return dict(d, out, depth);
        }
    }
    if obj.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(s) = obj.cast::<PyString>() {
        string(out, s);
    } else if let Ok(b) = obj.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            int(out, v);
        } else if let Ok(v) = i.extract::<u64>() {
            let _ = serde_json::to_writer(&mut *out, &v);
        } else {
            text(obj, out);
        }
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        match Number::from_f64(f.value()) {
            Some(n) => drop(serde_json::to_writer(&mut *out, &n)),
            None => text(obj, out),
        }
    } else if depth >= MAX_DEPTH {
        text(obj, out);
    } else if let Ok(d) = obj.cast::<PyDict>() {
        dict(d, out, depth);
    } else if let Ok(l) = obj.cast::<PyList>() {
        sequence(l.iter(), out, depth);
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        sequence(t.iter(), out, depth);
    } else {
        text(obj, out);
    }
}

/// A dict as a JSON object, its `None` entries left out, its keys as text. Two keys with one text
/// (`1` and `"1"`) are one member, the last value at the first place, as a JSON object parsed from
/// the text would have it (the trace shows the same either way).
fn dict(d: &Bound<'_, PyDict>, out: &mut Vec<u8>, depth: usize) {
    let from = out.len();
    out.push(b'{');
    let mut first = true;
    let mut other_keys = false;
    for (k, v) in d.iter() {
        if v.is_none() {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        match k.cast::<PyString>() {
            Ok(s) => string(out, s),
            Err(_) => {
                other_keys = true;
                text(&k, out);
            }
        }
        out.push(b':');
        write(&v, out, depth + 1);
    }
    out.push(b'}');
    if other_keys {
        if let Ok(merged) = serde_json::from_slice::<Value>(&out[from..]) {
            out.truncate(from);
            let _ = serde_json::to_writer(&mut *out, &merged);
        }
    }
}

/// An integer as JSON text (what `serde_json` writes for it, without its writer).
fn int(out: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = v.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// A str as a JSON string: its UTF-8 bytes as they are when nothing in them needs escaping.
fn string(out: &mut Vec<u8>, s: &Bound<'_, PyString>) {
    match s.to_str() {
        Ok(text) if !text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') => {
            out.reserve(text.len() + 2);
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        Ok(text) => drop(serde_json::to_writer(&mut *out, text)),
        Err(_) => drop(serde_json::to_writer(&mut *out, &*s.to_string_lossy())),
    }
}

fn sequence<'py>(items: impl Iterator<Item = Bound<'py, PyAny>>, out: &mut Vec<u8>, depth: usize) {
    out.push(b'[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(&v, out, depth + 1);
    }
    out.push(b']');
}

/// `str(obj)` as a JSON string, or a placeholder naming its type when that raises.
fn text(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) {
    let s = match obj.str() {
        Ok(s) => s.to_string_lossy().into_owned(),
        Err(_) => format!("<unrepresentable {}>", obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()),
    };
    let _ = serde_json::to_writer(out, &s);
}
