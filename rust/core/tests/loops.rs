//! Loops through the Rust driver: iterations feed their outputs back, `until` stops them,
//! `max_iterations` caps them at every level, and frames carry their iteration.

use operonx::ops::{Inputs, Outputs};
use operonx::plan::until;
use operonx::{OperonError, Operon};
use serde_json::{json, Map, Value};

mod common;
use common::Found;

fn inc(inputs: &Inputs) -> Result<Outputs, String> {
    let count = inputs.get("count").and_then(Value::as_i64).unwrap_or(0);
    Ok(Outputs::from_iter([("count".to_string(), json!(count + 1))]))
}

/// An op `a` = inc(count=PARENT["count"]) of graph `full`, forwarding everything.
fn inc_op(full: &str) -> Value {
    json!({"type": "code", "func_name": "inc",
           "inputs": {"count": {"required": false, "default": 0, "ref": {"source": full, "var": "count"}}},
           "outputs": {"count": {}}})
}

/// A root loop over `inc`.
fn root_loop(until: Value, max: u64, initial: i64) -> Value {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "lp", "full_name": "lp",
        "inputs": {"count": {"literal": initial}},
        "loop": {"until": until, "max_iterations": max},
        "ops": {"a": inc_op("lp")}, "edges": [], "entries": ["a"], "exits": ["a"],
    })
}

fn engine(doc: &Value) -> Operon {
    Operon::builder(doc.to_string()).op_ref("inc", inc).build().unwrap()
}

#[test]
fn a_root_loop_feeds_outputs_back_until_the_condition_holds() {
    let out = engine(&root_loop(json!("count >= 3"), 10, 0)).run(json!({})).unwrap();
    assert_eq!(out.outputs, Map::from_iter([("count".to_string(), json!(3))]));
    let contexts: Vec<Vec<String>> = out.frames.iter().map(|f| f.context.clone()).collect();
    assert_eq!(contexts, [vec!["main", "loop_0"], vec!["main", "loop_1"], vec!["main", "loop_2"]]);
    assert!(out.loops_at_max.is_empty());
}

#[test]
fn every_iteration_counts_its_op_runs() {
    let out = engine(&root_loop(json!("count >= 3"), 10, 0)).run(json!({})).unwrap();
    assert_eq!(out.op_runs, 3);
    let out = engine(&root_loop(json!("count >= 3"), 10, 0)).run(json!({"count": 2})).unwrap();
    assert_eq!(out.op_runs, 1);
}

#[test]
fn run_inputs_override_initial_values() {
    let out = engine(&root_loop(json!("count >= 3"), 10, 0)).run(json!({"count": 2})).unwrap();
    assert_eq!(out.outputs["count"], json!(3));
    assert_eq!(out.frames.len(), 1);
}

#[test]
fn a_loop_that_reaches_max_iterations_ends_and_says_so() {
    let out = engine(&root_loop(json!("count >= 100"), 4, 0)).run(json!({})).unwrap();
    assert_eq!(out.outputs["count"], json!(4));
    assert_eq!(out.loops_at_max, [("lp".to_string(), vec!["main".to_string()])]);
}

#[test]
fn no_condition_runs_max_iterations() {
    let out = engine(&root_loop(Value::Null, 5, 0)).run(json!({})).unwrap();
    assert_eq!(out.outputs["count"], json!(5));
}

