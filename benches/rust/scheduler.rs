//! Benchmarks of the Rust driver (`Operon::run`) with trivial Rust ops, and of the bare scheduler state
//! machine (`RunState`) on the same plans.
//!
//! Groups are named `<shape>_<n>_ops`; in each, `driver_run` is one whole `Operon::run`, `run_state_only`
//! one run of the scheduler alone (every op finishing at once), `build` parse + compile + bind. Times are
//! per run; the throughput is set to the number of ops, so criterion's `thrpt` line reads as ops per
//! second (ns per op = 1e9 / thrpt). `loop_3_op_body` runs a root loop whose body is a 3-op chain for
//! 334 iterations; its throughput is the number of body ops run. Run with `cargo bench`, or briefly with
//! `cargo bench -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use operonx::ops::{Inputs, Outputs};
use operonx::plan::Plan;
use operonx::scheduler::{Outcome, RunState};
use operonx::Operon;
use serde_json::{json, Map, Value};

/// Reads the int input `x` (0 when absent) and outputs `v = x + 1`.
fn inc(i: &Inputs) -> Result<Outputs, String> {
    let x = i.get("x").and_then(Value::as_i64).unwrap_or(0);
    Ok(Outputs::from_iter([("v".to_string(), json!(x + 1))]))
}

/// An op that reads `x` of op `source` (or of the graph when `source` is `None`).
fn reader(source: Option<&str>) -> Value {
    let (source, var) = match source {
        Some(op) => (format!("g.{op}"), "v"),
        None => ("g".to_string(), "x"),
    };
    json!({"type": "code", "func_name": "inc", "inputs": {"x": {"required": true, "ref": {"source": source, "var": var}}}})
}

fn document(ops: Map<String, Value>, edges: Vec<(String, String)>, entries: &[&str], exits: &[&str]) -> String {
    let edges: Vec<Value> = edges.into_iter().map(|(a, b)| json!({"from": a, "to": b})).collect();
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": ops, "edges": edges, "entries": entries, "exits": exits,
    })
    .to_string()
}

/// `op0 → … → op{n-1}`, each op reading the previous op's output.
fn chain(n: usize) -> String {
    let mut ops = Map::new();
    let mut edges = Vec::new();
    for i in 0..n {
        let prev = (i > 0).then(|| format!("op{}", i - 1));
        ops.insert(format!("op{i}"), reader(prev.as_deref()));
        if let Some(prev) = prev {
            edges.push((prev, format!("op{i}")));
        }
    }
    let last = format!("op{}", n - 1);
    document(ops, edges, &["op0"], &[&last])
}

/// `src → w0..w{n-1} → join`, every worker reading `src`'s output; the join reads the last worker's.
fn fan(n: usize) -> String {
    let mut ops = Map::new();
    let mut edges = Vec::new();
    ops.insert("src".into(), reader(None));
    for i in 0..n {
        ops.insert(format!("w{i}"), reader(Some("src")));
        edges.push(("src".into(), format!("w{i}")));
        edges.push((format!("w{i}"), "join".into()));
    }
    ops.insert("join".into(), reader(Some(&format!("w{}", n - 1))));
    document(ops, edges, &["src"], &["join"])
}

/// `a → (b, c, d) → e`.
fn diamond() -> String {
    let mut ops = Map::new();
    ops.insert("a".into(), reader(None));
    for m in ["b", "c", "d"] {
        ops.insert(m.into(), reader(Some("a")));
    }
    ops.insert("e".into(), reader(Some("d")));
    let edges = ["b", "c", "d"]
        .iter()
        .flat_map(|m| [("a".to_string(), m.to_string()), (m.to_string(), "e".to_string())])
        .collect();
    document(ops, edges, &["a"], &["e"])
}

/// Steps a run of `plan` with every op finishing at once, as a driver with no-op ops would.
fn run_state_only(plan: &Plan) -> usize {
    let mut state = RunState::new(plan);
    let mut ran = 0;
    while let Some((op, ctx)) = state.pop_ready() {
        ran += 1;
        state.finish(plan, op, ctx, Outcome::Done);
    }
    ran
}

fn bench_graph(c: &mut Criterion, name: &str, doc: String) {
    let engine = Operon::builder(doc.clone()).op_ref("inc", inc).build().expect("the benchmark graph is valid");
    let ops = engine.plan().ops.len() as u64;
    let inputs = json!({"x": 1});
    assert!(engine.run(inputs.clone()).expect("the benchmark graph runs").frames.len() == 1);

    let mut group = c.benchmark_group(format!("{name}_{ops}_ops"));
    group.throughput(Throughput::Elements(ops));
    group.bench_function("driver_run", |b| b.iter(|| engine.run(black_box(inputs.clone())).unwrap()));
    group.bench_function("run_state_only", |b| b.iter(|| run_state_only(black_box(engine.plan()))));
    group.bench_function("build", |b| {
        b.iter(|| Operon::builder(black_box(doc.clone())).op_ref("inc", inc).build().unwrap())
    });
    group.finish();
}

/// A root loop over `x` (from 0): `a → b → c`, each adding one, `c` feeding `x` back, until `x >= limit`.
fn counting_loop(limit: u32) -> String {
    let mut ops = Map::new();
    ops.insert("a".into(), reader(None));
    ops.insert("b".into(), reader(Some("a")));
    let mut c = reader(Some("b"));
    c["outputs"] = json!({"v": {"ref": {"source": "g", "var": "x"}}});
    ops.insert("c".into(), c);
    let mut doc: Value =
        serde_json::from_str(&document(ops, vec![("a".into(), "b".into()), ("b".into(), "c".into())], &["a"], &[]))
            .expect("a JSON document");
    doc["inputs"] = json!({"x": {"literal": 0}});
    doc["loop"] = json!({"until": format!("x >= {limit}"), "max_iterations": 2 * limit});
    doc.to_string()
}

fn bench_loop(c: &mut Criterion) {
    let limit = 1000;
    let engine = Operon::builder(counting_loop(limit)).op_ref("inc", inc).build().expect("the loop graph is valid");
    let out = engine.run(json!({})).expect("the loop runs");
    assert_eq!(out.outputs["x"], json!(1002));
    let body_ops = 3 * (limit as u64).div_ceil(3);
    let mut group = c.benchmark_group("loop_3_op_body");
    group.throughput(Throughput::Elements(body_ops));
    group.bench_function("driver_run", |b| b.iter(|| engine.run(black_box(json!({}))).unwrap()));
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_loop(c);
    bench_graph(c, "chain", chain(1000));
    bench_graph(c, "fanout_1_1000_1", fan(1000));
    bench_graph(c, "diamond", diamond());
}

criterion_group!(scheduler, benches);
criterion_main!(scheduler);
