//! The fast path's outputs (`Outputs`, kept by the run as the op returned them): a graph of
//! `.op_ref` ops gives the frames and result its twin of `.op` ops (JSON objects) gives, through
//! the inline and the tokio drivers, with outputs read by other ops, forwarded to frames, tagged,
//! named twice, empty, and yielded by a generator.

use std::time::Duration;

use operonx::ops::{Inputs, Items, Outputs};
use operonx::{Operon, OperonError};
use serde_json::{json, Map, Value};

/// `a` (x -> x + 1, a text, a tag; `x` given twice) → `b` (reads both) → `c` (no outputs), and
/// `gen` (n items) → `each` (per item); exits `a`, `b`, `c`, `each`.
fn document() -> String {
    let r = |source: &str, var: &str| json!({"required": true, "ref": {"source": source, "var": var}});
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {
            "a": {"type": "code", "func_name": "a", "inputs": {"x": r("g", "x")}},
            "b": {"type": "code", "func_name": "b", "inputs": {"x": r("g.a", "x"), "s": r("g.a", "s")}},
            "c": {"type": "code", "func_name": "c", "inputs": {"y": r("g.b", "y")}},
            "gen": {"type": "code", "func_name": "gen", "is_generator": true, "inputs": {"n": r("g", "n")}},
            "each": {"type": "code", "func_name": "each", "inputs": {"i": r("g.gen", "i")}}
        },
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "gen", "to": "each"}],
        "entries": ["a", "gen"], "exits": ["a", "b", "c", "each"]
    })
    .to_string()
}

fn int(v: Option<&Value>) -> Result<i64, String> {
    v.and_then(Value::as_i64).ok_or_else(|| "not an integer".to_string())
}

fn fast() -> Operon {
    Operon::builder(document())
        .op_ref("a", |i: &Inputs| {
            let x = int(i.get("x"))?;
            Ok(Outputs::one("x", 0).with("s", "t").with("$tags", json!(["k"])).with("x", x + 1))
        })
        .op_ref("b", |i: &Inputs| {
            let (x, s) = (int(i.get("x"))?, i.get("s").and_then(Value::as_str).unwrap_or("?"));
            Ok(Outputs::from_iter([("y".to_string(), json!(format!("{s}{x}")))]))
        })
        .op_ref("c", |_: &Inputs| Ok(Outputs::new()))
        .gen("gen", |i: &Inputs| {
            let n = int(i.get("n"))?;
            let items: Items = Box::new((0..n).map(|k| Ok(Outputs::one("i", k))));
            Ok(items)
        })
        .op_ref("each", |i: &Inputs| Ok(Outputs::one("sq", int(i.get("i"))?.pow(2))))
        .build()
        .expect("the graph builds")
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn published() -> Operon {
    fn int_of(m: &Map<String, Value>, k: &str) -> Result<i64, OperonError> {
        m.get(k).and_then(Value::as_i64).ok_or_else(|| OperonError::Runtime(format!("{k} is not an integer")))
    }
    Operon::builder(document())
        .op("a", |m: Map<String, Value>| Ok(json!({"x": int_of(&m, "x")? + 1, "s": "t", "$tags": ["k"]})))
        .op("b", |m: Map<String, Value>| Ok(json!({"y": format!("{}{}", m["s"].as_str().unwrap_or("?"), int_of(&m, "x")?)})))
        .op("c", |_: Map<String, Value>| Ok(Value::Null))
        .gen("gen", |i: &Inputs| {
            let n = int(i.get("n"))?;
            let items: Items =
                Box::new((0..n).map(|k| Ok(Outputs::from(object(json!({"i": k}))))));
            Ok(items)
        })
        .op("each", |m: Map<String, Value>| Ok(json!({"sq": int_of(&m, "i")?.pow(2)})))
        .build()
        .expect("the graph builds")
}

#[test]
fn fast_outputs_give_the_frames_and_result_of_json_objects_inline() {
    let inputs = json!({"x": 1, "n": 3});
    let fast = fast().run(inputs.clone()).expect("the fast run");
    let published = published().run(inputs).expect("the published run");
    assert_eq!(fast.frames, published.frames);
    assert_eq!(fast.outputs, published.outputs);
    assert_eq!(Value::Object(fast.outputs.clone()), json!({"x": 2, "s": "t", "y": "t2", "sq": [0, 1, 4]}));
    // "x" given twice keeps its first place and its last value; `$` keys are not forwarded
    let a = fast.frames.iter().find(|f| f.op == "a").expect("a's frame");
    assert_eq!(Value::Object(a.data.clone()).to_string(), r#"{"x":2,"s":"t"}"#);
}

#[test]
fn fast_outputs_give_the_frames_and_result_of_json_objects_on_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    rt.block_on(async {
        let inputs = Map::from_iter([("x".to_string(), json!(5)), ("n".to_string(), json!(2))]);
        let (fast, published) = (fast(), published());
        let limit = Duration::from_secs(10);
        let a = tokio::time::timeout(limit, fast.run_json_async(inputs.clone(), None, None, None)).await.expect("no hang");
        let b = tokio::time::timeout(limit, published.run_json_async(inputs, None, None, None)).await.expect("no hang");
        assert_eq!(a.expect("the fast run"), b.expect("the published run"));
    });
}

#[test]
fn outputs_that_are_not_a_mapping_still_fail_the_op_by_name() {
    let doc = json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"a": {"type": "code", "func_name": "a", "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}}},
        "edges": [], "entries": ["a"], "exits": ["a"]});
    let engine = Operon::builder(doc.to_string()).op("a", |_: Map<String, Value>| Ok(json!([1]))).build().unwrap();
    let message = engine.run(json!({"x": 1})).expect_err("a list is not outputs").to_string();
    assert!(message.contains("'g.a'") && message.contains("type array"), "{message}");
}
