//! Every op is reached from its graph's START: a path of edges (hard or soft) leads to it from one of its
//! graph's entries, and a nested graph or loop is itself reached in its parent. Else the document is
//! refused with one `unreachable` problem per op, naming the op and its graph. Only the static graph
//! counts: ops a branch or a failure may skip at run time are reached. Random DAGs, at the root, in a
//! nested graph and in a loop, build exactly when every op is reached.

use operonx::ops::{Inputs, Outputs};
use operonx::{OperonError, Operon, Problem};
use serde_json::{json, Map, Value};

mod common;
use common::Rng;

fn noop(_: &Inputs) -> Result<Outputs, String> {
    Ok(Outputs::new())
}

fn code() -> Value {
    json!({"type": "code", "func_name": "f"})
}

/// A graph document (nested when `full` has a dot); edges are `(from, to, soft)`.
fn graph(full: &str, ops: Value, edges: &[(&str, &str, bool)], entries: &[&str], exits: &[&str]) -> Value {
    let edges: Vec<Value> = edges.iter().map(|(a, b, s)| json!({"from": a, "to": b, "soft": s})).collect();
    let name = full.rsplit('.').next().unwrap();
    json!({"schema_version": "1.0", "type": "graph", "name": name, "full_name": full,
        "ops": ops, "edges": edges, "entries": entries, "exits": exits})
}

/// A nested graph op whose document is `body`.
fn nested(body: Value) -> Value {
    json!({"type": "graph", "full_name": body["full_name"].clone(), "graph": body})
}

/// A nested loop op whose document is `body`, run twice.
fn nested_loop(body: Value) -> Value {
    let mut op = nested(body);
    op["loop"] = json!({"until": null, "max_iterations": 2});
    op
}

/// The problems of building `doc` with the Rust driver (none when it builds).
fn problems(doc: &Value) -> Vec<Problem> {
    match Operon::builder(doc.to_string()).op_ref("f", noop).build() {
        Ok(_) => Vec::new(),
        Err(OperonError::Invalid { problems, .. }) => problems,
        Err(other) => panic!("expected Invalid or Ok, got {other:?}"),
    }
}

/// `(op, graph)` of every problem, after checking each is an `unreachable` one whose message names the
/// op, its graph and the fix.
fn unreachable(problems: &[Problem]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for p in problems {
        assert_eq!(p.category, "unreachable", "{p}");
        let op = p.op_name.clone().unwrap();
        let m = &p.message;
        let graph = m.split("of graph '").nth(1).and_then(|s| s.split('\'').next()).unwrap_or_default();
        assert!(m.starts_with(&format!("op '{op}' of graph '")), "{m}");
        assert!(m.contains("START"), "{m}");
        assert!(m.contains(&format!("START >> {op}")), "{m}");
        assert!(m.contains("remove it"), "{m}");
        found.push((op, graph.to_string()));
    }
    found
}

fn named(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(o, g)| (o.to_string(), g.to_string())).collect()
}

#[test]
fn an_op_no_path_from_start_reaches_is_refused_naming_it() {
    let ops = json!({"a": code(), "b": code(), "lonely": code(), "after": code()});
    let edges = [("a", "b", false), ("lonely", "after", true)];
    let p = problems(&graph("g", ops.clone(), &edges, &["a"], &["b", "after"]));
    assert_eq!(unreachable(&p), named(&[("lonely", "g"), ("after", "g")]));
    let err = Operon::builder(graph("g", ops.clone(), &edges, &["a"], &["b"]).to_string()).op_ref("f", noop).build();
    assert!(err.err().unwrap().to_string().contains("op 'lonely' of graph 'g' is unreachable"));

    // wired from START, or from an op START reaches, the same ops build
    assert!(problems(&graph("g", ops.clone(), &edges, &["a", "lonely"], &["b", "after"])).is_empty());
    let more = [("a", "b", false), ("lonely", "after", true), ("b", "lonely", false)];
    assert!(problems(&graph("g", ops.clone(), &more, &["a"], &["after"])).is_empty());

    // with no entry at all, the graph's one problem is that, not one per op
    let p = problems(&graph("g", ops, &edges, &[], &["b", "after"]));
    let categories: Vec<&str> = p.iter().map(|p| p.category).collect();
    assert_eq!(categories, ["no_entry"]);
}

