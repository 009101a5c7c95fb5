//! [`Outputs`]: what an op of the fast path returns, a small ordered list of `(name, value)`
//! entries: no hashing, and no allocation for one entry named by a `&'static str` (one for more).

use std::borrow::Cow;
use std::ops::Index;

use serde_json::{Map, Value};
use smallvec::SmallVec;

/// The name of an output: a `&'static str` costs nothing to make, a `String` is kept as it is.
#[doc = include_str!("../../doc/ops/OutputName.md")]
pub type OutputName = Cow<'static, str>;

/// The outputs an op returns: each key is an output variable, in the order given. A name given
/// twice keeps its first place and its last value (as a JSON object would).
#[doc = include_str!("../../doc/ops/Outputs.md")]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    entries: SmallVec<[(OutputName, Value); 1]>,
}

impl Outputs {
    /// No outputs.
    #[doc = include_str!("../../doc/ops/Outputs.new.md")]
    pub fn new() -> Self {
        Outputs { entries: SmallVec::new() }
    }

    /// One output, `name` = `value`: the cheapest outputs to make.
    #[doc = include_str!("../../doc/ops/Outputs.one.md")]
    pub fn one(name: impl Into<OutputName>, value: impl Into<Value>) -> Self {
        let mut entries = SmallVec::new();
        entries.push((name.into(), value.into()));
        Outputs { entries }
    }

    /// These outputs and `name` = `value` (see [`Outputs::insert`]), for chaining.
    #[doc = include_str!("../../doc/ops/Outputs.with.md")]
    #[must_use]
    pub fn with(mut self, name: impl Into<OutputName>, value: impl Into<Value>) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets output `name` to `value`: a new name goes last, a known one keeps its place. Returns
    /// the value it replaced.
    #[doc = include_str!("../../doc/ops/Outputs.insert.md")]
    pub fn insert(&mut self, name: impl Into<OutputName>, value: impl Into<Value>) -> Option<Value> {
        let name = name.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == name) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                self.entries.push((name, value));
                None
            }
        }
    }

    /// The value of output `name`.
    #[doc = include_str!("../../doc/ops/Outputs.get.md")]
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries.iter().find_map(|(k, v)| (k == name).then_some(v))
    }

    /// How many outputs there are.
    #[doc = include_str!("../../doc/ops/Outputs.len.md")]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    #[doc = include_str!("../../doc/ops/Outputs.is_empty.md")]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every output in order.
    #[doc = include_str!("../../doc/ops/Outputs.iter.md")]
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// The outputs as a JSON object, in order.
    #[doc = include_str!("../../doc/ops/Outputs.into_map.md")]
    pub fn into_map(self) -> Map<String, Value> {
        self.entries.into_iter().map(|(k, v)| (k.into_owned(), v)).collect()
    }

    /// The value of output `name`, for changing it.
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.entries.iter_mut().find_map(|(k, v)| (k == name).then_some(v))
    }

    /// The entries in order.
    pub(crate) fn entries(&self) -> &[(OutputName, Value)] {
        &self.entries
    }
}

impl<K: Into<OutputName>> FromIterator<(K, Value)> for Outputs {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut out = Outputs::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl From<Map<String, Value>> for Outputs {
    fn from(map: Map<String, Value>) -> Self {
        // the keys of an object are unique already
        Outputs { entries: map.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect() }
    }
}

impl From<Outputs> for Map<String, Value> {
    fn from(out: Outputs) -> Self {
        out.into_map()
    }
}

impl Index<&str> for Outputs {
    type Output = Value;

    /// The value of output `name`, or `null` when there is none (as `serde_json::Value` indexes).
    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}
