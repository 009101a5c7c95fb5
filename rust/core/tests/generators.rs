//! Generator ops in the Rust API (`OperonBuilder::gen`): pulled one item at a time while the
//! items' downstream ops run; a failure stops the pulling; a panic fails the op, never the process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use operonx::ops::{Inputs, Items, Outputs};
use operonx::scheduler::ErrorMode;
use operonx::{OperonError, Operon};
use serde_json::{json, Value};

/// `numbers` (a generator of `{"i": 0..n}`) → `check` (per item: fails on `i == bad`) → END.
fn doc() -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {
            "numbers": {"type": "code", "is_generator": true,
                "inputs": {"n": {"required": true, "ref": {"source": "g", "var": "n"}}}},
            "check": {"type": "code",
                "inputs": {"i": {"required": true, "ref": {"source": "g.numbers", "var": "i"}},
                           "bad": {"required": false, "ref": {"source": "g", "var": "bad"}}}}
        },
        "edges": [{"from": "numbers", "to": "check"}],
        "entries": ["numbers"], "exits": ["check"]
    })
    .to_string()
}

fn check(i: &Inputs) -> Result<Outputs, String> {
    let x = i.get("i").cloned().unwrap_or(Value::Null);
    if i.get("bad") == Some(&x) {
        return Err(format!("bad item {x}"));
    }
    Ok(Outputs::from_iter([("seen".to_string(), x)]))
}

/// An engine whose generator counts the items pulled from it.
fn engine(pulled: &Arc<AtomicUsize>, panic_at: Option<i64>) -> Operon {
    let pulled = Arc::clone(pulled);
    let numbers = move |i: &Inputs| -> Result<Items, String> {
        let n = i.get("n").and_then(Value::as_i64).ok_or("n must be an int")?;
        let pulled = Arc::clone(&pulled);
        Ok(Box::new((0..n).map(move |k| {
            pulled.fetch_add(1, Ordering::SeqCst);
            assert!(Some(k) != panic_at, "the stream broke at {k}");
            Ok(Outputs::from_iter([("i".to_string(), json!(k))]))
        })))
    };
    Operon::builder(doc()).gen("numbers", numbers).op_ref("check", check).build().expect("a valid graph")
}

#[test]
fn items_stream_through_their_consumer_in_order() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let out = engine(&pulled, None).run(json!({"n": 3})).expect("the run");
    assert_eq!(out.outputs["seen"], json!([0, 1, 2]));
    let contexts: Vec<_> = out.frames.iter().map(|f| f.context.clone()).collect();
    assert_eq!(contexts, [["main", "[0]"], ["main", "[1]"], ["main", "[2]"]]);
    assert_eq!(pulled.load(Ordering::SeqCst), 3);
}

#[test]
fn a_failing_consumer_stops_the_pulling() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let err = engine(&pulled, None).run(json!({"n": 1_000_000, "bad": 2})).expect_err("the run fails");
    let OperonError::OpFailed { op, context, message, .. } = err else { panic!("expected OpFailed, got {err:?}") };
    assert_eq!(
        (op.as_str(), context, message.as_str()),
        ("g.check", vec!["main".to_string(), "[2]".into()], "bad item 2")
    );
    assert_eq!(pulled.load(Ordering::SeqCst), 3, "no item is pulled after the failure");
}

#[test]
fn with_errors_continue_every_other_item_goes_on() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let out = engine(&pulled, None).run_with(json!({"n": 4, "bad": 1}), ErrorMode::Continue).expect("the run");
    assert_eq!(out.outputs["seen"], json!([0, 2, 3]));
    assert_eq!(out.errors.len(), 1);
}

#[test]
fn a_panicking_stream_fails_its_op() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let err = engine(&pulled, Some(1)).run(json!({"n": 5})).expect_err("the run fails");
    let OperonError::OpFailed { op, message, .. } = err else { panic!("expected OpFailed, got {err:?}") };
    assert_eq!(op, "g.numbers");
    assert!(message.contains("panicked: the stream broke at 1"), "{message}");
}
