//! A generator collected inside a nested graph: the plan places the nested graph's end where the
//! collected consumer runs (once, in the `__collect__` context), and the scheduler runs the same ops in
//! the same contexts as for the flat body, skipping the nested graph when nothing was collected. Also per
//! item of an outer generator and in a loop body.

use operonx::graph::schema;
use operonx::plan::{self, EdgeKind, OpKind, Plan};
use operonx::scheduler::contexts::render;
use operonx::scheduler::{Outcome, RunState, ROOT};
use serde_json::{json, Value};

/// A code op reading `reads` (`input -> (source, var, policy)`); a generator when `gen`.
fn op(gen: bool, reads: &[(&str, &str, &str, Option<&str>)]) -> Value {
    let inputs: serde_json::Map<String, Value> = reads
        .iter()
        .map(|(input, source, var, policy)| {
            (input.to_string(), json!({"required": true, "ref": {"source": source, "var": var, "policy": policy}}))
        })
        .collect();
    json!({"type": "code", "is_generator": gen, "inputs": inputs})
}

fn graph(name: &str, full: &str, ops: Value, edges: &[(&str, &str)], entries: &[&str], exits: &[&str]) -> Value {
    let edges: Vec<Value> = edges.iter().map(|(a, b)| json!({"from": a, "to": b})).collect();
    json!({"schema_version": "1.0", "type": "graph", "name": name, "full_name": full,
        "ops": ops, "edges": edges, "entries": entries, "exits": exits})
}

/// `gen(n) -> c(xs=gen.v collected) -> after(s=c.s)` in graph `g`, with `gen` and `c` in a nested graph
/// `sub` when `nest`; `n` is the run input, or each item of an outer generator `og` when `outer_gen`.
fn body(nest: bool, outer_gen: bool) -> Value {
    let scope = if nest { "g.sub" } else { "g" };
    let n_source = if nest {
        "g.sub"
    } else if outer_gen {
        "g.og"
    } else {
        "g"
    };
    let gen = op(true, &[("n", n_source, if outer_gen && !nest { "v" } else { "n" }, None)]);
    let c = op(false, &[("xs", &format!("{scope}.gen"), "v", Some("collect"))]);
    let after_source = if nest { "g.sub" } else { "g.c" };
    let after = op(false, &[("s", after_source, "s", None)]);
    let mut ops = if nest {
        let inner = graph("sub", "g.sub", json!({"gen": gen, "c": c}), &[("gen", "c")], &["gen"], &["c"]);
        let sub_n = if outer_gen { ("n", "g.og", "v", None) } else { ("n", "g", "n", None) };
        let mut sub = op(false, &[sub_n]);
        sub["type"] = json!("graph");
        sub["graph"] = inner;
        json!({"sub": sub, "after": after})
    } else {
        json!({"gen": gen, "c": c, "after": after})
    };
    let mut edges = if nest { vec![("sub", "after")] } else { vec![("gen", "c"), ("c", "after")] };
    let mut entries = vec![if nest { "sub" } else { "gen" }];
    if outer_gen {
        ops["og"] = op(true, &[("n", "g", "n", None)]);
        edges.push(("og", entries[0]));
        entries = vec!["og"];
    }
    graph("g", "g", ops, &edges, &entries, &["after"])
}

