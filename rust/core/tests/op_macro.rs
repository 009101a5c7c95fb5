//! `#[op]` and `OperonBuilder::auto_register`: every accepted signature, sync and async, found
//! under its bare, qualified and full names; a name given to the builder wins; a bare name two
//! functions share is refused naming both, while their qualified names work.
//! (Two `#[op]` functions with one full name: tests/op_macro_duplicate.rs, its own binary.)

use std::future::Future;
use std::task::{Context, Poll, Waker};

use operonx::ops::{Implementation, Inputs, Items, Outputs};
use operonx::{op, OpEntry, OpError, OpKind, Operon, OperonError};
use serde::Serialize;
use serde_json::{json, Map, Value};

#[op]
fn add(a: i64, b: i64) -> Value {
    json!({"sum": a + b})
}

/// The published crate's untyped form.
#[op]
fn legacy_double(inputs: &Value) -> Value {
    json!({"y": inputs["x"].as_i64().unwrap_or(0) * 2})
}

#[op(name = "shout")]
fn make_loud(text: String) -> Result<Value, String> {
    if text.is_empty() {
        return Err("nothing to shout".into());
    }
    Ok(json!({"text": text.to_uppercase()}))
}

/// The form of `OperonBuilder::op`.
#[op]
fn whole(inputs: Map<String, Value>) -> Result<Value, OperonError> {
    Ok(json!({"keys": inputs.keys().cloned().collect::<Vec<_>>()}))
}

/// The fast path of `OperonBuilder::op_ref`.
#[op]
fn fast(inputs: &Inputs) -> Result<Outputs, String> {
    let x = inputs.get("x").and_then(Value::as_i64).ok_or("x must be an int")?;
    Ok(Outputs::from_iter([("y".to_string(), json!(x + 1))]))
}

#[op(generator)]
fn count(n: u32) -> Vec<Value> {
    (0..n).map(|i| json!({"i": i})).collect()
}

#[op(generator, name = "count_ref")]
fn count_borrowed(inputs: &Inputs) -> Result<Items, String> {
    let n = inputs.get("n").and_then(Value::as_i64).ok_or("n must be an int")?;
    Ok(Box::new((0..n).map(|i| Ok(Outputs::from_iter([("i".to_string(), json!(i))])))))
}

#[op]
fn refuse(x: i64) -> Result<Value, OperonError> {
    Err(OpError::Code(format!("refused {x}")).into())
}

#[op]
fn greet(name: Option<String>) -> Value {
    json!({"greeting": format!("hello {}", name.as_deref().unwrap_or("nobody"))})
}

#[op]
fn nothing() {}

#[op]
fn scalar(x: i64) -> i64 {
    x
}

#[op]
fn boom(x: i64) -> Value {
    panic!("boom at {x}")
}

#[derive(Serialize)]
struct Stats {
    total: f64,
    count: usize,
}

#[op]
fn stats(xs: Vec<f64>) -> Stats {
    Stats { total: xs.iter().sum(), count: xs.len() }
}

#[op]
async fn slow_add(a: i64, b: i64) -> Result<Value, OperonError> {
    Ok(json!({"sum": a + b}))
}

#[op]
async fn async_whole(inputs: Map<String, Value>) -> Result<Value, OperonError> {
    Ok(Value::Object(inputs))
}

#[op]
async fn async_legacy(inputs: &Value) -> Value {
    json!({"y": inputs["x"].clone()})
}

#[op]
async fn async_typed_fails(x: i64) -> Result<Value, std::io::Error> {
    Err(std::io::Error::other(format!("io failed at {x}")))
}

mod math {
    use operonx::op;
    use serde_json::{json, Value};

    #[op]
    pub fn double(x: i64) -> Value {
        json!({"y": x * 2})
    }
}

mod physics {
    use operonx::op;
    use serde_json::{json, Value};

    #[op]
    pub fn double(x: i64) -> Value {
        json!({"y": x * 20})
    }
}

/// A graph `g` of one op `o` calling `func`, with each input read from the graph input of its name.
fn one_op(func: &str, inputs: &[&str], generator: bool) -> String {
    let inputs: Map<String, Value> =
        inputs.iter().map(|k| (k.to_string(), json!({"required": false, "ref": {"source": "g", "var": k}}))).collect();
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"o": {"type": "code", "func_name": func, "is_generator": generator, "inputs": inputs}},
        "edges": [], "entries": ["o"], "exits": ["o"]
    })
    .to_string()
}

fn run(func: &str, inputs: &[&str], given: Value) -> Result<Map<String, Value>, OperonError> {
    let engine = Operon::builder(one_op(func, inputs, false)).auto_register().build()?;
    Ok(engine.run(given)?.outputs)
}

