//! The value model of the Rust API: JSON values (`serde_json`), errors as messages, failures as
//! [`OperonError`]s, and [`Signal`]s as the wakers of consumers waiting on a run (the streaming
//! handle; nothing waits on a run of the inline driver).

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::OperonError;
pub mod signal;

pub use signal::{Fired, Signal};
use crate::plan::{Const, ConstId, Forward, OpId, Plan, TransformPlan, VarId};
use crate::run::{Entries, Key, Model, Runtime};
use crate::value::{apply_json, json_type, truthy};

/// A consumer waiting on a run of the Rust API: fired with the value it waits for, if any.
#[doc = include_str!("../../doc/json/JsonWaker.md")]
pub type JsonWaker = Arc<Signal<Value>>;

/// The types of the JSON value model.
#[doc = include_str!("../../doc/json/Json.md")]
#[derive(Debug)]
pub struct Json;

impl Model for Json {
    type Value = Value;
    type Error = String;
    type Failure = OperonError;
    type Waker = JsonWaker;
}

/// JSON values of a run of `plan`.
#[doc = include_str!("../../doc/json/JsonRuntime.md")]
pub struct JsonRuntime<'p> {
    plan: &'p Plan,
}

impl<'p> JsonRuntime<'p> {
    /// The runtime of runs of `plan`.
    #[doc = include_str!("../../doc/json/JsonRuntime.new.md")]
    pub fn new(plan: &'p Plan) -> Self {
        JsonRuntime { plan }
    }
}

/// Entries of a mapping this small are looked up by comparing keys: cheaper than hashing the key.
const SCAN_MAX: usize = 8;

/// Entry `key` of `map` (`None` when `map` is not an object).
#[inline]
fn lookup<'v>(map: &'v Value, key: &str) -> Option<&'v Value> {
    let Value::Object(map) = map else { return None };
    if map.len() <= SCAN_MAX {
        map.iter().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        map.get(key)
    }
}

fn object(v: &mut Value) -> Result<&mut Map<String, Value>, String> {
    let ty = json_type(v);
    v.as_object_mut().ok_or_else(|| format!("expected an object, found {ty}"))
}

