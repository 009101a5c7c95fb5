//! Failing, panicking and disabled ops, and missing inputs: a run that raises stops at the first
//! error; one that continues skips what depended on the failed op.

use operonx::ops::{Inputs, Outputs};
use operonx::scheduler::ErrorMode;
use operonx::{OperonError, Operon};
use serde_json::{json, Value};

mod common;
use common::{doc, recording, Log};

fn failing(_: &Inputs) -> Result<Outputs, String> {
    Err("boom".into())
}

fn panicking(_: &Inputs) -> Result<Outputs, String> {
    panic!("kaboom {}", 42)
}

#[test]
fn an_op_error_fails_the_run_and_stops_it() {
    let log = Log::default();
    let ops = ["a", "bad", "c"];
    let d = doc(&ops, &[("a", "bad", false), ("a", "c", false)], &["a"], &["bad", "c"]);
    let engine = recording(Operon::builder(d.to_string()), &["a", "c"], &log).op_ref("bad", failing).build().unwrap();
    let err = engine.run(json!({})).unwrap_err();
    match &err {
        OperonError::OpFailed { graph, op, context, message } => {
            assert_eq!(graph, "g");
            assert_eq!(op, "g.bad");
            assert_eq!(context, &["main"]);
            assert_eq!(message, "boom");
        }
        other => panic!("expected OpFailed, got {other:?}"),
    }
    assert!(err.to_string().contains("boom"), "{err}");
    // c was queued behind bad and does not run once the run failed.
    assert_eq!(*log.lock().unwrap(), ["a"]);
}

#[test]
fn a_panicking_op_fails_the_run_without_crashing() {
    let d = doc(&["p"], &[], &["p"], &["p"]);
    let engine = Operon::builder(d.to_string()).op_ref("p", panicking).build().unwrap();
    match engine.run(json!({})).unwrap_err() {
        OperonError::OpFailed { op, message, .. } => {
            assert_eq!(op, "g.p");
            assert!(message.contains("panicked"), "{message}");
            assert!(message.contains("kaboom 42"), "{message}");
        }
        other => panic!("expected OpFailed, got {other:?}"),
    }
    // The engine is still usable after a panic.
    let out = engine.run_with(json!({}), ErrorMode::Continue).unwrap();
    assert_eq!(out.errors.len(), 1);
}

#[test]
fn continue_mode_skips_hard_successors_transitively_and_fires_soft_joins() {
    let log = Log::default();
    let ops = ["bad", "ok", "h1", "h2", "s", "after_s", "other"];
    let edges =
        [("bad", "h1", false), ("h1", "h2", false), ("bad", "s", true), ("ok", "s", true), ("s", "after_s", false)];
    let d = doc(&ops, &edges, &["bad", "ok", "other"], &["h2", "after_s", "other"]);
    let engine = recording(Operon::builder(d.to_string()), &ops[1..], &log).op_ref("bad", failing).build().unwrap();
    let out = engine.run_with(json!({}), ErrorMode::Continue).unwrap();
    assert_eq!(*log.lock().unwrap(), ["ok", "other", "s", "after_s"]);
    assert_eq!(Value::Object(out.outputs), json!({"other": true, "after_s": true}));
    assert_eq!(out.errors.len(), 1);
    assert!(matches!(&out.errors[0], OperonError::OpFailed { op, .. } if op == "g.bad"));
}

#[test]
fn continue_mode_skips_a_soft_join_whose_soft_predecessors_all_failed() {
    let log = Log::default();
    let ops = ["bad1", "bad2", "j", "k", "fine"];
    let edges = [("bad1", "j", true), ("bad2", "j", true), ("j", "k", true)];
    let d = doc(&ops, &edges, &["bad1", "fine", "bad2"], &["k", "fine"]);
    let engine = recording(Operon::builder(d.to_string()), &["j", "k", "fine"], &log)
        .op_ref("bad1", failing)
        .op_ref("bad2", panicking)
        .build()
        .unwrap();
    let out = engine.run_with(json!({}), ErrorMode::Continue).unwrap();
    assert_eq!(*log.lock().unwrap(), ["fine"]);
    let failed: Vec<&str> = out
        .errors
        .iter()
        .map(|e| match e {
            OperonError::OpFailed { op, .. } => op.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(failed, ["g.bad1", "g.bad2"]);
}

#[test]
fn continue_mode_lists_missing_inputs() {
    let d = json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {
            "need": {"type": "code", "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}},
            "next": {"type": "code"},
            "fine": {"type": "code"}
        },
        "edges": [{"from": "need", "to": "next"}], "entries": ["need", "fine"], "exits": ["next", "fine"]
    });
    let log = Log::default();
    let engine = recording(Operon::builder(d.to_string()), &["need", "next", "fine"], &log).build().unwrap();
    let out = engine.run_with(json!({}), ErrorMode::Continue).unwrap();
    assert_eq!(*log.lock().unwrap(), ["fine"]);
    assert!(matches!(&out.errors[..], [OperonError::MissingInput { op, input, .. }] if op == "g.need" && input == "x"));
    // With x given, everything runs.
    let out = engine.run_with(json!({"x": 1}), ErrorMode::Continue).unwrap();
    assert!(out.errors.is_empty());
    assert_eq!(out.frames.len(), 2);
}

#[test]
fn a_disabled_op_does_not_run_and_its_dependents_are_skipped() {
    let log = Log::default();
    let ops = ["a", "off", "dep", "dep2", "soft_join", "free"];
    let edges = [
        ("a", "off", false),
        ("off", "dep", false),
        ("dep", "dep2", false),
        ("off", "soft_join", true),
        ("a", "soft_join", true),
        ("a", "free", false),
    ];
    let mut d = doc(&ops, &edges, &["a"], &["off", "dep2", "soft_join", "free"]);
    d["ops"]["off"]["enabled"] = json!(false);
    let engine = recording(Operon::builder(d.to_string()), &ops, &log).build().unwrap();
    let out = engine.run(json!({})).unwrap();
    assert_eq!(*log.lock().unwrap(), ["a", "soft_join", "free"]);
    assert_eq!(Value::Object(out.outputs), json!({"soft_join": true, "free": true}));
    assert!(out.errors.is_empty());
}
