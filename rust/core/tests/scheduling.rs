//! Run order, joins, reachability and the concurrency cap, through the Rust driver (`Operon`) and
//! through `RunState` directly.

use operonx::scheduler::{Outcome, RunState, ROOT};
use operonx::{OperonError, Operon};
use serde_json::{json, Value};

mod common;
use common::{doc, recording, Log};

/// Builds the document's engine with recording ops for every op name and runs it.
fn run_order(ops: &[&str], edges: &[(&str, &str, bool)], entries: &[&str], exits: &[&str]) -> Vec<String> {
    let log = Log::default();
    let engine = recording(Operon::builder(doc(ops, edges, entries, exits).to_string()), ops, &log).build().unwrap();
    engine.run(json!({})).unwrap();
    let order = log.lock().unwrap().clone();
    order
}

#[test]
fn entries_run_before_successors_of_the_first_entry() {
    let order = run_order(&["a", "b1", "b2"], &[("a", "b1", false)], &["a", "b2"], &["b1", "b2"]);
    assert_eq!(order, ["a", "b2", "b1"]);
}

#[test]
fn ready_queue_is_fifo_across_levels() {
    // a and b are entries; successors queue up behind what is already queued.
    let order = run_order(
        &["a", "b", "c", "d", "e", "f"],
        &[("a", "c", false), ("a", "d", false), ("b", "e", false), ("c", "f", false)],
        &["a", "b"],
        &["d", "e", "f"],
    );
    assert_eq!(order, ["a", "b", "c", "d", "e", "f"]);
}

#[test]
fn successors_follow_edge_declaration_order_not_creation_order() {
    let order = run_order(
        &["a", "x", "y", "z"],
        &[("a", "z", false), ("a", "x", false), ("a", "y", false)],
        &["a"],
        &["x", "y", "z"],
    );
    assert_eq!(order, ["a", "z", "x", "y"]);
}

#[test]
fn entries_follow_wiring_order() {
    let order = run_order(&["a", "b", "c"], &[], &["c", "a", "b"], &["a", "b", "c"]);
    assert_eq!(order, ["c", "a", "b"]);
}

#[test]
fn hard_join_waits_for_every_predecessor() {
    let order = run_order(
        &["a", "a1", "a2", "b", "j"],
        &[("a", "a1", false), ("a1", "a2", false), ("a2", "j", false), ("b", "j", false)],
        &["a", "b"],
        &["j"],
    );
    assert_eq!(order, ["a", "b", "a1", "a2", "j"]);
}

#[test]
fn soft_join_runs_once_after_the_first_soft_predecessor() {
    let order = run_order(
        &["a", "b", "b1", "b2", "j"],
        &[("a", "j", true), ("b", "b1", false), ("b1", "b2", false), ("b2", "j", true)],
        &["a", "b"],
        &["j"],
    );
    // j is queued when a finishes, behind b; it does not wait for b2 and does not run again after it.
    assert_eq!(order, ["a", "b", "j", "b1", "b2"]);
}

#[test]
fn soft_join_still_waits_for_its_hard_predecessors() {
    let order = run_order(
        &["a", "b", "h0", "h1", "j"],
        &[("a", "j", true), ("b", "j", true), ("h0", "h1", false), ("h1", "j", false)],
        &["a", "b", "h0"],
        &["j"],
    );
    assert_eq!(order, ["a", "b", "h0", "h1", "j"]);
}

#[test]
fn repeated_edges_count_once() {
    let order = run_order(&["a", "b"], &[("a", "b", false), ("a", "b", false)], &["a"], &["b"]);
    assert_eq!(order, ["a", "b"]);
}

#[test]
fn ops_not_reachable_from_the_entries_are_refused() {
    // u (and v behind it) and the unwired op would never run: the document is refused naming each. w,
    // which also waits for u, and the soft join s are reached through a.
    let d = doc(
        &["a", "u", "v", "w", "s", "lonely"],
        &[("u", "v", false), ("a", "w", false), ("u", "w", false), ("a", "s", true), ("u", "s", true)],
        &["a"],
        &["v", "w", "s", "lonely"],
    );
    let log = Log::default();
    let names = ["a", "u", "v", "w", "s", "lonely"];
    let Err(OperonError::Invalid { problems, .. }) = recording(Operon::builder(d.to_string()), &names, &log).build()
    else {
        panic!("expected the document to be refused")
    };
    let named: Vec<(&str, Option<&str>)> = problems.iter().map(|p| (p.category, p.op_name.as_deref())).collect();
    assert_eq!(named, [("unreachable", Some("u")), ("unreachable", Some("v")), ("unreachable", Some("lonely"))]);
}

#[test]
fn the_document_cannot_change_ready_counts() {
    // initial_ready_count and compiled_adj are informational: the engine recomputes them from the edges.
    let mut d = doc(&["a", "b", "c"], &[("a", "c", false), ("b", "c", false)], &["a", "b"], &["c"]);
    d["initial_ready_count"] = json!({"a": 0, "b": 0, "c": 0});
    d["compiled_adj"] = json!({"a": [], "b": [], "c": [["a", false]]});
    let log = Log::default();
    let engine = recording(Operon::builder(d.to_string()), &["a", "b", "c"], &log).build().unwrap();
    assert_eq!(engine.plan().initial_counts, [0, 0, 2]);
    engine.run(json!({})).unwrap();
    assert_eq!(*log.lock().unwrap(), ["a", "b", "c"]);
}

