//! Reading the free-form JSON values of a document (literals, defaults, transform arguments,
//! `until`) with a bound on how deeply they nest.
//!
//! The document parse grows its stack as it goes, so any depth parses; but a `serde_json::Value` is
//! cloned, compared, printed and dropped recursively, so a value nested 100 000 levels deep would
//! overflow the stack later. A value deeper than [`MAX_VALUE_DEPTH`] is refused where it is read (and
//! taken apart without recursion); graphs themselves still nest to any depth.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// How many levels of arrays and objects a literal, default, transform argument or `until` may nest.
pub const MAX_VALUE_DEPTH: usize = 1000;

/// How deeply `v` nests (a scalar is 0 deep, `[1]` 1), counted without recursion and without
/// looking further than `limit + 1` levels.
fn depth(v: &Value, limit: usize) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        deepest = deepest.max(d + 1);
        if deepest > limit {
            return deepest;
        }
        stack.extend(children.map(|c| (c, d + 1)));
    }
    deepest
}

/// Drops a value of any depth without recursion.
pub fn drop_deep(v: Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => stack.extend(o.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// `Ok(v)` when `v` nests at most [`MAX_VALUE_DEPTH`] levels, else the refusal (the value is taken
/// apart first).
fn bounded_value<E: serde::de::Error>(v: Value) -> Result<Value, E> {
    if depth(&v, MAX_VALUE_DEPTH) <= MAX_VALUE_DEPTH {
        return Ok(v);
    }
    drop_deep(v);
    Err(E::custom(format!("a value nested more than {MAX_VALUE_DEPTH} levels deep (arrays and objects); flatten it")))
}

/// A JSON value, refused when it nests more than [`MAX_VALUE_DEPTH`] levels.
pub fn bounded<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    bounded_value(Value::deserialize(d)?)
}

/// An optional JSON value (`null` is `None`), refused when it nests too deeply.
pub fn bounded_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(bounded(d)?).filter(|v| !v.is_null()))
}

/// A ref's transforms, `[[kind, [args...]], ...]`, each argument refused when it nests too deeply.
pub fn bounded_transforms<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Vec<Value>)>, D::Error> {
    let transforms = Vec::<(String, Vec<Value>)>::deserialize(d)?;
    let too_deep = transforms.iter().flat_map(|(_, args)| args).any(|a| depth(a, MAX_VALUE_DEPTH) > MAX_VALUE_DEPTH);
    if !too_deep {
        return Ok(transforms);
    }
    transforms.into_iter().flat_map(|(_, args)| args).for_each(drop_deep);
    Err(D::Error::custom(format!(
        "a transform argument nested more than {MAX_VALUE_DEPTH} levels deep (arrays, objects or refs); flatten it"
    )))
}

#[cfg(test)]
mod tests {
    use super::{depth, drop_deep};
    use serde_json::{json, Value};

    #[test]
    fn depth_counts_levels() {
        assert_eq!(depth(&json!(1), 10), 0);
        assert_eq!(depth(&json!([1]), 10), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": []}]}), 10), 4);
    }

    #[test]
    fn deep_values_are_measured_and_dropped_without_recursion() {
        let mut v = Value::Null;
        for _ in 0..200_000 {
            v = Value::Array(vec![v]);
        }
        assert_eq!(depth(&v, 5), 6);
        drop_deep(v);
    }
}