fn problems(err: &OperonError) -> Vec<(&'static str, String)> {
    match err {
        OperonError::Invalid { problems, .. } => problems.iter().map(|p| (p.category, p.message.clone())).collect(),
        other => panic!("expected a validation error, got {other}"),
    }
}

#[test]
fn typed_parameters_are_the_inputs_by_name() {
    let out = run("add", &["a", "b"], json!({"a": 2, "b": 40})).unwrap();
    assert_eq!(out["sum"], json!(42));
    // the function itself is unchanged
    assert_eq!(add(1, 1), json!({"sum": 2}));
}

#[test]
fn the_published_untyped_form_gets_every_input_as_one_object() {
    assert_eq!(run("legacy_double", &["x"], json!({"x": 21})).unwrap()["y"], json!(42));
}

#[test]
fn the_map_and_borrowed_forms_run() {
    assert_eq!(run("whole", &["p", "q"], json!({"p": 1, "q": 2})).unwrap()["keys"], json!(["p", "q"]));
    assert_eq!(run("fast", &["x"], json!({"x": 1})).unwrap()["y"], json!(2));
}

#[test]
fn a_custom_name_replaces_the_function_name() {
    assert_eq!(run("shout", &["text"], json!({"text": "hi"})).unwrap()["text"], json!("HI"));
    let err = run("make_loud", &["text"], json!({"text": "hi"})).unwrap_err();
    assert_eq!(problems(&err)[0].0, "unknown_op", "{err}");
}

#[test]
fn an_err_fails_the_op_keeping_an_operon_error_and_the_message_of_any_other() {
    let err = run("refuse", &["x"], json!({"x": 7})).unwrap_err();
    assert!(matches!(&err, OperonError::OpFailed { op, message, .. } if op == "g.o" && message.contains("[CODE] refused 7")), "{err}");
    let err = run("shout", &["text"], json!({"text": ""})).unwrap_err();
    assert!(matches!(&err, OperonError::OpFailed { message, .. } if message.contains("nothing to shout")), "{err}");
}

#[test]
fn an_input_of_the_wrong_type_fails_naming_the_function_and_the_input() {
    let err = run("add", &["a", "b"], json!({"a": "two", "b": 1})).unwrap_err();
    assert!(matches!(&err, OperonError::OpFailed { op, message, .. }
        if op == "g.o" && message.contains("'add'") && message.contains("input 'a'")), "{err}");
    let err = run("add", &["a", "b"], json!({"b": 1})).unwrap_err().to_string();
    assert!(err.contains("input 'a' has no value"), "{err}");
}

#[test]
fn an_option_parameter_is_none_when_the_input_is_absent() {
    assert_eq!(run("greet", &["name"], json!({})).unwrap()["greeting"], json!("hello nobody"));
    assert_eq!(run("greet", &["name"], json!({"name": "ada"})).unwrap()["greeting"], json!("hello ada"));
}

#[test]
fn returns_a_struct_nothing_or_a_non_mapping() {
    let out = run("stats", &["xs"], json!({"xs": [1.0, 2.5]})).unwrap();
    assert_eq!((out["total"].clone(), out["count"].clone()), (json!(3.5), json!(2)));
    assert!(run("nothing", &[], json!({})).unwrap().is_empty());
    let err = run("scalar", &["x"], json!({"x": 3})).unwrap_err().to_string();
    assert!(err.contains("of type number"), "{err}");
}

#[test]
fn a_panic_fails_the_op() {
    let err = run("boom", &["x"], json!({"x": 3})).unwrap_err();
    assert!(matches!(&err, OperonError::OpFailed { message, .. } if message.contains("boom at 3")), "{err}");
}

#[test]
fn generators_stream_their_items() {
    for func in ["count", "count_ref"] {
        let engine = Operon::builder(one_op(func, &["n"], true)).auto_register().build().unwrap();
        let out = engine.run(json!({"n": 3})).unwrap();
        assert_eq!(out.outputs["i"], json!([0, 1, 2]), "{func}");
        assert_eq!(out.frames.len(), 3, "{func}");
    }
}

#[test]
fn a_generator_and_a_plain_op_are_not_interchangeable() {
    let err = Operon::builder(one_op("count", &["n"], false)).auto_register().build().expect_err("a build error");
    assert_eq!(problems(&err)[0].0, "invalid", "{err}");
    let err = Operon::builder(one_op("add", &["a"], true)).auto_register().build().expect_err("a build error");
    assert_eq!(problems(&err)[0].0, "invalid", "{err}");
}

#[test]
fn qualified_names_find_functions_of_modules() {
    assert_eq!(run("math::double", &["x"], json!({"x": 2})).unwrap()["y"], json!(4));
    assert_eq!(run("op_macro::math::double", &["x"], json!({"x": 2})).unwrap()["y"], json!(4));
    assert_eq!(run("physics::double", &["x"], json!({"x": 2})).unwrap()["y"], json!(40));
    // a crate-root function: its bare name and its full name
    assert_eq!(run("op_macro::add", &["a", "b"], json!({"a": 1, "b": 1})).unwrap()["sum"], json!(2));
}

