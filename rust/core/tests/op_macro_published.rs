//! Ops written the way the published crate's `#[op]` documentation and tests write them compile
//! against this crate unchanged and run: the untyped `&Value` form, typed parameters with
//! `#[model]` types, `#[op(generator)]`, `#[op(name = ...)]`, and entries submitted by hand
//! with `OpEntry::new_op` / `new_gen`.

use operonx::{model, op, OpEntry, OpKind, Operon, OperonError};
use serde_json::{json, Map, Value};

#[model]
struct Conversation {
    vads: Vec<i32>,
}

#[op]
fn double(inputs: &serde_json::Value) -> serde_json::Value {
    let x = inputs["x"].as_i64().unwrap();
    serde_json::json!({"result": x * 2})
}

#[op]
fn classify(conversation: Conversation, threshold: f64) -> Conversation {
    Conversation { vads: conversation.vads.into_iter().filter(|v| f64::from(*v) > threshold).collect() }
}

#[op(generator)]
fn each_item(inputs: &serde_json::Value) -> serde_json::Value {
    let items = inputs["items"].as_array().unwrap();
    serde_json::Value::Array(items.iter().map(|i| serde_json::json!({"value": i})).collect())
}

#[op(name = "echo")]
fn echo(msg: Value) -> Value {
    serde_json::json!({ "output": msg })
}

#[op(name = "sum_list")]
fn sum_list(xs: Vec<i64>) -> Value {
    serde_json::json!({ "total": xs.iter().sum::<i64>() })
}

#[op]
fn tts(text: String) -> Map<String, Value> {
    Map::from_iter([("audio".into(), Value::String(format!("<{text}>")))])
}

fn triple(inputs: &Value) -> Value {
    json!({"result": inputs["x"].as_i64().unwrap_or(0) * 3})
}
operonx::inventory::submit! { OpEntry::new_op("triple", module_path!(), triple) }

fn pair(inputs: &Value) -> Value {
    json!([{"v": inputs["x"].clone()}, {"v": inputs["x"].clone()}])
}
operonx::inventory::submit! { OpEntry::new_gen("pair", module_path!(), pair) }

fn input(source: &str, var: &str) -> Value {
    json!({"required": true, "ref": {"source": source, "var": var}})
}

/// One op `o` calling `func`, reading graph inputs `vars`.
fn run_one(func: &str, vars: &[&str], generator: bool, given: Value) -> Result<Map<String, Value>, OperonError> {
    let inputs: Map<String, Value> = vars.iter().map(|v| (v.to_string(), input("g", v))).collect();
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"o": {"type": "code", "func_name": func, "is_generator": generator, "inputs": inputs}},
        "edges": [], "entries": ["o"], "exits": ["o"]
    });
    Ok(Operon::builder(doc.to_string()).auto_register().build()?.run(given)?.outputs)
}

#[test]
fn untyped_and_typed_ops_run() {
    assert_eq!(run_one("double", &["x"], false, json!({"x": 4})).unwrap()["result"], json!(8));
    let out = run_one("classify", &["conversation", "threshold"], false, json!({"conversation": {"vads": [1, 5, 9]}, "threshold": 4}));
    assert_eq!(out.unwrap()["vads"], json!([5, 9]));
    assert_eq!(run_one("echo", &["msg"], false, json!({"msg": {"a": 1}})).unwrap()["output"], json!({"a": 1}));
    assert_eq!(run_one("sum_list", &["xs"], false, json!({"xs": [1, 2, 3]})).unwrap()["total"], json!(6));
    assert_eq!(run_one("tts", &["text"], false, json!({"text": "hi"})).unwrap()["audio"], json!("<hi>"));
    assert_eq!(run_one("triple", &["x"], false, json!({"x": 2})).unwrap()["result"], json!(6));
}

#[test]
fn generators_feed_their_consumers_item_by_item() {
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {
            "each_item": {"type": "code", "func_name": "each_item", "is_generator": true,
                          "inputs": {"items": input("g", "items")}},
            "echo": {"type": "code", "func_name": "echo", "inputs": {"msg": input("g.each_item", "value")}}
        },
        "edges": [{"from": "each_item", "to": "echo"}], "entries": ["each_item"], "exits": ["echo"]
    });
    let engine = Operon::builder(doc.to_string()).auto_register().build().unwrap();
    let out = engine.run(json!({"items": ["a", "b"]})).unwrap();
    assert_eq!(out.outputs["output"], json!(["a", "b"]));
    assert_eq!(run_one("pair", &["x"], true, json!({"x": 7})).unwrap()["v"], json!([7, 7]));
}

#[test]
fn entries_read_as_in_the_published_crate() {
    let find = |name: &str| operonx::inventory::iter::<OpEntry>.into_iter().find(|e| e.name == name).unwrap();
    assert_eq!(find("each_item").kind, OpKind::Generator);
    assert_eq!(find("double").kind, OpKind::Regular);
    assert_eq!(find("echo").module_path, "op_macro_published");
    assert_eq!(find("echo").qualified_name(), "echo");
    assert_eq!(find("pair").kind, OpKind::Generator);
    // the function stays callable; #[model] derived Clone and Debug
    let c = Conversation { vads: vec![1] };
    assert_eq!(format!("{:?}", classify(c.clone(), 0.0)), "Conversation { vads: [1] }");
}