#[test]
fn an_op_with_a_hard_predecessor_start_does_not_reach_is_still_reached_through_another() {
    // w waits for u, which nothing reaches: only u is refused (w is reached through a).
    let ops = json!({"a": code(), "u": code(), "w": code()});
    let p = problems(&graph("g", ops, &[("a", "w", false), ("u", "w", false)], &["a"], &["w"]));
    assert_eq!(unreachable(&p), named(&[("u", "g")]));
}

#[test]
fn soft_edges_and_ops_skipped_at_run_time_count_as_paths() {
    // a >~ b >> c: a soft path reaches c
    let ops = json!({"a": code(), "b": code(), "c": code()});
    assert!(problems(&graph("g", ops, &[("a", "b", true), ("b", "c", false)], &["a"], &["c"])).is_empty());

    // the target a branch does not take, the op after a disabled op: reached, skipped when the graph runs
    let never = json!({"source": "g", "var": "x"}); // a missing value: the case does not hold
    let branch = json!({"type": "branch", "default": "yes", "cases": [{"condition": never, "target": "no"}]});
    let mut off = code();
    off["enabled"] = json!(false);
    let mut ops = json!({"r": branch, "yes": code(), "no": code(), "off": off, "after": code()});
    let edges = [("r", "yes", false), ("r", "no", false), ("off", "after", false)];
    let doc = graph("g", ops.clone(), &edges, &["r", "off"], &["yes", "no", "after"]);
    let engine = Operon::builder(doc.to_string()).op_ref("f", noop).build().unwrap();
    let out = engine.run(json!({})).unwrap();
    let ran: Vec<&str> = out.frames.iter().map(|f| f.op.as_str()).collect();
    assert_eq!(ran, ["yes"]);

    // one more op that nothing wires: it alone is named
    ops["lonely"] = code();
    let p = problems(&graph("g", ops, &edges, &["r", "off"], &["yes", "no", "after", "lonely"]));
    assert_eq!(unreachable(&p), named(&[("lonely", "g")]));
}

#[test]
fn an_op_of_a_nested_graph_is_reached_from_that_graphs_own_start() {
    // j is not reached from sub's entries (the parent's START does not count inside sub)
    let body = graph("g.sub", json!({"i": code(), "j": code()}), &[], &["i"], &["i", "j"]);
    let ops = json!({"a": code(), "sub": nested(body.clone())});
    let p = problems(&graph("g", ops.clone(), &[("a", "sub", false)], &["a"], &["sub"]));
    assert_eq!(unreachable(&p), named(&[("j", "g.sub")]));

    // the nested graph itself not reached in its parent: only it is named, not its ops
    let p = problems(&graph("g", ops, &[], &["a"], &["a", "sub"]));
    assert_eq!(unreachable(&p), named(&[("sub", "g")]));

    // two levels down, and every op reached from its own entries
    let deep = graph("g.sub.deep", json!({"x": code(), "y": code()}), &[("x", "y", true)], &["x"], &["y"]);
    let lost = graph("g.sub.deep", json!({"x": code(), "y": code()}), &[], &["x"], &["x", "y"]);
    for (deep, want) in [(deep, vec![]), (lost, named(&[("y", "g.sub.deep")]))] {
        let body =
            graph("g.sub", json!({"i": code(), "deep": nested(deep)}), &[("i", "deep", false)], &["i"], &["deep"]);
        let p = problems(&graph("g", json!({"sub": nested(body)}), &[], &["sub"], &["sub"]));
        assert_eq!(unreachable(&p), want);
    }

    // a nested graph with ops but no entry: each of its ops is named
    let body = graph("g.sub", json!({"i": code(), "j": code()}), &[("i", "j", false)], &[], &["j"]);
    let p = problems(&graph("g", json!({"sub": nested(body)}), &[], &["sub"], &["sub"]));
    assert_eq!(unreachable(&p), named(&[("i", "g.sub"), ("j", "g.sub")]));
}

