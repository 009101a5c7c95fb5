//! Property test: random DAGs of 1–60 ops with hard and soft edges, disabled and failing ops (and the ops
//! their failure skips), refs with transforms and mapped or forwarded outputs (`common::random_dag`). The
//! engine's run order, errors, frames and outputs are compared with a reference interpreter written
//! independently here (readiness is recomputed from the predecessors' states instead of counted).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use operonx::ops::{Inputs, Outputs};
use operonx::scheduler::ErrorMode;
use operonx::{OperonError, Operon};
use serde_json::{json, Map, Value};

mod common;
use common::random_dag::{document, graph_inputs, random_case, Case, Forwarding, MODULUS};

/// What a run should produce: the ops called (in order), the failed ones, and the frames.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    called: Vec<usize>,
    failed: Vec<usize>,
    frames: Vec<(String, Map<String, Value>)>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Pending,
    Queued,
    Done,
    Skipped,
}

/// The reference interpreter. An op is ready once every hard predecessor is done and, if it has soft
/// predecessors, one of them is; it is dead once a hard predecessor or every soft predecessor is
/// skipped. Ready ops run first in, first out: entries in wiring order, then, whenever an op settles,
/// its successors in edge declaration order.
fn reference(case: &Case, stop_at_first_error: bool) -> Expected {
    let n = case.ops.len();
    let preds = |j: usize, soft: bool| case.edges.iter().filter(move |e| e.1 == j && e.2 == soft).map(|e| e.0);
    let mut state = vec![State::Pending; n];
    let mut value = vec![0i64; n];
    let mut out = Expected::default();
    let mut queue: VecDeque<usize> = VecDeque::new();
    for &e in &case.entries {
        state[e] = State::Queued;
        queue.push_back(e);
    }
    let x = match &case.x {
        Value::Number(v) => v.as_i64().unwrap(),
        _ => 5,
    };
    while let Some(u) = queue.pop_front() {
        let spec = &case.ops[u];
        let done = if !spec.enabled {
            false
        } else {
            out.called.push(u);
            if spec.fails {
                out.failed.push(u);
                if stop_at_first_error {
                    return out;
                }
                false
            } else {
                let mut sum = spec.constant + if spec.reads_x { x } else { 0 };
                for &(i, t) in &spec.reads {
                    if state[i] == State::Done {
                        sum += t.apply(value[i]);
                    }
                }
                value[u] = sum.rem_euclid(MODULUS);
                match spec.forwarding {
                    Forwarding::Mapped => {
                        out.frames.push((format!("op{u}"), Map::from_iter([(format!("o{u}"), json!(value[u]))])))
                    }
                    Forwarding::All => {
                        out.frames.push((format!("op{u}"), Map::from_iter([("v".to_string(), json!(value[u]))])))
                    }
                    Forwarding::Nothing => {}
                }
                true
            }
        };
        // Settle u, then every op its settlement decides, depth first for skips.
        state[u] = if done { State::Done } else { State::Skipped };
        let mut settled = vec![u];
        while let Some(s) = settled.pop() {
            for &(from, to, _) in &case.edges {
                if from != s || state[to] != State::Pending {
                    continue;
                }
                let hard: Vec<State> = preds(to, false).map(|p| state[p]).collect();
                let soft: Vec<State> = preds(to, true).map(|p| state[p]).collect();
                let dead =
                    hard.contains(&State::Skipped) || (!soft.is_empty() && soft.iter().all(|&s| s == State::Skipped));
                let ready = hard.iter().all(|&s| s == State::Done) && (soft.is_empty() || soft.contains(&State::Done));
                if dead {
                    state[to] = State::Skipped;
                    settled.push(to);
                } else if ready {
                    state[to] = State::Queued;
                    queue.push_back(to);
                }
            }
        }
    }
    out
}

fn group(frames: &[(String, Map<String, Value>)]) -> Map<String, Value> {
    let mut all: Vec<(String, Vec<Value>)> = Vec::new();
    for (_, data) in frames {
        for (k, v) in data {
            match all.iter_mut().find(|(key, _)| key == k) {
                Some((_, list)) => list.push(v.clone()),
                None => all.push((k.clone(), vec![v.clone()])),
            }
        }
    }
    all.into_iter()
        .map(|(k, mut list)| (k, if list.len() == 1 { list.remove(0) } else { Value::Array(list) }))
        .collect()
}

