//! [`RunValue`]: a value of a run of the Rust API. Most are JSON values; an op's outputs stay as
//! the op returned them ([`Outputs`]: no hashing, no map) until a whole mapping is needed (a
//! frame's data, a result), where they become a JSON object.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::Outputs;

/// A value of a run of the Rust API (the [`super::Json`] model).
#[doc = include_str!("../../doc/json/RunValue.md")]
#[derive(Debug, Clone, PartialEq)]
pub enum RunValue {
    /// A JSON value.
    Json(Value),
    /// The outputs of an op, as it returned them.
    Outputs(Outputs),
}

impl RunValue {
    /// The value as JSON: outputs become an object.
    #[doc = include_str!("../../doc/json/RunValue.into_json.md")]
    pub fn into_json(self) -> Value {
        match self {
            RunValue::Json(v) => v,
            RunValue::Outputs(out) => Value::Object(out.into_map()),
        }
    }

    /// The value as JSON, borrowed when it is JSON already.
    #[doc = include_str!("../../doc/json/RunValue.as_json.md")]
    pub fn as_json(&self) -> Cow<'_, Value> {
        match self {
            RunValue::Json(v) => Cow::Borrowed(v),
            RunValue::Outputs(out) => Cow::Owned(Value::Object(out.clone().into_map())),
        }
    }

    /// The value as a JSON object's entries: a mapping's, or none for anything else.
    #[doc = include_str!("../../doc/json/RunValue.into_map.md")]
    pub fn into_map(self) -> Map<String, Value> {
        match self {
            RunValue::Json(Value::Object(map)) => map,
            RunValue::Json(_) => Map::new(),
            RunValue::Outputs(out) => out.into_map(),
        }
    }

    /// Entry `key` of a mapping (`None` when absent, or when the value is not a mapping).
    #[doc = include_str!("../../doc/json/RunValue.get.md")]
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            RunValue::Json(Value::Object(map)) => {
                if map.len() <= SCAN_MAX {
                    map.iter().find_map(|(k, v)| (k == key).then_some(v))
                } else {
                    map.get(key)
                }
            }
            RunValue::Json(_) => None,
            RunValue::Outputs(out) => out.get(key),
        }
    }

    /// True for JSON `null`.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, RunValue::Json(Value::Null))
    }

    /// True for a mapping with no `"$tags"` key, when that is cheap to tell (outputs, a small
    /// object); false for anything else.
    #[inline]
    pub(crate) fn is_untagged_mapping(&self) -> bool {
        let untagged = |k: &str| k != crate::run::Key::Tags.name();
        match self {
            RunValue::Outputs(out) => out.entries().iter().all(|(k, _)| untagged(k)),
            RunValue::Json(Value::Object(map)) if map.len() <= SCAN_MAX => map.keys().all(|k| untagged(k)),
            RunValue::Json(_) => false,
        }
    }

    /// True for a mapping (a JSON object, or outputs).
    pub(crate) fn is_mapping(&self) -> bool {
        matches!(self, RunValue::Json(Value::Object(_)) | RunValue::Outputs(_))
    }

    /// The entries of a mapping in order; `None` for anything else.
    pub(crate) fn entries(&self) -> Option<MapEntries<'_>> {
        match self {
            RunValue::Json(Value::Object(map)) => Some(MapEntries::Object(map.iter())),
            RunValue::Json(_) => None,
            RunValue::Outputs(out) => Some(MapEntries::Outputs(out.entries().iter())),
        }
    }

    /// Sets entry `key` of a mapping (a new key goes last); `Err` with the value's type when it
    /// is not one.
    pub(crate) fn insert(&mut self, key: Cow<'_, str>, v: Value) -> Result<(), String> {
        match self {
            RunValue::Json(Value::Object(map)) => {
                map.insert(key.into_owned(), v);
                Ok(())
            }
            RunValue::Json(other) => Err(format!("expected an object, found {}", crate::value::json_type(other))),
            RunValue::Outputs(out) => {
                match out.get_mut(&key) {
                    Some(slot) => *slot = v,
                    None => {
                        out.insert(key.into_owned(), v);
                    }
                }
                Ok(())
            }
        }
    }
}

/// The entries of a mapping, in order.
pub(crate) enum MapEntries<'a> {
    Object(serde_json::map::Iter<'a>),
    Outputs(std::slice::Iter<'a, (super::OutputName, Value)>),
}

impl<'a> Iterator for MapEntries<'a> {
    type Item = (&'a str, &'a Value);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            MapEntries::Object(it) => it.next().map(|(k, v)| (k.as_str(), v)),
            MapEntries::Outputs(it) => it.next().map(|(k, v)| (k.as_ref(), v)),
        }
    }
}

/// Entries of a mapping this small are looked up by comparing keys: cheaper than hashing the key.
const SCAN_MAX: usize = 8;

impl From<Value> for RunValue {
    fn from(v: Value) -> Self {
        RunValue::Json(v)
    }
}

impl From<Outputs> for RunValue {
    fn from(out: Outputs) -> Self {
        RunValue::Outputs(out)
    }
}

impl From<RunValue> for Value {
    fn from(v: RunValue) -> Self {
        v.into_json()
    }
}

impl PartialEq<Value> for RunValue {
    /// Equal as JSON: outputs equal the object of their entries (in any order, as JSON objects
    /// compare).
    fn eq(&self, other: &Value) -> bool {
        match self {
            RunValue::Json(v) => v == other,
            RunValue::Outputs(_) => *self.as_json() == *other,
        }
    }
}

impl std::ops::Index<&str> for RunValue {
    type Output = Value;

    /// Entry `key` of a mapping, or `null` (as `serde_json::Value` indexes).
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}
