//! JSON values written as Python writes them (`str()` and `repr()`), for the messages and texts of
//! the parser and prompt ops, which read as 0.7.1's did.

use serde_json::Value;

/// `str(value)` as Python writes it: a string as it is, anything else as [`py_repr`].
#[doc = include_str!("../../doc/textops/text/py_str.md")]
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// `repr(value)` as Python writes it: `None`, `True`, `'text'`, `[1, 'a']`, `{'k': 1.5}`.
#[doc = include_str!("../../doc/textops/text/py_repr.md")]
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

fn write_repr(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => match (n.is_f64(), n.as_f64()) {
            (true, Some(f)) if f.fract() == 0.0 && f.abs() < 1e16 => out.push_str(&format!("{f:.1}")),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => {
            let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
            out.push(quote);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(v, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(&Value::String(k.clone()), out);
                out.push_str(": ");
                write_repr(v, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{py_repr, py_str};

    #[test]
    fn values_read_as_python_writes_them() {
        assert_eq!(
            py_repr(&json!([null, true, 1, 1.0, 2.5, "a", "it's", {"k": [false]}])),
            "[None, True, 1, 1.0, 2.5, 'a', \"it's\", {'k': [False]}]"
        );
        assert_eq!(py_str(&json!("plain")), "plain");
    }
}