#[test]
fn an_op_of_a_loop_body_is_reached_from_the_loops_own_start() {
    let body = graph("g.lp", json!({"i": code(), "j": code()}), &[], &["i"], &["i", "j"]);
    let ops = json!({"lp": nested_loop(body)});
    assert_eq!(unreachable(&problems(&graph("g", ops, &[], &["lp"], &["lp"]))), named(&[("j", "g.lp")]));
    let body = graph("g.lp", json!({"i": code(), "j": code()}), &[("i", "j", true)], &["i"], &["j"]);
    let ops = json!({"lp": nested_loop(body)});
    assert!(problems(&graph("g", ops, &[], &["lp"], &["lp"])).is_empty());

    // a root loop
    let mut root = graph("lp", json!({"i": code(), "j": code()}), &[], &["i"], &["i", "j"]);
    root["loop"] = json!({"until": null, "max_iterations": 2});
    assert_eq!(unreachable(&problems(&root)), named(&[("j", "lp")]));
    root["edges"] = json!([{"from": "i", "to": "j"}]);
    assert!(problems(&root).is_empty());
}

/// A random DAG of `op0..op{n-1}`: edges `(from, to, soft)` from a lower to a higher index, and entries
/// (mostly the ops with no predecessor).
struct Dag {
    names: Vec<String>,
    edges: Vec<(usize, usize, bool)>,
    entries: Vec<usize>,
}

impl Dag {
    fn random(rng: &mut Rng) -> Dag {
        let n = 1 + rng.below(40);
        let density = [2, 6, 15, 40][rng.below(4)];
        let mut edges = Vec::new();
        for j in 1..n {
            for i in 0..j {
                if rng.below(100) < density {
                    edges.push((i, j, rng.below(2) == 0));
                }
            }
        }
        let entries = (0..n)
            .filter(|&j| j == 0 || rng.below(100) < if edges.iter().any(|e| e.1 == j) { 3 } else { 93 })
            .collect();
        Dag { names: (0..n).map(|j| format!("op{j}")).collect(), edges, entries }
    }

    /// Which ops START reaches, found by walking the ops in index order.
    fn reached(&self) -> Vec<bool> {
        let mut reached = vec![false; self.names.len()];
        for &e in &self.entries {
            reached[e] = true;
        }
        let mut edges = self.edges.clone();
        edges.sort_by_key(|e| e.1);
        for (i, j, _) in edges {
            reached[j] |= reached[i];
        }
        reached
    }

    /// The document of the DAG as graph `full`.
    fn document(&self, full: &str) -> Value {
        let n = |i: usize| self.names[i].as_str();
        let edges: Vec<(&str, &str, bool)> = self.edges.iter().map(|&(i, j, s)| (n(i), n(j), s)).collect();
        let entries: Vec<&str> = self.entries.iter().map(|&e| n(e)).collect();
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let ops: Map<String, Value> = self.names.iter().map(|o| (o.clone(), code())).collect();
        graph(full, Value::Object(ops), &edges, &entries, &names)
    }
}

#[test]
fn random_dags_build_exactly_when_every_op_is_reached() {
    let (mut refused, mut accepted) = (0, 0);
    for seed in 0..600 {
        let mut rng = Rng(seed);
        let dag = Dag::random(&mut rng);
        // at the root, in a nested graph, in a nested loop
        let where_ = rng.below(3);
        let full = ["g", "g.sub", "g.sub"][where_];
        let doc = match where_ {
            0 => dag.document(full),
            1 => graph("g", json!({"sub": nested(dag.document(full))}), &[], &["sub"], &["sub"]),
            _ => graph("g", json!({"sub": nested_loop(dag.document(full))}), &[], &["sub"], &["sub"]),
        };
        let reached = dag.reached();
        let want: Vec<(String, String)> =
            dag.names.iter().zip(&reached).filter(|(_, &r)| !r).map(|(o, _)| (o.clone(), full.to_string())).collect();
        let p = problems(&doc);
        assert_eq!(unreachable(&p), want, "seed {seed}");
        if want.is_empty() {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(refused > 150 && accepted > 150, "refused {refused}, accepted {accepted}");
}