fn plan_of(doc: &Value) -> Plan {
    plan::compile(&schema::from_value(doc.clone()).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

/// An op run: its short name and its context path.
type OpRun = (String, Vec<String>);

/// Steps a run: generators yield `items(op, generator runs so far)` items; every op succeeds. Returns the
/// code ops and nested-graph ends run, with their contexts.
fn simulate(plan: &Plan, items: &dyn Fn(&str, usize) -> u32) -> Vec<OpRun> {
    let mut st = RunState::new(plan);
    let mut runs = Vec::new();
    let mut gens = 0;
    while let Some((op, ctx)) = st.pop_ready() {
        let p = &plan.ops[op as usize];
        if matches!(p.kind, OpKind::Sync | OpKind::SyncGen | OpKind::GraphExit) {
            runs.push((p.name.clone(), render(&st.contexts().path(ctx))));
        }
        if p.is_gen() {
            st.begin_generator();
            for i in 0..items(&p.name, gens) {
                let item = st.open_item(op, ctx, i);
                st.close_item(plan, op, item);
            }
            gens += 1;
            st.end_generator();
        }
        st.finish(plan, op, ctx, Outcome::Done);
    }
    assert!(st.is_idle());
    runs
}

/// The runs of the body ops (`c`, `after`), and the nested graph's end's contexts.
fn split(runs: &[OpRun]) -> (Vec<OpRun>, Vec<Vec<String>>) {
    let body = runs.iter().filter(|(n, _)| n == "c" || n == "after").cloned().collect();
    let ends = runs.iter().filter(|(n, _)| n == "sub").map(|(_, c)| c.clone()).collect();
    (body, ends)
}

#[test]
fn the_end_of_a_nested_graph_waits_for_a_collected_generator_like_its_consumer() {
    for outer_gen in [false, true] {
        let plan = plan_of(&body(true, outer_gen));
        let id = |n: &str| plan.ops.iter().position(|o| o.full_name == n).unwrap();
        let (gen, c, exit) = (id("g.sub.gen"), id("g.sub.c"), id("g.sub") + 1);
        assert_eq!(plan.ops[exit].kind, OpKind::GraphExit);
        assert_eq!(plan.ops[exit].depth, plan.ops[c].depth);
        let to_exit: Vec<EdgeKind> =
            plan.successors(gen as u32).iter().filter(|e| e.dst as usize == exit).map(|e| e.kind).collect();
        assert_eq!(to_exit, [EdgeKind::Collect]);
    }
}

#[test]
fn a_nested_collect_runs_what_the_flat_body_runs_in_the_same_contexts() {
    for outer_gen in [false, true] {
        for n in [0u32, 1, 3] {
            // the outer generator yields 3 items; the body's generator yields n, then n - 1, ...
            let items = |name: &str, seen: usize| if name == "og" { 3 } else { n.saturating_sub(seen as u32) };
            let flat = simulate(&plan_of(&body(false, outer_gen)), &items);
            let nested = simulate(&plan_of(&body(true, outer_gen)), &items);
            let (mut flat_body, _) = split(&flat);
            let (mut nested_body, ends) = split(&nested);
            if outer_gen {
                // per item of a sequential stream, the next item starts once the nested graph's entry
                // ran (not its last op): items interleave differently, each context runs the same
                flat_body.sort();
                nested_body.sort();
            }
            assert_eq!(nested_body, flat_body, "outer generator {outer_gen}, n {n}");
            // the nested graph ends once per collect that ran, in the consumer's context
            let collected: Vec<Vec<String>> = flat_body.iter().filter(|(o, _)| o == "c").map(|r| r.1.clone()).collect();
            let mut ends: Vec<Vec<String>> = ends.into_iter().filter(|c| c.last().unwrap() == "__collect__").collect();
            ends.sort();
            assert_eq!(ends, collected, "outer generator {outer_gen}, n {n}");
        }
    }
}

#[test]
fn a_nested_collect_in_a_loop_body_runs_once_per_iteration() {
    let mut doc = body(true, false);
    doc["loop"] = json!({"until": null, "max_iterations": 2});
    let plan = plan_of(&doc);
    let mut st = RunState::new(&plan);
    let mut runs = Vec::new();
    let mut iterations = 0;
    while let Some((op, ctx)) = st.pop_ready() {
        let p = &plan.ops[op as usize];
        match p.kind {
            OpKind::LoopEnter => {
                let it = st.open_iteration(op, ctx, 0);
                st.begin_iteration(&plan, op, it);
                continue;
            }
            OpKind::LoopExit => {
                iterations += 1;
                st.end_iteration(ctx);
                st.end_loop(&plan, op - 1, ROOT, Outcome::Done);
                continue;
            }
            OpKind::Sync | OpKind::GraphExit => runs.push((p.name.clone(), render(&st.contexts().path(ctx)))),
            _ => {}
        }
        if p.is_gen() {
            for i in 0..2 {
                let item = st.open_item(op, ctx, i);
                st.close_item(&plan, op, item);
            }
        }
        st.finish(&plan, op, ctx, Outcome::Done);
    }
    assert!(st.is_idle());
    assert_eq!(iterations, 1);
    let collect = vec!["main".to_string(), "loop_0".into(), "__collect__".into()];
    let want: Vec<OpRun> = ["c", "sub", "after"].iter().map(|n| (n.to_string(), collect.clone())).collect();
    assert_eq!(runs, want);
}
