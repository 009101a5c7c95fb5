//! Run order, joins, reachability, output forwarding, op errors and the concurrency cap, through the
//! Rust driver (`Operon`) and through `RunState` directly.

use std::sync::{Arc, Mutex};

use operonx::ops::{Inputs, Outputs};
use operonx::scheduler::ROOT;
use operonx::scheduler::{ErrorMode, Outcome, RunState};
use operonx::{EngineError, Frame, Operon, OperonBuilder};
use serde_json::{json, Map, Value};

type Log = Arc<Mutex<Vec<String>>>;

/// A document named `g` whose ops take no inputs; `edges` are `(from, to, soft)`.
fn doc(ops: &[&str], edges: &[(&str, &str, bool)], entries: &[&str], exits: &[&str]) -> Value {
    let ops: Map<String, Value> = ops.iter().map(|n| (n.to_string(), json!({"type": "code"}))).collect();
    let edges: Vec<Value> = edges.iter().map(|(a, b, soft)| json!({"from": a, "to": b, "soft": soft})).collect();
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": ops, "edges": edges, "entries": entries, "exits": exits,
    })
}

/// Registers, for each name, an op that appends its name to `log` and outputs `{"<name>": true}`.
fn recording(mut b: OperonBuilder, names: &[&str], log: &Log) -> OperonBuilder {
    for &name in names {
        let log = log.clone();
        let owned = name.to_string();
        b = b.op(name, move |_: &Inputs| -> Result<Outputs, String> {
            log.lock().unwrap().push(owned.clone());
            Ok(Map::from_iter([(owned.clone(), json!(true))]))
        });
    }
    b
}

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
    let Err(EngineError::Invalid { problems, .. }) = recording(Operon::builder(d.to_string()), &names, &log).build()
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
// Forwarding

fn fixed(outputs: Value) -> impl Fn(&Inputs) -> Result<Outputs, String> + Send + Sync {
    move |_: &Inputs| Ok(outputs.as_object().unwrap().clone())
}

#[test]
fn an_exit_without_mapped_outputs_forwards_every_output_except_dollar_keys() {
    let engine = Operon::builder(doc(&["a"], &[], &["a"], &["a"]).to_string())
        .op("a", fixed(json!({"x": 1, "$meta": "hidden", "y": "s"})))
        .build()
        .unwrap();
    let out = engine.run(json!({})).unwrap();
    assert_eq!(Value::Object(out.outputs), json!({"x": 1, "y": "s"}));
    assert_eq!(
        out.frames,
        [Frame {
            op: "a".into(),
            context: vec!["main".into()],
            data: json!({"x": 1, "y": "s"}).as_object().unwrap().clone(),
        }]
    );
    assert!(out.errors.is_empty());
}

#[test]
fn mapped_outputs_are_forwarded_renamed_even_when_not_an_exit() {
    let d = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "root.g",
        "ops": {
            "a": {"type": "code", "outputs": {
                "k": {"required": false, "ref": {"source": "root.g", "var": "k2"}},
                "other": {"required": false}
            }},
            "b": {"type": "code"}
        },
        "edges": [{"from": "a", "to": "b"}], "entries": ["a"], "exits": ["b"]
    });
    let engine = Operon::builder(d.to_string())
        .op("a", fixed(json!({"k": 5, "other": 6, "$x": 7})))
        .op("b", fixed(json!({"done": true})))
        .build()
        .unwrap();
    let out = engine.run(json!({})).unwrap();
    assert_eq!(Value::Object(out.outputs), json!({"k2": 5, "done": true}));
    let ops: Vec<&str> = out.frames.iter().map(|f| f.op.as_str()).collect();
    assert_eq!(ops, ["a", "b"]);
    assert!(out.frames.iter().all(|f| f.context == ["main"]));
}

