//! What the core's run layer decides about a failed attempt of an op with retries
//! ([`operonx::run::Run::retry`]), checked without a driver.

use std::sync::Arc;

use serde_json::json;

use operonx::graph::schema::parse;
use operonx::json::{Json, JsonRuntime};
use operonx::plan::compile;
use operonx::run::{Facts, OpFailure, Retry, Run};
use operonx::scheduler::{ErrorMode, ROOT};

fn run_of(op: serde_json::Value) -> Run<Json> {
    let doc =
        json!({"schema_version": "1.0", "name": "g", "ops": {"a": op}, "edges": [], "entries": ["a"], "exits": ["a"]});
    let plan = Arc::new(compile(&parse(&doc.to_string()).unwrap()).unwrap());
    let facts = Arc::new(Facts::new(&plan));
    Run::new(plan, facts, json!({}).into(), ErrorMode::Raise, false)
}

#[test]
fn failures_are_retried_while_retries_are_left_then_counted() {
    let run = run_of(json!({"type": "code", "func_name": "f", "retries": 2, "backoff": 0.5}));
    let mut rt = JsonRuntime::new(run.plan());
    let raised = || OpFailure::<String>::Raised("boom".into());
    match run.retry(&mut rt, 0, ROOT, 1, raised()) {
        Retry::After { attempt: 2, wait } => assert!((0.25..=0.5).contains(&wait), "{wait}"),
        other => panic!("{other:?}"),
    }
    match run.retry(&mut rt, 0, ROOT, 2, OpFailure::TimedOut(1.0)) {
        Retry::After { attempt: 3, wait } => assert!((0.5..=1.0).contains(&wait), "{wait}"),
        other => panic!("{other:?}"),
    }
    match run.retry(&mut rt, 0, ROOT, 3, raised()) {
        Retry::Fail(OpFailure::Attempts(3, last)) => assert!(matches!(*last, OpFailure::Raised(_))),
        other => panic!("{other:?}"),
    }
    // a missing input is not retried, and after one attempt the failure is as it was
    match run.retry(&mut rt, 0, ROOT, 1, OpFailure::Missing("x".into(), None)) {
        Retry::Fail(OpFailure::Missing(..)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_error_not_in_retry_on_is_not_retried_and_a_plain_op_never_is() {
    // the JSON runtime's errors have no types: with retry_on, none of them is retried
    let typed = run_of(json!({"type": "code", "func_name": "f", "retries": 2, "retry_on": ["ValueError"]}));
    let mut rt = JsonRuntime::new(typed.plan());
    assert!(matches!(
        typed.retry(&mut rt, 0, ROOT, 1, OpFailure::Raised("boom".into())),
        Retry::Fail(OpFailure::Raised(_))
    ));
    let plain = run_of(json!({"type": "code", "func_name": "f"}));
    let mut rt = JsonRuntime::new(plain.plan());
    assert!(plain.calls(0).is_none());
    assert!(matches!(plain.retry(&mut rt, 0, ROOT, 1, OpFailure::TimedOut(1.0)), Retry::Fail(OpFailure::TimedOut(_))));
}
