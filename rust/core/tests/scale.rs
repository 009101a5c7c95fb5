//! Large graphs compile and run without deep recursion or quadratic work: a chain of 100 000 ops (with skip
//! propagation down it, a cycle through it, refs far upstream or not upstream, and half of it unreached), a fan-out
//! 1 → 100 000 → 1 (hard and soft joins) and 100 000 entries that are all exits or mapped to distinct
//! graph outputs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use operonx::ops::{Inputs, Outputs};
use operonx::scheduler::ErrorMode;
use operonx::Operon;
use serde_json::{json, Value};

const N: usize = 100_000;

fn inc(i: &Inputs) -> Result<Outputs, String> {
    let x = i.get("x").and_then(Value::as_i64).ok_or("x must be an int")?;
    Ok(Outputs::from_iter([("v".to_string(), json!(x + 1))]))
}

/// `op0 → op1 → … → op{n-1}`; op i reads `v` of op i-1 (op 0 reads the graph input `x`). The text is
/// written directly: building a `serde_json::Value` of this size is slow in debug builds.
fn chain(n: usize, extra_edges: &str) -> String {
    let mut s = String::with_capacity(n * 170);
    s.push_str(r#"{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {"#);
    for i in 0..n {
        let (source, var) = if i == 0 { ("g".to_string(), "x") } else { (format!("g.op{}", i - 1), "v") };
        s.push_str(if i == 0 { "" } else { "," });
        s.push_str(&format!(
            r#""op{i}": {{"type": "code", "func_name": "inc",
                "inputs": {{"x": {{"required": true, "ref": {{"source": "{source}", "var": "{var}"}}}}}}}}"#
        ));
    }
    s.push_str(r#"}, "edges": ["#);
    for i in 1..n {
        s.push_str(if i == 1 { "" } else { "," });
        s.push_str(&format!(r#"{{"from": "op{}", "to": "op{i}"}}"#, i - 1));
    }
    s.push_str(extra_edges);
    s.push_str(&format!(r#"], "entries": ["op0"], "exits": ["op{}"]}}"#, n - 1));
    s
}

#[test]
fn a_chain_of_100k_ops_runs() {
    let engine = Operon::builder(chain(N, "")).op_ref("inc", inc).build().unwrap();
    assert_eq!(engine.plan().ops.len(), N);
    let out = engine.run(json!({"x": 0})).unwrap();
    assert_eq!(out.outputs["v"], json!(N));
    assert_eq!(out.frames.len(), 1);
    assert_eq!(out.frames[0].op, format!("op{}", N - 1));

    // A failure at the head skips the whole chain (iteratively): op0 misses its input.
    let out = engine.run_with(json!({}), ErrorMode::Continue).unwrap();
    assert!(out.frames.is_empty());
    assert!(matches!(&out.errors[..], [operonx::OperonError::MissingInput { op, .. }] if op == "g.op0"));
}

#[test]
fn a_cycle_in_a_100k_chain_is_found() {
    let back_edge = format!(r#", {{"from": "op{}", "to": "op1"}}"#, N - 1);
    match Operon::builder(chain(N, &back_edge)).op_ref("inc", inc).build() {
        Err(operonx::OperonError::Invalid { problems, .. }) => {
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].category, "cycle");
        }
        other => panic!("expected a cycle, got {:?}", other.err()),
    }
}

#[test]
fn ops_start_does_not_reach_in_a_100k_chain_are_found_in_linear_time() {
    // START enters the chain halfway: each op before it is named once.
    let doc = chain(N, "").replace(r#""entries": ["op0"]"#, &format!(r#""entries": ["op{}"]"#, N / 2));
    match Operon::builder(doc).op_ref("inc", inc).build() {
        Err(operonx::OperonError::Invalid { problems, .. }) => {
            assert_eq!(problems.len(), N / 2);
            assert!(problems.iter().all(|p| p.category == "unreachable"));
            assert_eq!(problems[N / 2 - 1].op_name.as_deref(), Some(format!("op{}", N / 2 - 1).as_str()));
        }
        other => panic!("expected unreachable ops, got {:?}", other.err()),
    }
}

/// [`chain`] where op i also reads op 0 and op i-3, and op `side` (an entry of its own) is read by the
/// last op when `stray` is set.
fn chain_reading_upstream(n: usize, stray: bool) -> String {
    let mut s = String::with_capacity(n * 300);
    s.push_str(r#"{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {"side": {"type": "code"}"#);
    for i in 0..n {
        let read = |input: &str, j: usize| format!(r#", "{input}": {{"ref": {{"source": "g.op{j}", "var": "v"}}}}"#);
        let mut inputs = if i == 0 {
            r#""x": {"ref": {"source": "g", "var": "x"}}"#.to_string()
        } else {
            read("x", i - 1)[2..].to_string()
        };
        if i > 0 {
            inputs.push_str(&read("h", 0));
        }
        if i >= 3 {
            inputs.push_str(&read("k", i - 3));
        }
        if stray && i == n - 1 {
            inputs.push_str(r#", "s": {"ref": {"source": "g.side", "var": "v"}}"#);
        }
        s.push_str(&format!(r#", "op{i}": {{"type": "code", "func_name": "inc", "inputs": {{{inputs}}}}}"#));
    }
    s.push_str(r#"}, "edges": ["#);
    for i in 1..n {
        s.push_str(if i == 1 { "" } else { "," });
        s.push_str(&format!(r#"{{"from": "op{}", "to": "op{i}"}}"#, i - 1));
    }
    s.push_str(&format!(r#"], "entries": ["side", "op0"], "exits": ["op{}"]}}"#, n - 1));
    s
}

#[test]
fn refs_far_upstream_in_a_100k_chain_are_checked_in_linear_time() {
    let build = |stray| Operon::builder(chain_reading_upstream(N, stray)).op_ref("inc", inc).op_ref("side", inc).build();
    assert_eq!(build(false).unwrap().plan().ops.len(), N + 1);
    match build(true) {
        Err(operonx::OperonError::Invalid { problems, .. }) => {
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].category, "not_upstream");
            assert_eq!(problems[0].op_name.as_deref(), Some(format!("op{}", N - 1).as_str()));
        }
        other => panic!("expected a ref that is not upstream, got {:?}", other.err()),
    }
}

/// `src → w0..w{n-1} → join`, with soft or hard edges into the join; the join reads `i` of the last worker.
fn fan(n: usize, soft_join: bool) -> String {
    let mut s = String::with_capacity(n * 120);
    s.push_str(r#"{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {"src": {"type": "code"}"#);
    for i in 0..n {
        s.push_str(&format!(r#", "w{i}": {{"type": "code", "func_name": "work"}}"#));
    }
    s.push_str(&format!(
        r#", "join": {{"type": "code", "inputs": {{"last": {{"required": true,
            "ref": {{"source": "g.w{}", "var": "i", "transforms": [["add", [1]]]}}}}}}}}}}, "edges": ["#,
        n - 1
    ));
    for i in 0..n {
        s.push_str(&format!(
            r#"{}{{"from": "src", "to": "w{i}"}}, {{"from": "w{i}", "to": "join", "soft": {soft_join}}}"#,
            if i == 0 { "" } else { ", " }
        ));
    }
    s.push_str(r#"], "entries": ["src"], "exits": ["join"]}"#);
    s
}

fn run_fan(soft_join: bool) -> (usize, Value) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let joined = Arc::new(AtomicUsize::new(0));
    let join_count = joined.clone();
    let engine = Operon::builder(fan(N, soft_join))
        .op_ref("src", |_: &Inputs| Ok(Outputs::new()))
        .op_ref("work", move |_: &Inputs| -> Result<Outputs, String> {
            let i = seen.fetch_add(1, Ordering::Relaxed);
            Ok(Outputs::from_iter([("i".to_string(), json!(i))]))
        })
        .op_ref("join", move |i: &Inputs| -> Result<Outputs, String> {
            let ran_before = join_count.fetch_add(1, Ordering::Relaxed);
            Ok(Outputs::from_iter([
                ("last".to_string(), i.get("last").cloned().unwrap_or(Value::Null)),
                ("ran_before".to_string(), json!(ran_before)),
            ]))
        })
        .build()
        .unwrap();
    let out = engine.run(json!({})).unwrap();
    assert_eq!(joined.load(Ordering::Relaxed), 1, "the join runs once");
    assert_eq!(out.outputs["ran_before"], json!(0));
    (count.load(Ordering::Relaxed), out.outputs["last"].clone())
}

#[test]
fn a_fan_out_of_100k_with_a_hard_join_runs() {
    // Every worker runs before the join; the last worker counted N - 1.
    assert_eq!(run_fan(false), (N, json!(N)));
}

#[test]
fn a_fan_out_of_100k_with_a_soft_join_runs_the_join_once_after_the_first_worker() {
    // The join is queued behind the other workers when w0 finishes, so every worker still runs, but the
    // join's input reads the last worker's output, which exists by then.
    assert_eq!(run_fan(true), (N, json!(N)));
}

#[test]
fn a_hundred_thousand_entries_and_exits_run() {
    // Even ops map `v` to a graph output of their own, odd ops are exits forwarding `v`.
    let mut s = String::with_capacity(N * 100);
    s.push_str(r#"{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {"#);
    for i in 0..N {
        let outputs =
            if i % 2 == 0 { format!(r#"{{"v": {{"ref": {{"source": "g", "var": "r{i}"}}}}}}"#) } else { "{}".into() };
        s.push_str(&format!(
            r#"{}"o{i}": {{"type": "code", "func_name": "work", "outputs": {outputs}}}"#,
            if i == 0 { "" } else { "," }
        ));
    }
    let names: Vec<String> = (0..N).map(|i| format!(r#""o{i}""#)).collect();
    let odd: Vec<&str> = names.iter().skip(1).step_by(2).map(String::as_str).collect();
    s.push_str(&format!(r#"}}, "edges": [], "entries": [{}], "exits": [{}]}}"#, names.join(","), odd.join(",")));

    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let engine = Operon::builder(s)
        .op_ref("work", move |_: &Inputs| -> Result<Outputs, String> {
            Ok(Outputs::from_iter([("v".to_string(), json!(seen.fetch_add(1, Ordering::Relaxed)))]))
        })
        .build()
        .unwrap();
    assert_eq!(engine.plan().entries.len(), N);
    assert_eq!(engine.plan().graph_outputs.len(), N / 2, "declared outputs only: the odd ops declare none");
    let out = engine.run(json!({})).unwrap();
    // Entries run in wiring order, so op i outputs i.
    assert_eq!(out.frames.len(), N);
    assert_eq!(out.outputs.len(), N / 2 + 1);
    assert_eq!(out.outputs["r0"], json!(0));
    assert_eq!(out.outputs[&format!("r{}", N - 2)], json!(N - 2));
    let odd_values = out.outputs["v"].as_array().unwrap();
    assert_eq!(odd_values.len(), N / 2);
    assert!(odd_values.iter().enumerate().all(|(k, v)| v == &json!(2 * k + 1)));
}