#[test]
fn an_exit_with_a_mapped_output_forwards_only_the_mapped_keys() {
    let d = json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"a": {"type": "code", "outputs": {"k": {"ref": {"source": "g", "var": "renamed"}}}}},
        "edges": [], "entries": ["a"], "exits": ["a"]
    });
    let engine = Operon::builder(d.to_string()).op("a", fixed(json!({"k": 1, "z": 2}))).build().unwrap();
    let out = engine.run(json!({})).unwrap();
    assert_eq!(Value::Object(out.outputs), json!({"renamed": 1}));
}

#[test]
fn outputs_group_frames_by_key_in_frame_order() {
    let ops = ["a", "b", "c", "d"];
    let engine = Operon::builder(doc(&ops, &[("c", "d", false)], &["c", "a", "b"], &ops).to_string())
        .op("a", fixed(json!({"v": 1})))
        .op("b", fixed(json!({"v": 2, "w": "only"})))
        .op("c", fixed(json!({"v": [3]})))
        .op("d", fixed(json!({"v": 4})))
        .build()
        .unwrap();
    let out = engine.run(json!({})).unwrap();
    // Frame order is run order: c, a, b, d.
    assert_eq!(Value::Object(out.outputs), json!({"v": [[3], 1, 2, 4], "w": "only"}));
    let ops: Vec<&str> = out.frames.iter().map(|f| f.op.as_str()).collect();
    assert_eq!(ops, ["c", "a", "b", "d"]);
}

#[test]
fn forward_all_false_turns_forwarding_off() {
    let mut d = doc(&["a"], &[], &["a"], &["a"]);
    d["ops"]["a"]["forward_all"] = json!(false);
    let engine = Operon::builder(d.to_string()).op("a", fixed(json!({"v": 1}))).build().unwrap();
    let out = engine.run(json!({})).unwrap();
    assert!(out.outputs.is_empty());
    assert!(out.frames.is_empty());
}

// ---------------------------------------------------------------------------------------------------
// Errors

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
    let engine = recording(Operon::builder(d.to_string()), &["a", "c"], &log).op("bad", failing).build().unwrap();
    let err = engine.run(json!({})).unwrap_err();
    match &err {
        EngineError::OpFailed { graph, op, context, message } => {
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
    let engine = Operon::builder(d.to_string()).op("p", panicking).build().unwrap();
    match engine.run(json!({})).unwrap_err() {
        EngineError::OpFailed { op, message, .. } => {
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
    let engine = recording(Operon::builder(d.to_string()), &ops[1..], &log).op("bad", failing).build().unwrap();
    let out = engine.run_with(json!({}), ErrorMode::Continue).unwrap();
    assert_eq!(*log.lock().unwrap(), ["ok", "other", "s", "after_s"]);
    assert_eq!(Value::Object(out.outputs), json!({"other": true, "after_s": true}));
    assert_eq!(out.errors.len(), 1);
    assert!(matches!(&out.errors[0], EngineError::OpFailed { op, .. } if op == "g.bad"));
}

#[test]
fn continue_mode_skips_a_soft_join_whose_soft_predecessors_all_failed() {
    let log = Log::default();
    let ops = ["bad1", "bad2", "j", "k", "fine"];
    let edges = [("bad1", "j", true), ("bad2", "j", true), ("j", "k", true)];
    let d = doc(&ops, &edges, &["bad1", "fine", "bad2"], &["k", "fine"]);
    let engine = recording(Operon::builder(d.to_string()), &["j", "k", "fine"], &log)
        .op("bad1", failing)
        .op("bad2", panicking)
        .build()
        .unwrap();
    let out = engine.run_with(json!({}), ErrorMode::Continue).unwrap();
    assert_eq!(*log.lock().unwrap(), ["fine"]);
    let failed: Vec<&str> = out
        .errors
        .iter()
        .map(|e| match e {
            EngineError::OpFailed { op, .. } => op.as_str(),
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
    assert!(matches!(&out.errors[..], [EngineError::MissingInput { op, input, .. }] if op == "g.need" && input == "x"));
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
