//! A ref reads an op upstream of its reader only: a path of edges (hard or soft) must lead from the op
//! read to the op reading, else the document is refused with a `not_upstream` problem naming both. Every
//! place a ref can appear is covered (inputs, transform operands, branch conditions, a nested graph's
//! inputs, loop bodies, generators' consumers), and random DAGs with one extra ref are accepted exactly
//! when the op read is upstream.

use operonx::graph::schema;
use operonx::ops::{Inputs, Outputs};
use operonx::{plan, OperonError, Operon, Problem};
use serde_json::{json, Map, Value};

mod common;
use common::Rng;

fn noop(_: &Inputs) -> Result<Outputs, String> {
    Ok(Outputs::new())
}

/// A code op calling `f` with the given inputs.
fn code(inputs: Value) -> Value {
    json!({"type": "code", "func_name": "f", "inputs": inputs})
}

/// An input bound to `var` of `source` (an op's or a graph's full name).
fn read(source: &str, var: &str) -> Value {
    json!({"required": false, "ref": {"source": source, "var": var}})
}

/// A graph document; edges are `(from, to, soft)`.
fn graph(name: &str, ops: Value, edges: &[(&str, &str, bool)], entries: &[&str], exits: &[&str]) -> Value {
    let edges: Vec<Value> = edges.iter().map(|(a, b, s)| json!({"from": a, "to": b, "soft": s})).collect();
    json!({"schema_version": "1.0", "type": "graph", "name": name, "full_name": name,
        "ops": ops, "edges": edges, "entries": entries, "exits": exits})
}

/// A nested graph op of `outer` named `name`, with its inputs and body.
fn nested(outer: &str, name: &str, inputs: Value, body: Value) -> Value {
    let mut body = body;
    body["full_name"] = json!(format!("{outer}.{name}"));
    json!({"type": "graph", "full_name": format!("{outer}.{name}"), "inputs": inputs, "graph": body})
}

/// The problems of building `doc` with the Rust driver (none when it builds).
fn problems(doc: &Value) -> Vec<Problem> {
    match Operon::builder(doc.to_string()).op_ref("f", noop).build() {
        Ok(_) => Vec::new(),
        Err(OperonError::Invalid { problems, .. }) => problems,
        Err(other) => panic!("expected Invalid or Ok, got {other:?}"),
    }
}

/// The problems of compiling `doc` to a plan (documents with generators, which the Rust driver does not run).
fn plan_problems(doc: &Value) -> Vec<Problem> {
    match plan::compile(&schema::from_value(doc.clone()).unwrap()) {
        Ok(_) => Vec::new(),
        Err(OperonError::Invalid { problems, .. }) => problems,
        Err(other) => panic!("expected Invalid or Ok, got {other:?}"),
    }
}

/// `(reader, op read)` of every `not_upstream` problem, after checking each names both in its message.
fn not_upstream(problems: &[Problem]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for p in problems.iter().filter(|p| p.category == "not_upstream") {
        let (r, s) = (p.op_name.clone().unwrap(), p.target_name.clone().unwrap());
        assert!(p.message.contains(&format!("op '{r}'")), "{}", p.message);
        assert!(p.message.contains(&format!("from op '{s}'")), "{}", p.message);
        assert!(p.message.contains(&format!("{s} >> {r}")), "{}", p.message);
        found.push((r, s));
    }
    found
}

fn pair(reader: &str, source: &str) -> Vec<(String, String)> {
    vec![(reader.to_string(), source.to_string())]
}

#[test]
fn reading_a_sibling_entry_is_refused_whatever_the_wiring_order() {
    let ops = json!({"a": code(json!({"v": read("g", "x")})), "b": code(json!({"v": read("g.a", "v")}))});
    for entries in [["a", "b"], ["b", "a"]] {
        let p = problems(&graph("g", ops.clone(), &[], &entries, &["a", "b"]));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(not_upstream(&p), pair("b", "a"));
    }
    // with the edge a >> b, or any path of hard or soft edges, the same read is fine
    let via = json!({"a": code(json!({})), "m": code(json!({})), "b": code(json!({"v": read("g.a", "v")}))});
    assert!(problems(&graph("g", ops, &[("a", "b", false)], &["a"], &["b"])).is_empty());
    assert!(problems(&graph("g", via.clone(), &[("a", "m", true), ("m", "b", false)], &["a"], &["b"])).is_empty());
    assert!(problems(&graph("g", via, &[("a", "m", false), ("m", "b", true)], &["a"], &["b"])).is_empty());
}

#[test]
fn reading_a_downstream_op_is_refused() {
    let ops = json!({"a": code(json!({"v": read("g.b", "v")})), "b": code(json!({}))});
    let p = problems(&graph("g", ops, &[("a", "b", false)], &["a"], &["b"]));
    assert_eq!(not_upstream(&p), pair("a", "b"));
}

#[test]
fn transform_operands_and_branch_conditions_read_upstream_ops_only() {
    let operand = json!({"required": false, "ref": {"source": "g", "var": "x",
        "transforms": [["add", [{"__ref__": {"source": "g.a", "var": "v"}}]]]}});
    let ops = json!({"a": code(json!({})), "b": code(json!({"v": operand}))});
    assert_eq!(not_upstream(&problems(&graph("g", ops, &[], &["a", "b"], &["b"]))), pair("b", "a"));

    let branch = json!({"type": "branch", "default": "t",
        "cases": [{"condition": {"source": "g.a", "var": "v", "transforms": [["gt", [3]]]}, "target": "t"}]});
    let ops = json!({"a": code(json!({})), "r": branch, "t": code(json!({}))});
    let edges = [("r", "t", false)];
    let p = problems(&graph("g", ops.clone(), &edges, &["a", "r"], &["t"]));
    assert_eq!(not_upstream(&p), pair("r", "a"));
    assert!(problems(&graph("g", ops, &[("a", "r", false), ("r", "t", false)], &["a"], &["t"])).is_empty());
}

