//! The builder's op forms: the published crate's `.op` (inputs by value), `.op_ref` (borrowed
//! inputs), `.op_async` (refused by the blocking `run`).

use operonx::{OpError, Operon, OperonError};
use serde_json::{json, Map, Value};

fn chain() -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {
            "a": {"type": "code", "func_name": "inc",
                  "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}},
            "b": {"type": "code", "func_name": "inc",
                  "inputs": {"x": {"required": true, "ref": {"source": "g.a", "var": "x"}}}}
        },
        "edges": [{"from": "a", "to": "b"}], "entries": ["a"], "exits": ["b"]
    })
    .to_string()
}

fn inc(m: Map<String, Value>) -> Result<Value, OperonError> {
    let x = m.get("x").and_then(Value::as_i64).ok_or_else(|| OperonError::Runtime("x must be an int".into()))?;
    Ok(json!({ "x": x + 1 }))
}

#[test]
fn op_takes_inputs_by_value() {
    let engine = Operon::builder(chain()).op("inc", inc).build().unwrap();
    assert_eq!(engine.run(json!({"x": 1})).unwrap().outputs["x"], json!(3));
}

#[test]
fn an_op_error_names_the_op_and_keeps_its_words() {
    let engine = Operon::builder(chain())
        .op("inc", |_m: Map<String, Value>| -> Result<Value, OperonError> { Err(OpError::Code("bad".into()).into()) })
        .build()
        .unwrap();
    let err = engine.run(json!({"x": 1})).unwrap_err();
    assert!(matches!(&err, OperonError::OpFailed { op, message, .. } if op == "g.a" && message.contains("[CODE] bad")), "{err}");
}

#[test]
fn an_op_returning_a_non_object_fails_naming_its_type() {
    let engine = Operon::builder(chain()).op("inc", |_m: Map<String, Value>| Ok(json!(3))).build().unwrap();
    let err = engine.run(json!({"x": 1})).unwrap_err().to_string();
    assert!(err.contains("'g.a'") && err.contains("of type number"), "{err}");
}

#[test]
fn blocking_run_refuses_async_ops() {
    let engine = Operon::builder(chain())
        .op_async("inc", |m: Map<String, Value>| async move { inc(m) })
        .build()
        .unwrap();
    let err = engine.run(json!({"x": 1})).unwrap_err();
    assert!(matches!(&err, OperonError::Usage(m) if m.contains("run_json_async")), "{err}");
}
