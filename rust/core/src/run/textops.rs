//! The built-in text ops run by the semantics layer: a parser op's fields from its `text` (a failure
//! is its `error` output, never the op's), a prompt op's `messages` from its template and inputs.
//! Values cross as JSON ([`Runtime::to_json`], [`Runtime::json_value`]).

use serde_json::{Map, Value};

use crate::plan::Builtin;
use crate::textops::parser::ParserSpec;
use crate::textops::prompt::PromptSpec;

use super::{Model, OpFailure, Run, Runtime};

impl<M: Model> Run<M> {
    /// The outputs of text op `builtin` given its inputs by name (`record`); `None` for any other
    /// built-in op.
    pub(super) fn text_outputs<R: Runtime<M>>(
        &self,
        rt: &mut R,
        builtin: &Builtin,
        record: &M::Value,
    ) -> Option<Result<M::Value, OpFailure<M::Error>>> {
        let out = match builtin {
            Builtin::Parser(spec) => parse(rt, spec, record),
            Builtin::Prompt(spec) => prompt(rt, spec, record),
            _ => return None,
        };
        Some(out.and_then(|v| rt.json_value(&v).map_err(OpFailure::Raised)))
    }
}

/// Input `key` of `record` as JSON: null when absent or none; `{}` when it is not JSON (reported
/// by the op as a value of the wrong type).
fn input<M: Model, R: Runtime<M>>(rt: &mut R, record: &M::Value, key: &str) -> Result<Value, OpFailure<M::Error>> {
    let Some(v) = rt.get_str(record, key).map_err(OpFailure::Raised)? else {
        return Ok(Value::Null);
    };
    if let Some(s) = rt.text_of(&v) {
        return Ok(Value::String(s));
    }
    Ok(rt.to_json(&v).unwrap_or_else(|| Value::Object(Map::new())))
}

fn parse<M: Model, R: Runtime<M>>(
    rt: &mut R,
    spec: &ParserSpec,
    record: &M::Value,
) -> Result<Value, OpFailure<M::Error>> {
    let text = input(rt, record, "text")?;
    let validators = input(rt, record, "validators")?;
    Ok(Value::Object(spec.run(&text, &validators)))
}

fn prompt<M: Model, R: Runtime<M>>(
    rt: &mut R,
    spec: &PromptSpec,
    record: &M::Value,
) -> Result<Value, OpFailure<M::Error>> {
    let mut vars = Map::new();
    for name in spec.variables() {
        let Some(v) = rt.get_str(record, name).map_err(OpFailure::Raised)? else { continue };
        let value = match rt.text_of(&v) {
            Some(s) => Value::String(s),
            None => rt.to_json(&v).ok_or_else(|| {
                OpFailure::BadReturn(format!("the prompt's input '{name}' is not text nor a JSON value"))
            })?,
        };
        vars.insert(name.to_string(), value);
    }
    match spec.render(&vars) {
        Ok(messages) => Ok(Value::Object(Map::from_iter([("messages".to_string(), messages)]))),
        Err(missing) => Err(OpFailure::Missing(missing, None)),
    }
}
