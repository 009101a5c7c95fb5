//! Which op outputs a run may drop as soon as their one reader is called (`Facts::sole_reads`),
//! and runs that drop them giving what they gave before.

use operonx::ops::{Inputs, Outputs};
use operonx::run::Facts;
use operonx::Operon;
use serde_json::{json, Map, Value};

fn inc(i: &Inputs) -> Result<Outputs, String> {
    let total: i64 = i.iter().map(|(_, v)| v.as_i64().unwrap_or(0)).sum();
    Ok(Outputs::from_iter([("x".to_string(), json!(total + 1)), ("s".to_string(), json!("text"))]))
}

fn reader(refs: &[(&str, &str)]) -> Value {
    let inputs: Map<String, Value> = refs
        .iter()
        .enumerate()
        .map(|(k, (source, var))| {
            (format!("i{k}"), json!({"required": true, "ref": {"source": format!("g.{source}"), "var": var}}))
        })
        .collect();
    json!({"type": "code", "func_name": "inc", "inputs": inputs})
}

/// A graph `g` of ops (name, refs they read) with `edges`; the first op reads the graph's `x`.
fn engine(ops: &[(&str, &[(&str, &str)])], edges: &[(&str, &str)], exits: &[&str]) -> Operon {
    let mut doc_ops = Map::new();
    for (k, (name, refs)) in ops.iter().enumerate() {
        let op = if k == 0 {
            json!({"type": "code", "func_name": "inc",
                   "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}})
        } else {
            reader(refs)
        };
        doc_ops.insert(name.to_string(), op);
    }
    let edges: Vec<Value> = edges.iter().map(|(a, b)| json!({"from": a, "to": b})).collect();
    let doc = json!({"schema_version": "1.0", "type": "graph", "name": "g", "ops": doc_ops, "edges": edges,
                     "entries": [ops[0].0], "exits": exits});
    Operon::builder(doc.to_string()).op_ref("inc", inc).build().expect("the graph builds")
}

/// `sole_reads` of every op, by name.
fn sole_reads(engine: &Operon) -> Vec<(String, Vec<String>)> {
    let plan = engine.plan();
    let facts = Facts::new(plan);
    let name = |id: u32| plan.ops[id as usize].name.clone();
    (0..plan.ops.len() as u32)
        .filter(|&id| !facts.sole_reads(id).is_empty())
        .map(|id| (name(id), facts.sole_reads(id).iter().map(|&s| name(s)).collect()))
        .collect()
}

fn pairs(expected: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    expected.iter().map(|(r, s)| (r.to_string(), s.iter().map(|x| x.to_string()).collect())).collect()
}

#[test]
fn in_a_chain_each_op_alone_reads_the_one_before() {
    let e = engine(&[("a", &[]), ("b", &[("a", "x")]), ("c", &[("b", "x")])], &[("a", "b"), ("b", "c")], &["c"]);
    assert_eq!(sole_reads(&e), pairs(&[("b", &["a"]), ("c", &["b"])]));
    let out = e.run(json!({"x": 0})).expect("the run succeeds");
    assert_eq!(out.outputs["x"], json!(3));
}

#[test]
fn outputs_read_twice_are_kept() {
    // a is read by b and by c; d reads b's x and s (two refs to b) and c's x
    let e = engine(
        &[("a", &[]), ("b", &[("a", "x")]), ("c", &[("a", "x")]), ("d", &[("b", "x"), ("b", "s"), ("c", "x")])],
        &[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
        &["d"],
    );
    assert_eq!(sole_reads(&e), pairs(&[("d", &["c"])]));
    // b's x (2), b's s (a string: 0), c's x (2), plus one
    let out = e.run(json!({"x": 0})).expect("the run succeeds");
    assert_eq!(out.outputs["x"], json!(5));
}

#[test]
fn a_run_that_drops_outputs_gives_what_it_gave_before_on_every_driver() {
    let e = engine(
        &[("a", &[]), ("b", &[("a", "x")]), ("c", &[("b", "x")]), ("d", &[("c", "x"), ("a", "x")])],
        &[("a", "b"), ("b", "c"), ("c", "d")],
        &["d"],
    );
    assert_eq!(sole_reads(&e), pairs(&[("c", &["b"]), ("d", &["c"])]));
    for _ in 0..3 {
        assert_eq!(e.run(json!({"x": 0})).expect("inline").outputs["x"], json!(3 + 1 + 1));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let inputs = Map::from_iter([("x".to_string(), json!(0))]);
        let result = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), e.run_json_async(inputs, None, None, None)).await
        });
        assert_eq!(result.expect("no hang").expect("tokio")["x"], json!(5));
    }
}
