//! The value model of the Rust API: [`RunValue`]s (JSON values from `serde_json`, and the outputs
//! of fast-path ops kept as they returned them), errors as messages, failures as
//! [`OperonError`]s, and [`Signal`]s as the wakers of consumers waiting on a run (the streaming
//! handle; nothing waits on a run of the inline driver).

use std::sync::Arc;

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::OperonError;
mod outputs;
pub mod signal;
mod value;

pub use signal::{Fired, Signal};
pub use outputs::{OutputName, Outputs};
pub use value::RunValue;
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
    type Value = RunValue;
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

fn object(v: &mut RunValue) -> Result<&mut RunValue, String> {
    if v.is_mapping() {
        Ok(v)
    } else {
        Err(format!("expected an object, found {}", json_type(&v.as_json())))
    }
}

fn json_args(args: Vec<RunValue>) -> Vec<Value> {
    args.into_iter().map(RunValue::into_json).collect()
}

impl Runtime<Json> for JsonRuntime<'_> {
    #[inline(always)]
    fn get(&mut self, map: &RunValue, var: VarId) -> Result<Option<RunValue>, String> {
        Ok(map.get(self.plan.var(var)).cloned().map(RunValue::Json))
    }

    fn get_str(&mut self, map: &RunValue, key: &str) -> Result<Option<RunValue>, String> {
        Ok(map.get(key).cloned().map(RunValue::Json))
    }

    #[inline]
    fn get_known(&mut self, map: &RunValue, key: Key) -> Result<Option<RunValue>, String> {
        Ok(map.get(key.name()).cloned().map(RunValue::Json))
    }

    fn keys(&mut self, map: &RunValue) -> Vec<String> {
        map.entries().map(|e| e.map(|(k, _)| k.to_string()).collect()).unwrap_or_default()
    }

    fn constant(&mut self, c: ConstId) -> RunValue {
        RunValue::Json(match &self.plan.consts[c as usize] {
            Const::Json(v) => v.clone(),
            Const::Int(_) | Const::Host(_) => Value::Null, // refused at build time
        })
    }

    fn none(&mut self) -> RunValue {
        RunValue::Json(Value::Null)
    }

    fn is_none(&self, v: &RunValue) -> bool {
        v.is_null()
    }

    fn truthy(&self, v: &RunValue) -> Result<bool, String> {
        Ok(match v {
            RunValue::Json(v) => truthy(v),
            RunValue::Outputs(out) => !out.is_empty(),
        })
    }

    fn transform(
        &mut self,
        t: &TransformPlan,
        value: RunValue,
        args: Vec<RunValue>,
        _kw: Vec<(&str, RunValue)>,
    ) -> Result<RunValue, String> {
        apply_json(t.kind, value.into_json(), &json_args(args)).map(RunValue::Json)
    }

    fn copy(&mut self, v: &RunValue) -> RunValue {
        v.clone()
    }

    fn keeps_last(&self) -> bool {
        false // nothing reads them in the Rust API, and a copy is a deep clone
    }

    #[inline]
    fn plain_outputs(&mut self, v: &RunValue) -> bool {
        v.is_untagged_mapping()
    }

    fn forward_whole(&mut self, forward: &Forward, out: RunValue) -> Result<RunValue, RunValue> {
        let whole = match (forward, out.entries()) {
            (Forward::Nothing, _) | (_, None) => false,
            // `update(.., public)` copies every entry but those starting with `$`, in order
            (Forward::All, Some(mut keys)) => !keys.any(|(k, _)| k.starts_with('$')),
            // every output, in order, under its own name
            (Forward::Mapped(pairs), Some(mut keys)) => {
                let plan = self.plan;
                pairs.iter().all(|&(from, to)| keys.next().is_some_and(|(k, _)| from == to && plan.var(from) == k))
                    && keys.next().is_none()
            }
        };
        if whole {
            // a frame's data is a JSON object
            Ok(RunValue::Json(out.into_json()))
        } else {
            Err(out)
        }
    }

    fn map(&mut self) -> RunValue {
        RunValue::Json(Value::Object(Map::new()))
    }

    fn list(&mut self, items: Vec<RunValue>) -> Result<RunValue, String> {
        Ok(RunValue::Json(Value::Array(json_args(items))))
    }

    fn push(&mut self, list: &mut RunValue, v: RunValue) -> Result<(), String> {
        let RunValue::Json(Value::Array(items)) = list else { return Err("expected an array".into()) };
        items.push(v.into_json());
        Ok(())
    }

    fn set(&mut self, map: &mut RunValue, var: VarId, v: RunValue) -> Result<(), String> {
        object(map)?.insert(Cow::Borrowed(self.plan.var(var)), v.into_json())
    }

    fn set_known(&mut self, map: &mut RunValue, key: Key, v: RunValue) -> Result<(), String> {
        object(map)?.insert(Cow::Borrowed(key.name()), v.into_json())
    }

    fn update(&mut self, into: &mut RunValue, from: &RunValue, public: bool) -> Result<(), String> {
        let Some(entries) = from.entries() else { return Ok(()) };
        let into = object(into)?;
        for (k, v) in entries {
            if !(public && k.starts_with('$')) {
                into.insert(Cow::Borrowed(k), v.clone())?;
            }
        }
        Ok(())
    }

    fn items(&mut self, map: &RunValue) -> Result<Entries<Json>, String> {
        let entries = map.entries().ok_or("expected an object")?;
        Ok(entries.map(|(k, v)| (RunValue::Json(Value::String(k.to_string())), RunValue::Json(v.clone()))).collect())
    }

    fn copy_map(&mut self, map: &RunValue) -> Result<RunValue, String> {
        if map.is_mapping() {
            Ok(map.clone())
        } else {
            Err("expected an object".into())
        }
    }

    fn get_key(&mut self, map: &RunValue, key: &RunValue) -> Result<Option<RunValue>, String> {
        let RunValue::Json(Value::String(key)) = key else { return Ok(None) };
        Ok(map.get(key).cloned().map(RunValue::Json))
    }

    fn set_key(&mut self, map: &mut RunValue, key: RunValue, v: RunValue) -> Result<(), String> {
        let RunValue::Json(Value::String(key)) = key else { return Err("keys are strings".into()) };
        object(map)?.insert(Cow::Owned(key), v.into_json())
    }

    fn same(&mut self, a: &RunValue, b: &RunValue) -> bool {
        match (a, b) {
            (RunValue::Json(a), RunValue::Json(b)) => a == b,
            _ => a.as_json() == b.as_json(),
        }
    }

    fn outputs(&mut self, v: RunValue) -> Result<RunValue, String> {
        match v {
            RunValue::Json(Value::Null) => Ok(RunValue::Outputs(Outputs::new())),
            RunValue::Json(Value::Object(_)) | RunValue::Outputs(_) => Ok(v),
            RunValue::Json(other) => {
                Err(json_type(&other).trim_start_matches("a ").trim_start_matches("an ").to_string())
            }
        }
    }

    fn iterate(&mut self, v: &RunValue) -> Result<Vec<RunValue>, String> {
        match v {
            RunValue::Json(Value::Array(items)) => Ok(items.iter().cloned().map(RunValue::Json).collect()),
            other => Err(format!("{} is not a list", json_type(&other.as_json()))),
        }
    }

    fn record(&mut self, op: OpId, args: &[RunValue]) -> Result<RunValue, String> {
        let inputs = &self.plan.ops[op as usize].inputs;
        let map = inputs.iter().map(|i| i.name.clone()).zip(args.iter().map(|a| a.as_json().into_owned())).collect();
        Ok(RunValue::Json(Value::Object(map)))
    }

    fn op_name(&mut self, op: OpId) -> RunValue {
        RunValue::Json(Value::String(self.plan.ops[op as usize].name.clone()))
    }

    fn text(&mut self, s: &str) -> RunValue {
        RunValue::Json(Value::String(s.to_string()))
    }

    fn json_value(&mut self, v: &Value) -> Result<RunValue, String> {
        Ok(RunValue::Json(v.clone()))
    }

    fn to_json(&mut self, v: &RunValue) -> Option<Value> {
        Some(v.as_json().into_owned())
    }

    fn text_of(&mut self, v: &RunValue) -> Option<String> {
        match v {
            RunValue::Json(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn until_callable(&mut self, _c: ConstId, _vars: &RunValue) -> Result<bool, (String, String)> {
        Err(("callable".into(), "a callable until cannot run in the Rust API".into()))
        // refused at build time
    }

    fn write_json(&mut self, v: &RunValue, out: &mut Vec<u8>) -> bool {
        serde_json::to_writer(out, &*v.as_json()).is_ok()
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

    fn wake(&mut self, waker: JsonWaker, value: Option<RunValue>) -> Result<(), String> {
        waker.fire(value.map(RunValue::into_json));
        Ok(())
    }

    fn gone(&mut self, waker: &JsonWaker) -> bool {
        Signal::is_abandoned(waker)
    }
}
