//! `#[op]` functions on the tokio driver: an `async fn` registered by the attribute runs through
//! `run_json_async`, `run_json` and a streaming handle, next to a sync one.
#![cfg(feature = "tokio")]

use std::time::Duration;

use futures::StreamExt;
use operonx::{op, Operon, OperonError};
use serde_json::{json, Map, Value};

#[op]
async fn fetch_double(x: i64) -> Result<Value, OperonError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(json!({"y": x * 2}))
}

#[op]
fn plus_one(y: i64) -> Value {
    json!({"z": y + 1})
}

/// `fetch_double` (async) → `plus_one` (sync), both exits.
fn doc() -> String {
    json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"a": {"type": "code", "func_name": "fetch_double", "is_async": true,
                      "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}},
                "b": {"type": "code", "func_name": "plus_one",
                      "inputs": {"y": {"required": true, "ref": {"source": "g.a", "var": "y"}}}}},
        "edges": [{"from": "a", "to": "b"}], "entries": ["a"], "exits": ["a", "b"]})
    .to_string()
}

fn inputs() -> Map<String, Value> {
    Map::from_iter([("x".to_string(), json!(20))])
}

#[tokio::test]
async fn an_async_op_function_runs_through_run_json_async_and_a_handle() {
    let engine = Operon::builder(doc()).auto_register().build().unwrap();
    let within = |f| tokio::time::timeout(Duration::from_secs(10), f);
    let out = within(engine.run_json_async(inputs(), None, None, None)).await.expect("in time").unwrap();
    assert_eq!(out, json!({"y": 40, "z": 41}));
    let mut handle = engine.start(inputs(), None, None, None, None).unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), handle.next()).await.expect("in time");
    assert_eq!(first.unwrap().unwrap().data["y"], json!(40));
}

#[test]
fn an_async_op_function_runs_through_run_json() {
    let engine = Operon::builder(doc()).auto_register().build().unwrap();
    assert_eq!(engine.run_json(inputs(), None, None, None).unwrap(), json!({"y": 40, "z": 41}));
}
