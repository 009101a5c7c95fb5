//! Two `#[op]` functions with one full name (same module, same name) are a `build()` error naming
//! both definitions, whenever `#[op]` functions are registered; never a panic. A binary of its own:
//! registration is per program.

use operonx::{op, Operon, OperonError};
use serde_json::{json, Value};

#[op(name = "same")]
fn first(x: i64) -> Value {
    json!({"y": x})
}

#[op(name = "same")]
fn second(x: i64) -> Value {
    json!({"y": -x})
}

fn one_helper() -> Value {
    #[op]
    fn helper() -> Value {
        json!({"from": "one"})
    }
    helper()
}

fn other_helper() -> Value {
    #[op]
    fn helper() -> Value {
        json!({"from": "other"})
    }
    helper()
}

#[op]
fn unique(x: i64) -> Value {
    json!({"y": x + 1})
}

fn doc(func: &str) -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"o": {"type": "code", "func_name": func,
            "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}}},
        "edges": [], "entries": ["o"], "exits": ["o"]
    })
    .to_string()
}

#[test]
fn duplicate_full_names_fail_the_build_naming_both() {
    // the document does not even call them: a program with a duplicate is refused
    let err = Operon::builder(doc("unique")).auto_register().build().expect_err("a build error");
    let OperonError::Invalid { problems, .. } = &err else { panic!("expected a validation error, got {err}") };
    let duplicates: Vec<_> = problems.iter().filter(|p| p.category == "duplicate_op").collect();
    assert_eq!(duplicates.len(), 2, "{err}");
    let same = duplicates.iter().find(|p| p.target_name.as_deref() == Some("op_macro_duplicate::same")).expect("same");
    let lines: Vec<_> = same.message.match_indices("op_macro_duplicate.rs:").collect();
    assert_eq!(lines.len(), 2, "both definitions are named: {}", same.message);
    assert!(same.message.contains("#[op(name"), "{}", same.message);
    assert!(duplicates.iter().any(|p| p.target_name.as_deref() == Some("op_macro_duplicate::helper")), "{err}");
    // the functions themselves still work
    assert_eq!((one_helper(), other_helper()), (json!({"from": "one"}), json!({"from": "other"})));
    assert_eq!((first(1), second(1)), (json!({"y": 1}), json!({"y": -1})));
}

#[test]
fn without_auto_register_duplicates_do_not_matter() {
    let engine = Operon::builder(doc("unique"))
        .op("unique", |m| Ok(json!({"y": m["x"].clone()})))
        .build()
        .expect("no #[op] function is registered");
    assert_eq!(engine.run(json!({"x": 4})).unwrap().outputs["y"], json!(4));
}