fn engine(case: &Case, log: &Arc<Mutex<Vec<usize>>>) -> Operon {
    let log = log.clone();
    Operon::builder(document(case).to_string())
        .op_ref("node", move |i: &Inputs| -> Result<Outputs, String> {
            let id = i.get("id").and_then(Value::as_u64).ok_or("no id")? as usize;
            log.lock().unwrap().push(id);
            if i.get("fail") == Some(&json!(true)) {
                return Err(format!("op{id} fails on purpose"));
            }
            let mut sum = 0i64;
            for (name, v) in i.iter() {
                if name != "id" && name != "fail" {
                    sum += v.as_i64().ok_or_else(|| format!("input {name} is {v}"))?;
                }
            }
            Ok(Outputs::from_iter([("v".to_string(), json!(sum.rem_euclid(MODULUS)))]))
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn check(seed: u64) {
    let case = random_case(seed);
    let log = Arc::new(Mutex::new(Vec::new()));
    let engine = engine(&case, &log);
    let ctx = || format!("seed {seed}: {case:#?}");

    // errors="continue"
    let want = reference(&case, false);
    let out = engine.run_with(graph_inputs(&case), ErrorMode::Continue).unwrap_or_else(|e| panic!("{e}\n{}", ctx()));
    let called = std::mem::take(&mut *log.lock().unwrap());
    assert_eq!(called, want.called, "call order, {}", ctx());
    let failed: Vec<String> = out
        .errors
        .iter()
        .map(|e| match e {
            OperonError::OpFailed { op, message, .. } => {
                assert!(message.contains("fails on purpose"), "{message}");
                op.clone()
            }
            other => panic!("unexpected error {other}\n{}", ctx()),
        })
        .collect();
    let want_failed: Vec<String> = want.failed.iter().map(|j| format!("g.op{j}")).collect();
    assert_eq!(failed, want_failed, "errors, {}", ctx());
    let frames: Vec<(String, Map<String, Value>)> = out.frames.iter().map(|f| (f.op.clone(), f.data.clone())).collect();
    assert_eq!(frames, want.frames, "frames, {}", ctx());
    assert!(out.frames.iter().all(|f| f.context == ["main"]));
    assert_eq!(out.outputs, group(&want.frames), "outputs, {}", ctx());

    // errors="raise": the first failure ends the run.
    let want = reference(&case, true);
    let result = engine.run(graph_inputs(&case));
    let called = std::mem::take(&mut *log.lock().unwrap());
    assert_eq!(called, want.called, "call order (raise), {}", ctx());
    match (result, want.failed.first()) {
        (Ok(out), None) => assert_eq!(out.outputs, group(&want.frames), "outputs (raise), {}", ctx()),
        (Err(OperonError::OpFailed { op, .. }), Some(j)) => {
            assert_eq!(op, format!("g.op{j}"), "{}", ctx())
        }
        (other, _) => panic!("unexpected result {other:?}\n{}", ctx()),
    }
}

#[test]
fn random_dags_match_the_reference_interpreter() {
    for seed in 0..600 {
        check(seed);
    }
}

#[test]
fn random_dag_cases_are_not_trivial() {
    // Guard against a generator that stopped producing interesting graphs.
    let (mut soft, mut skipped, mut soft_joins, mut not_called) = (0, 0, 0, 0);
    for seed in 0..600 {
        let case = random_case(seed);
        let want = reference(&case, false);
        soft += case.edges.iter().filter(|e| e.2).count();
        soft_joins +=
            (0..case.ops.len()).filter(|&j| case.edges.iter().filter(|e| e.1 == j && e.2).count() > 1).count();
        skipped += case.ops.iter().filter(|o| !o.enabled || o.fails).count();
        not_called += case.ops.len() - want.called.len();
    }
    assert!(
        soft > 1000 && soft_joins > 300 && skipped > 300 && not_called > 300,
        "{soft} {soft_joins} {skipped} {not_called}"
    );
}