#[test]
fn an_engine_runs_many_times_with_fresh_state() {
    let log = Log::default();
    let ops = ["a", "b", "j"];
    let d = doc(&ops, &[("a", "j", true), ("b", "j", true)], &["a", "b"], &["j"]);
    let engine = recording(Operon::builder(d.to_string()), &ops, &log).build().unwrap();
    for _ in 0..3 {
        let out = engine.run(json!({})).unwrap();
        assert_eq!(out.outputs, json!({"j": true}).as_object().unwrap().clone());
    }
    assert_eq!(log.lock().unwrap().len(), 9);
}

// ---------------------------------------------------------------------------------------------------
// RunState directly

fn plan_of(d: &Value) -> operonx::plan::Plan {
    let parsed = operonx::graph::schema::parse(&d.to_string()).unwrap();
    operonx::plan::compile(&parsed).unwrap()
}

#[test]
fn run_state_caps_concurrent_ops() {
    let mut d = doc(&["a", "b", "c", "d", "e"], &[("a", "e", false)], &["a", "b", "c", "d"], &["e"]);
    d["concurrency"] = json!(2);
    let plan = plan_of(&d);
    assert_eq!(plan.concurrency, Some(2));
    let id = |n: &str| plan.find_op(n).unwrap();
    let mut st = RunState::new(&plan);
    assert!(!st.is_idle());

    let mut started = Vec::new();
    while let Some((op, _)) = st.pop_ready() {
        if st.begin_concurrent(op, ROOT) {
            started.push(op);
        }
    }
    assert_eq!(started, [id("a"), id("b")]);
    assert_eq!(st.in_flight(), 2);
    assert!(!st.is_idle(), "c and d are waiting for the cap");

    // a finishes: c takes its slot; e becomes ready.
    assert_eq!(st.end_concurrent(), Some((id("c"), ROOT)));
    st.finish(&plan, id("a"), ROOT, Outcome::Done);
    assert_eq!(st.in_flight(), 2);
    assert_eq!(st.pop_ready(), Some((id("e"), ROOT)));
    assert!(!st.begin_concurrent(id("e"), ROOT), "e waits behind d");

    assert_eq!(st.end_concurrent(), Some((id("d"), ROOT)));
    st.finish(&plan, id("b"), ROOT, Outcome::Done);
    assert_eq!(st.end_concurrent(), Some((id("e"), ROOT)));
    st.finish(&plan, id("c"), ROOT, Outcome::Done);
    assert_eq!(st.in_flight(), 2);
    assert_eq!(st.end_concurrent(), None);
    st.finish(&plan, id("d"), ROOT, Outcome::Done);
    assert_eq!(st.end_concurrent(), None);
    st.finish(&plan, id("e"), ROOT, Outcome::Done);
    assert_eq!(st.in_flight(), 0);
    assert!(st.is_idle());
    assert_eq!(st.pop_ready(), None);
}

#[test]
fn run_state_without_a_cap_starts_everything() {
    for concurrency in [json!(null), json!(0)] {
        let mut d = doc(&["a", "b", "c"], &[], &["a", "b", "c"], &["a", "b", "c"]);
        d["concurrency"] = concurrency;
        let plan = plan_of(&d);
        assert_eq!(plan.concurrency, None);
        let mut st = RunState::new(&plan);
        while let Some((op, _)) = st.pop_ready() {
            assert!(st.begin_concurrent(op, ROOT));
        }
        assert_eq!(st.in_flight(), 3);
        for op in 0..3 {
            assert_eq!(st.end_concurrent(), None);
            st.finish(&plan, op, ROOT, Outcome::Done);
        }
        assert!(st.is_idle());
    }
}

#[test]
fn run_state_skip_propagation_and_clear() {
    let d = doc(
        &["a", "b", "c", "s", "t"],
        &[("a", "b", false), ("b", "c", false), ("a", "s", true), ("t", "s", true)],
        &["a", "t"],
        &["c", "s"],
    );
    let plan = plan_of(&d);
    let id = |n: &str| plan.find_op(n).unwrap();
    let mut st = RunState::new(&plan);
    assert_eq!(st.pop_ready(), Some((id("a"), ROOT)));
    st.finish(&plan, id("a"), ROOT, Outcome::Skipped);
    // b and c are skipped without ever being ready; s waits for its other soft predecessor.
    assert_eq!(st.pop_ready(), Some((id("t"), ROOT)));
    st.finish(&plan, id("t"), ROOT, Outcome::Done);
    assert_eq!(st.pop_ready(), Some((id("s"), ROOT)));
    st.finish(&plan, id("s"), ROOT, Outcome::Done);
    assert_eq!(st.pop_ready(), None);
    assert!(st.is_idle());

    let mut st = RunState::new(&plan);
    assert!(!st.is_idle());
    st.clear();
    assert!(st.is_idle());
    assert_eq!(st.pop_ready(), None);
}