#[test]
fn a_bare_name_of_two_functions_is_refused_naming_both() {
    let err = Operon::builder(one_op("double", &["x"], false)).auto_register().build().expect_err("a build error");
    let found = problems(&err);
    assert_eq!(found.len(), 1, "{err}");
    let (category, message) = &found[0];
    assert_eq!(*category, "ambiguous_op");
    for needle in ["'double'", "'op_macro::math::double' (", "'op_macro::physics::double' (", "op_macro.rs:"] {
        assert!(message.contains(needle), "{needle} not in {message}");
    }
}

#[test]
fn the_builder_wins_over_op_functions() {
    let engine = Operon::builder(one_op("double", &["x"], false))
        .op("double", |m: Map<String, Value>| Ok(json!({"y": m["x"].as_i64().unwrap_or(0) * 3})))
        .auto_register()
        .build()
        .unwrap();
    assert_eq!(engine.run(json!({"x": 2})).unwrap().outputs["y"], json!(6));
    let engine = Operon::builder(one_op("add", &["a", "b"], false))
        .auto_register()
        .op("add", |_m: Map<String, Value>| Ok(json!({"sum": "explicit"})))
        .build()
        .unwrap();
    assert_eq!(engine.run(json!({"a": 1, "b": 1})).unwrap().outputs["sum"], json!("explicit"));
}

#[test]
fn without_auto_register_op_functions_are_not_bound_and_the_error_says_so() {
    let err = Operon::builder(one_op("add", &["a", "b"], false)).build().expect_err("a build error");
    let (category, message) = &problems(&err)[0];
    assert_eq!(*category, "unknown_op");
    assert!(message.contains("'op_macro::add'") && message.contains("auto_register()"), "{message}");
}

#[test]
fn an_op_function_defined_in_a_function_body_is_registered() {
    #[op]
    fn local_triple(x: i64) -> Value {
        json!({"y": x * 3})
    }
    assert_eq!(run("local_triple", &["x"], json!({"x": 2})).unwrap()["y"], json!(6));
}

#[test]
fn entries_record_their_names_kind_and_place() {
    let entry = |module: &str, name: &str| -> &'static OpEntry {
        operonx::inventory::iter::<OpEntry>
            .into_iter()
            .find(|e| e.module_path == module && e.name == name)
            .unwrap_or_else(|| panic!("no entry {module}::{name}"))
    };
    let double = entry("op_macro::math", "double");
    assert_eq!(double.qualified_name(), "math::double");
    assert_eq!(double.full_name(), "op_macro::math::double");
    assert!(double.location().unwrap().contains("op_macro.rs:"), "{double:?}");
    assert_eq!(entry("op_macro", "add").qualified_name(), "add");
    assert_eq!(entry("op_macro", "count").kind, OpKind::Generator);
    assert!(entry("op_macro", "slow_add").is_async() && !entry("op_macro", "add").is_async());
}

/// Runs a future that never waits (the async ops of these tests) to its end.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the op waited"),
    }
}

/// Calls the async `#[op]` function `name` of this crate's root with `inputs`.
fn call_async(name: &str, inputs: Value) -> Result<Value, OperonError> {
    let entry = operonx::inventory::iter::<OpEntry>.into_iter().find(|e| e.module_path == "op_macro" && e.name == name);
    let Some(Implementation::Async(f)) = entry.map(OpEntry::implementation) else { panic!("{name} is not async") };
    let Value::Object(inputs) = inputs else { panic!("inputs must be an object") };
    ready(f.call(inputs))
}

#[test]
fn async_functions_are_async_ops() {
    assert_eq!(call_async("slow_add", json!({"a": 1, "b": 2})).unwrap(), json!({"sum": 3}));
    assert_eq!(call_async("async_whole", json!({"k": 1})).unwrap(), json!({"k": 1}));
    assert_eq!(call_async("async_legacy", json!({"x": 5})).unwrap(), json!({"y": 5}));
    let err = call_async("async_typed_fails", json!({"x": 5})).unwrap_err();
    assert!(matches!(&err, OperonError::Runtime(m) if m == "io failed at 5"), "{err}");
    let err = call_async("slow_add", json!({"a": "one", "b": 2})).unwrap_err().to_string();
    assert!(err.contains("'slow_add'") && err.contains("input 'a'"), "{err}");
}

#[test]
fn async_op_functions_bind_and_the_blocking_run_refuses_them() {
    let engine = Operon::builder(one_op("slow_add", &["a", "b"], false)).auto_register().build().unwrap();
    let err = engine.run(json!({"a": 1, "b": 2})).unwrap_err();
    assert!(matches!(&err, OperonError::Usage(m) if m.contains("run_json_async")), "{err}");
}