#[test]
fn a_nested_graph_reads_upstream_ops_and_is_read_downstream_only() {
    let body = graph("sub", json!({"i": code(json!({"v": read("g.sub", "q")}))}), &[], &["i"], &["i"]);
    let sub = nested("g", "sub", json!({"q": read("g.a", "v")}), body);
    let ops = json!({"a": code(json!({})), "sub": sub, "c": code(json!({"v": read("g.sub", "v")}))});
    // the nested graph is the reader of its inputs; the op after it reads its end
    let p = problems(&graph("g", ops.clone(), &[("sub", "c", false)], &["a", "sub"], &["c"]));
    assert_eq!(not_upstream(&p), pair("sub", "a"));
    let p = problems(&graph("g", ops.clone(), &[("a", "sub", false)], &["a", "c"], &["sub", "c"]));
    assert_eq!(not_upstream(&p), pair("c", "sub"));
    let fine = problems(&graph("g", ops, &[("a", "sub", false), ("sub", "c", false)], &["a"], &["c"]));
    assert!(fine.is_empty(), "{fine:?}");

    // inside the nested graph, its ops read each other upstream only (PARENT is always fine)
    let inner = json!({"i": code(json!({"v": read("g.sub", "q")})), "j": code(json!({"v": read("g.sub.i", "v")}))});
    let sub = nested("g", "sub", json!({"q": read("g", "x")}), graph("sub", inner, &[], &["i", "j"], &["j"]));
    let p = problems(&graph("g", json!({"sub": sub}), &[], &["sub"], &["sub"]));
    assert_eq!(not_upstream(&p), pair("j", "i"));
}

#[test]
fn a_loop_body_reads_ops_upstream_in_the_same_iteration_only() {
    let body = json!({"i": code(json!({"v": read("g.l", "n")})), "j": code(json!({"n": read("g.l.i", "v")}))});
    let mut l = nested("g", "l", json!({"n": {"literal": 0}}), graph("l", body, &[], &["i", "j"], &["j"]));
    l["loop"] = json!({"until": "n >= 3", "max_iterations": 5});
    let p = problems(&graph("g", json!({"l": l.clone()}), &[], &["l"], &["l"]));
    assert_eq!(not_upstream(&p), pair("j", "i"));
    l["graph"]["edges"] = json!([{"from": "i", "to": "j"}]);
    l["graph"]["entries"] = json!(["i"]);
    assert!(problems(&graph("g", json!({"l": l}), &[], &["l"], &["l"])).is_empty());
}

#[test]
fn a_generators_consumers_read_it_upstream_only() {
    let gen = json!({"type": "code", "func_name": "f", "is_generator": true});
    for policy in [Value::Null, json!("parallel"), json!("collect")] {
        let items = json!({"required": true, "ref": {"source": "g.s", "var": "v", "policy": policy}});
        let ops = json!({"s": gen.clone(), "c": code(json!({"v": items}))});
        let p = plan_problems(&graph("g", ops.clone(), &[], &["s", "c"], &["c"]));
        assert_eq!(not_upstream(&p), pair("c", "s"), "policy {policy}");
        assert!(plan_problems(&graph("g", ops, &[("s", "c", false)], &["s"], &["c"])).is_empty());
    }
}

#[test]
fn random_dags_with_one_extra_ref_build_exactly_when_the_op_read_is_upstream() {
    let (mut refused, mut accepted) = (0, 0);
    for seed in 0..400 {
        let mut rng = Rng(seed);
        let n = 2 + rng.below(30);
        let mut edges = Vec::new();
        let mut upstream = vec![0u64; n]; // bit i: a path leads from op i
        for j in 1..n {
            for i in 0..j {
                if rng.below(100) < 12 {
                    edges.push((format!("op{i}"), format!("op{j}"), rng.below(3) == 0));
                    upstream[j] |= upstream[i] | (1 << i);
                }
            }
        }
        let reader = rng.below(n);
        let mut source = rng.below(n);
        let up: Vec<usize> = (0..n).filter(|&i| upstream[reader] & (1 << i) != 0).collect();
        if !up.is_empty() && rng.below(2) == 0 {
            source = up[rng.below(up.len())]; // half the time, an op upstream (often not a predecessor)
        }
        if reader == source {
            continue;
        }
        let mut ops = Map::new();
        for j in 0..n {
            let inputs = if j == reader { json!({"v": read(&format!("g.op{source}"), "v")}) } else { json!({}) };
            ops.insert(format!("op{j}"), code(inputs));
        }
        let edges: Vec<(&str, &str, bool)> = edges.iter().map(|(a, b, s)| (a.as_str(), b.as_str(), *s)).collect();
        let names: Vec<String> = (0..n).map(|j| format!("op{j}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let entries: Vec<&str> = names.iter().copied().filter(|&o| edges.iter().all(|e| e.1 != o)).collect();
        let p = problems(&graph("g", Value::Object(ops), &edges, &entries, &names));
        if upstream[reader] & (1 << source) != 0 {
            assert!(p.is_empty(), "seed {seed}: {p:?}");
            accepted += 1;
        } else {
            assert_eq!(not_upstream(&p), pair(&format!("op{reader}"), &format!("op{source}")), "seed {seed}");
            assert_eq!(p.len(), 1, "seed {seed}: {p:?}");
            refused += 1;
        }
    }
    assert!(refused > 100 && accepted > 100, "refused {refused}, accepted {accepted}");
}