impl Runtime<Json> for JsonRuntime<'_> {
    #[inline]
    fn get(&mut self, map: &Value, var: VarId) -> Result<Option<Value>, String> {
        Ok(lookup(map, self.plan.var(var)).cloned())
    }

    fn get_str(&mut self, map: &Value, key: &str) -> Result<Option<Value>, String> {
        Ok(lookup(map, key).cloned())
    }

    #[inline]
    fn get_known(&mut self, map: &Value, key: Key) -> Result<Option<Value>, String> {
        Ok(lookup(map, key.name()).cloned())
    }

    fn keys(&mut self, map: &Value) -> Vec<String> {
        map.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    fn constant(&mut self, c: ConstId) -> Value {
        match &self.plan.consts[c as usize] {
            Const::Json(v) => v.clone(),
            Const::Int(_) | Const::Host(_) => Value::Null, // refused at build time
        }
    }

    fn none(&mut self) -> Value {
        Value::Null
    }

    fn is_none(&self, v: &Value) -> bool {
        v.is_null()
    }

    fn truthy(&self, v: &Value) -> Result<bool, String> {
        Ok(truthy(v))
    }

    fn transform(
        &mut self,
        t: &TransformPlan,
        value: Value,
        args: Vec<Value>,
        _kw: Vec<(&str, Value)>,
    ) -> Result<Value, String> {
        apply_json(t.kind, value, &args)
    }

    fn copy(&mut self, v: &Value) -> Value {
        v.clone()
    }

    fn keeps_last(&self) -> bool {
        false // nothing reads them in the Rust API, and a copy is a deep clone
    }

    fn forward_whole(&mut self, forward: &Forward, out: Value) -> Result<Value, Value> {
        let Value::Object(map) = &out else { return Err(out) };
        let whole = match forward {
            Forward::Nothing => false,
            // `update(.., public)` copies every entry but those starting with `$`, in order
            Forward::All => !map.keys().any(|k| k.starts_with('$')),
            // every output, in order, under its own name
            Forward::Mapped(pairs) => {
                map.len() == pairs.len()
                    && pairs.iter().zip(map.keys()).all(|(&(from, to), key)| from == to && self.plan.var(from) == key)
            }
        };
        if whole {
            Ok(out)
        } else {
            Err(out)
        }
    }

    fn map(&mut self) -> Value {
        Value::Object(Map::new())
    }

    fn list(&mut self, items: Vec<Value>) -> Result<Value, String> {
        Ok(Value::Array(items))
    }

    fn push(&mut self, list: &mut Value, v: Value) -> Result<(), String> {
        list.as_array_mut().ok_or("expected an array")?.push(v);
        Ok(())
    }

    fn set(&mut self, map: &mut Value, var: VarId, v: Value) -> Result<(), String> {
        object(map)?.insert(self.plan.var(var).to_string(), v);
        Ok(())
    }

    fn set_known(&mut self, map: &mut Value, key: Key, v: Value) -> Result<(), String> {
        object(map)?.insert(key.name().to_string(), v);
        Ok(())
    }

    fn update(&mut self, into: &mut Value, from: &Value, public: bool) -> Result<(), String> {
        let Some(from) = from.as_object() else { return Ok(()) };
        let into = object(into)?;
        for (k, v) in from {
            if !(public && k.starts_with('$')) {
                into.insert(k.clone(), v.clone());
            }
        }
        Ok(())
    }

    fn items(&mut self, map: &Value) -> Result<Entries<Json>, String> {
        let map = map.as_object().ok_or("expected an object")?;
        Ok(map.iter().map(|(k, v)| (Value::String(k.clone()), v.clone())).collect())
    }

    fn copy_map(&mut self, map: &Value) -> Result<Value, String> {
        match map {
            Value::Object(_) => Ok(map.clone()),
            _ => Err("expected an object".into()),
        }
    }

    fn get_key(&mut self, map: &Value, key: &Value) -> Result<Option<Value>, String> {
        Ok(key.as_str().and_then(|k| map.get(k)).cloned())
    }

    fn set_key(&mut self, map: &mut Value, key: Value, v: Value) -> Result<(), String> {
        let Value::String(key) = key else { return Err("keys are strings".into()) };
        object(map)?.insert(key, v);
        Ok(())
    }

    fn same(&mut self, a: &Value, b: &Value) -> bool {
        a == b
    }

    fn outputs(&mut self, v: Value) -> Result<Value, String> {
        match v {
            Value::Null => Ok(Value::Object(Map::new())),
            Value::Object(_) => Ok(v),
            other => Err(json_type(&other).trim_start_matches("a ").trim_start_matches("an ").to_string()),
        }
    }

    fn iterate(&mut self, v: &Value) -> Result<Vec<Value>, String> {
        match v {
            Value::Array(items) => Ok(items.clone()),
            other => Err(format!("{} is not a list", json_type(other))),
        }
    }

    fn record(&mut self, op: OpId, args: &[Value]) -> Result<Value, String> {
        let inputs = &self.plan.ops[op as usize].inputs;
        Ok(Value::Object(inputs.iter().map(|i| i.name.clone()).zip(args.iter().cloned()).collect()))
    }

    fn op_name(&mut self, op: OpId) -> Value {
        Value::String(self.plan.ops[op as usize].name.clone())
    }

    fn text(&mut self, s: &str) -> Value {
        Value::String(s.to_string())
    }

    fn json_value(&mut self, v: &Value) -> Result<Value, String> {
        Ok(v.clone())
    }

    fn to_json(&mut self, v: &Value) -> Option<Value> {
        Some(v.clone())
    }

    fn text_of(&mut self, v: &Value) -> Option<String> {
        v.as_str().map(str::to_string)
    }

    fn until_callable(&mut self, _c: ConstId, _vars: &Value) -> Result<bool, (String, String)> {
        Err(("callable".into(), "a callable until cannot run in the Rust API".into()))
        // refused at build time
    }

    fn write_json(&mut self, v: &Value, out: &mut Vec<u8>) -> bool {
        serde_json::to_writer(out, v).is_ok()
    }

    fn describe(&mut self, e: &String) -> String {
        e.clone()
    }

    fn is_fatal(&mut self, _e: &String) -> bool {
        false
    }

    fn failure(&mut self, error: OperonError, _cause: Option<String>) -> OperonError {
        error
    }

    fn fatal(&mut self, e: String) -> OperonError {
        OperonError::Usage(e)
    }

    fn wake(&mut self, waker: JsonWaker, value: Option<Value>) -> Result<(), String> {
        waker.fire(value);
        Ok(())
    }

    fn gone(&mut self, waker: &JsonWaker) -> bool {
        Signal::is_abandoned(waker)
    }
}