#[test]
fn an_until_over_an_unknown_variable_names_it() {
    let err = engine(&root_loop(json!("cnt >= 3"), 4, 0)).run(json!({})).unwrap_err();
    let OperonError::OpFailed { op, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!(op, "lp");
    assert!(message.contains("'cnt'"), "{message}");
}

#[test]
fn an_unreadable_until_is_a_validation_error() {
    for bad in ["count >=", "count in [1]", "count & 1", "(count", ""] {
        let doc = root_loop(json!(bad), 4, 0);
        let err = Operon::builder(doc.to_string()).op_ref("inc", inc).build().err().unwrap();
        assert!(matches!(err, OperonError::Invalid { .. }), "{bad}: {err:?}");
        assert!(err.to_string().contains("until"), "{err}");
    }
    for max in [json!(0), json!(-1), json!("3"), json!(1.5)] {
        let mut doc = root_loop(json!("count > 1"), 4, 0);
        doc["loop"]["max_iterations"] = max.clone();
        let err = Operon::builder(doc.to_string()).op_ref("inc", inc).build().err().unwrap();
        assert!(err.to_string().contains("max_iterations"), "{max}: {err}");
    }
}

/// `outer` = double(x) >> loop `lp` (count = d.y, until count >= `stop`, max `max`) >> after(lp.count).
fn nested(stop: i64, max: u64, inner_max: Option<u64>) -> Value {
    let mut body = json!({"a": inc_op("outer.lp")});
    if let Some(inner_max) = inner_max {
        // a loop inside the loop that never stops by itself
        body["inner"] = json!({
            "type": "graph", "loop": {"until": null, "max_iterations": inner_max},
            "inputs": {"count": {"ref": {"source": "outer.lp.a", "var": "count"}}},
            "outputs": {}, "forward_all": false,
            "graph": {"name": "inner", "full_name": "outer.lp.inner",
                      "ops": {"b": inc_op("outer.lp.inner")}, "entries": ["b"], "exits": ["b"]},
        });
    }
    let edges = if inner_max.is_some() { json!([{"from": "a", "to": "inner"}]) } else { json!([]) };
    json!({
        "schema_version": "1.0", "type": "graph", "name": "outer", "full_name": "outer",
        "ops": {
            "d": {"type": "code", "func_name": "double",
                  "inputs": {"x": {"required": true, "ref": {"source": "outer", "var": "x"}}}},
            "lp": {"type": "graph", "loop": {"until": format!("count >= {stop}"), "max_iterations": max},
                   "inputs": {"count": {"ref": {"source": "outer.d", "var": "y"}}},
                   "graph": {"name": "lp", "full_name": "outer.lp", "ops": body, "edges": edges,
                             "entries": ["a"], "exits": ["a"]}},
            "after": {"type": "code", "func_name": "double",
                      "inputs": {"x": {"required": true, "ref": {"source": "outer.lp", "var": "count"}}}},
        },
        "edges": [{"from": "d", "to": "lp"}, {"from": "lp", "to": "after"}],
        "entries": ["d"], "exits": ["after", "lp"],
    })
}

fn nested_engine(doc: &Value) -> Operon {
    Operon::builder(doc.to_string())
        .op_ref("inc", inc)
        .op_ref("double", |i: &Inputs| -> Result<Outputs, String> {
            let x = i.get("x").and_then(Value::as_i64).ok_or("x is not an int")?;
            Ok(Outputs::from_iter([("y".to_string(), json!(x * 2))]))
        })
        .build()
        .unwrap()
}

#[test]
fn a_nested_loop_emits_a_frame_per_iteration_and_its_last_outputs_go_on() {
    let out = nested_engine(&nested(3, 10, None)).run(json!({"x": -2})).unwrap();
    // count: -4 -> -3 ... -> 3 is seven iterations; `after` doubles the last count.
    let lp: Vec<&operonx::Frame> = out.frames.iter().filter(|f| f.op == "lp").collect();
    assert_eq!(lp.len(), 7);
    assert_eq!(lp[6].context, ["main", "loop_6"]);
    assert_eq!(out.outputs["y"], json!(6));
    assert_eq!(out.outputs["count"], json!(3), "only the last iteration's frame counts");
}

#[test]
fn max_iterations_holds_for_a_loop_nested_in_a_loop() {
    let out = nested_engine(&nested(1000, 3, Some(5))).run(json!({"x": 0})).unwrap();
    // The outer loop stops at 3 iterations; the inner one at 5 in each.
    assert_eq!(out.outputs["count"], json!(3));
    let capped: Vec<&str> = out.loops_at_max.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(capped, ["outer.lp.inner", "outer.lp.inner", "outer.lp.inner", "outer.lp"]);
    assert_eq!(out.loops_at_max[0].1, ["main", "loop_0"]);
}

#[test]
fn the_until_parser_reads_python_expressions() {
    let ok = [
        "count >= 5",
        "error == None",
        "error is None and not done",
        "0 < x <= 10",
        "x['k'][0] + 2 * -y ** 2 // 3 % 4 != 1.5e3",
        "a.b or (c - 1) / 2",
        "s == \"it's\"",
    ];
    for text in ok {
        let mut names = Found::default();
        until::parse(text, &mut names).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    let deep_brackets = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
    let deep_unary = format!("{}x", "-".repeat(100_000));
    let long_sum = vec!["x"; 5000].join(" + ");
    let wide_sum = vec!["x"; 300].join(" + ");
    let deep_not = format!("{}x", "not ".repeat(100_000));
    let deep = [deep_brackets.as_str(), deep_unary.as_str(), long_sum.as_str(), deep_not.as_str(), wide_sum.as_str()];
    for bad in ["x is 3", "x +", "x y", "1 2", "lambda: 1", "x.", "'open"].into_iter().chain(deep) {
        let mut names = Found::default();
        assert!(until::parse(bad, &mut names).is_err(), "{bad}");
    }
}
