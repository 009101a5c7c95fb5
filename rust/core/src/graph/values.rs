//! Reading the free-form JSON values of a document (literals, defaults, transform arguments,
//! `until`) with a bound on how deeply they nest.
//!
//! The document parse grows its stack as it goes, so any depth parses; but a `serde_json::Value` is
//! cloned, compared, printed and dropped recursively, so a deep one would overflow the stack later
//! (even while the parse gives up on an error further on). A value is read level by level and refused
//! as soon as it nests more than [`MAX_VALUE_DEPTH`] levels, so no deeper one is ever built; graphs
//! themselves still nest to thousands of levels.

use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Number, Value};

/// How many levels of arrays and objects a literal, default, transform argument or `until` may nest.
#[doc = include_str!("../../doc/graph/values/MAX_VALUE_DEPTH.md")]
pub const MAX_VALUE_DEPTH: usize = 256;

/// A JSON value nesting at most [`MAX_VALUE_DEPTH`] levels.
#[doc = include_str!("../../doc/graph/values/BoundedValue.md")]
pub struct BoundedValue(pub Value);

impl<'de> Deserialize<'de> for BoundedValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Levels(MAX_VALUE_DEPTH).deserialize(d).map(BoundedValue)
    }
}

/// Reads a value with this many levels of arrays and objects left.
#[derive(Clone, Copy)]
struct Levels(usize);

impl Levels {
    fn inner<E: serde::de::Error>(self) -> Result<Levels, E> {
        match self.0 {
            0 => Err(E::custom(format!(
                "a value nested more than {MAX_VALUE_DEPTH} levels deep (arrays, objects or refs in transform \
                 arguments); flatten it"
            ))),
            n => Ok(Levels(n - 1)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Levels {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Levels {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom(format!("the number {v} is not finite")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.inner()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.inner()?;
        let mut entries = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            entries.insert(key, value);
        }
        Ok(Value::Object(entries))
    }
}

/// A JSON value, refused when it nests more than [`MAX_VALUE_DEPTH`] levels.
#[doc = include_str!("../../doc/graph/values/bounded.md")]
pub fn bounded<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    BoundedValue::deserialize(d).map(|b| b.0)
}

/// An optional JSON value (`null` is `None`), refused when it nests too deeply.
#[doc = include_str!("../../doc/graph/values/bounded_opt.md")]
pub fn bounded_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(bounded(d)?).filter(|v| !v.is_null()))
}

/// A ref's transforms, `[[kind, [args...]], ...]`, each argument refused when it nests too deeply.
#[doc = include_str!("../../doc/graph/values/bounded_transforms.md")]
pub fn bounded_transforms<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Vec<Value>)>, D::Error> {
    let transforms = Vec::<(String, Vec<BoundedValue>)>::deserialize(d)?;
    Ok(transforms.into_iter().map(|(kind, args)| (kind, args.into_iter().map(|a| a.0).collect())).collect())
}

#[cfg(test)]
mod tests {
    use super::{BoundedValue, MAX_VALUE_DEPTH};
    use serde::Deserialize;
    use serde_json::json;

    fn from_str_bounded(text: &str) -> Result<serde_json::Value, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        de.disable_recursion_limit();
        BoundedValue::deserialize(&mut de).map(|b| b.0).map_err(|e| e.to_string())
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        let text = r#"{"a": [1, -2, 3.5, "x", null, true, {"b": []}], "c": 18446744073709551615}"#;
        assert_eq!(from_str_bounded(text).unwrap(), serde_json::from_str::<serde_json::Value>(text).unwrap());
        assert_eq!(from_str_bounded("[1]").unwrap(), json!([1]));
    }

    #[test]
    fn values_deeper_than_the_bound_are_refused_as_they_are_read() {
        let nest = |d: usize| format!("{}{}", "[".repeat(d), "]".repeat(d));
        assert!(from_str_bounded(&nest(MAX_VALUE_DEPTH)).is_ok());
        assert!(from_str_bounded(&nest(MAX_VALUE_DEPTH + 1)).unwrap_err().contains("more than 256 levels"));
    }
}
