//! Documents written the way the published operonx 0.7.1 crate's tests write them (`compiled_adj` and
//! `initial_ready_count` with no `edges`, `"__PARENT__"` refs, nested graphs inline, `loop_config`,
//! `stream_policy`, `max_stream_concurrent`) run here with the same frames and outputs as the same
//! graph written in our form; documents 0.7.1's Python exports run too; and what cannot be translated is
//! refused by name. The documents are `tests/published/<case>.published.json` beside
//! `<case>.ours.json`.
//!
//! Run through the published crate itself (operonx 0.7.1 from the package registry, same ops), every
//! `*.published.json` case gives the outputs expected here, except the root loop, where 0.7.1 returns
//! the first and the last iteration's count (`[1, 5]`): a deliberate difference (only the last
//! iteration's outputs are the result here). 0.7.1's crate refuses the documents its own Python
//! exports (`"bound": null` on the graph); they run here.

use std::path::Path;

use operonx::ops::{Inputs, Items, Outputs};
use operonx::{Operon, OperonBuilder, OperonError, RunOutput};
use serde_json::{json, Map, Value};

fn document(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("published").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn int(inputs: &Map<String, Value>, key: &str) -> Result<i64, OperonError> {
    inputs.get(key).and_then(Value::as_i64).ok_or_else(|| OperonError::Runtime(format!("{key} must be an int")))
}

fn count_to(i: &Inputs) -> Result<Items, String> {
    let n = i.get("n").and_then(Value::as_i64).ok_or("n must be an int")?;
    Ok(Box::new((0..n).map(|i| Ok(Outputs::from_iter([("i".to_string(), json!(i))])))))
}

/// The ops of the published crate's test pool, plus a few more.
fn ops(builder: OperonBuilder) -> OperonBuilder {
    builder
        .op("double", |i| Ok(json!({"result": int(&i, "x")? * 2})))
        .op("add_one", |i| Ok(json!({"answer": int(&i, "n")? + 1})))
        .op("inc", |i| Ok(json!({"y": int(&i, "x")? + 1})))
        .op("add", |i| Ok(json!({"y": int(&i, "a")? + i.get("b").and_then(Value::as_i64).unwrap_or(5)})))
        .op("total", |i| {
            let xs = i.get("xs").and_then(Value::as_array).ok_or_else(|| OperonError::Runtime("xs".into()))?;
            Ok(json!({"sum": xs.iter().filter_map(Value::as_i64).sum::<i64>()}))
        })
        .gen("count_to", count_to)
}

fn build(text: String) -> Result<Operon, OperonError> {
    ops(Operon::builder(text)).build()
}

fn run(text: String, inputs: &Value) -> RunOutput {
    build(text).unwrap_or_else(|e| panic!("{e}")).run(inputs.clone()).unwrap_or_else(|e| panic!("{e}"))
}

fn frames(out: &RunOutput) -> Vec<Value> {
    out.frames.iter().map(|f| json!([f.op, f.context, f.data])).collect()
}

/// `(case, run inputs, the outputs expected)`.
fn cases() -> Vec<(&'static str, Value, Value)> {
    vec![
        ("chain", json!({"x": 5}), json!({"answer": 11})),
        ("diamond", json!({"x": 5}), json!({"sum": 22})),
        ("soft_join", json!({"x": 5}), json!({"answer": 11, "y": 11, "first": 6})),
        ("branch", json!({"x": 5}), json!({"result": 12})),
        ("branch", json!({"x": 1}), json!({"answer": 3})),
        ("nested", json!({"x": 1}), json!({"answer": 5})),
        ("loop", json!({}), json!({"count": 5})),
        ("loop", json!({"count": 3}), json!({"count": 5})),
        ("collect", json!({"n": 4}), json!({"sum": 6})),
        ("parallel", json!({"n": 3}), json!({"result": [0, 2, 4]})),
    ]
}

#[test]
fn published_documents_run_as_the_same_graphs_in_our_form() {
    for (case, inputs, expected) in cases() {
        let published = run(document(&format!("{case}.published.json")), &inputs);
        let ours = run(document(&format!("{case}.ours.json")), &inputs);
        assert_eq!(Value::Object(published.outputs.clone()), expected, "{case} {inputs}");
        assert_eq!(published.outputs, ours.outputs, "{case} {inputs}");
        assert_eq!(frames(&published), frames(&ours), "{case} {inputs}");
        assert_eq!(published.op_runs, ours.op_runs, "{case} {inputs}");
    }
}

#[test]
fn frames_are_those_the_published_crate_gives() {
    // What operonx 0.7.1's own engine streams for these documents (run with the same ops); the
    // stream contexts of items are "[i]" here (as 0.7.1's Python names them), "yield_i" there.
    let expect = [
        ("soft_join", json!({"x": 5}), json!([["b", ["main"], {"answer": 11}], ["c", ["main"], {"y": 11}], ["first", ["main"], {"first": 6}]])),
        ("branch", json!({"x": 1}), json!([["small", ["main"], {"answer": 3}]])),
        ("collect", json!({"n": 4}), json!([["sink", ["main", "__collect__"], {"sum": 6}]])),
        ("parallel", json!({"n": 3}), json!([["each", ["main", "[0]"], {"result": 0}], ["each", ["main", "[1]"], {"result": 2}], ["each", ["main", "[2]"], {"result": 4}]])),
    ];
    for (case, inputs, want) in expect {
        let out = run(document(&format!("{case}.published.json")), &inputs);
        assert_eq!(Value::Array(frames(&out)), want, "{case}");
    }
}

#[test]
fn published_documents_compile_to_the_plans_of_our_form() {
    for (case, _, _) in cases() {
        let published = build(document(&format!("{case}.published.json"))).unwrap();
        let ours = build(document(&format!("{case}.ours.json"))).unwrap();
        let (p, o) = (published.plan(), ours.plan());
        assert_eq!(p.initial_counts, o.initial_counts, "{case}");
        assert_eq!(p.succ_offsets, o.succ_offsets, "{case}");
        assert_eq!(p.concurrency, o.concurrency, "{case}");
        let names = |plan: &operonx::plan::Plan| plan.ops.iter().map(|op| op.full_name.clone()).collect::<Vec<_>>();
        assert_eq!(names(p), names(o), "{case}");
    }
}

#[test]
fn max_stream_concurrent_is_the_graphs_concurrency() {
    let engine = build(document("parallel.published.json")).unwrap();
    assert_eq!(engine.plan().concurrency, Some(8));
}

#[test]
fn a_loop_config_without_a_cap_gets_the_published_cap() {
    let mut doc: Value = serde_json::from_str(&document("loop.published.json")).unwrap();
    doc["loop_config"] = json!({"until": "count >= 2000", "max_iterations": null});
    let out = run(doc.to_string(), &json!({}));
    assert_eq!(out.outputs["count"], json!(1000));
    assert_eq!(out.loops_at_max.len(), 1);
}

#[test]
fn parent_in_a_nested_graph_reads_that_graphs_inputs() {
    // Inside `sub`, __PARENT__ is sub's input `v` (a's output), not the root's `x`; inside `deeper`,
    // it is deeper's input `r`.
    let out = run(document("nested.published.json"), &json!({"x": 10}));
    assert_eq!(out.outputs["answer"], json!((10 + 1) * 2 + 1));
    assert_eq!(frames(&out), [json!(["sub", ["main"], {"answer": 23}])]);
}

#[test]
fn documents_exported_by_python_0_7_1_run() {
    // GraphOp.serialize() of operonx 0.7.1 (with a schema_version added): edges plus an empty
    // compiled_adj, python_callable, verbose, stream, literal: null, stream_initial_ready, loop_config:
    // null, max_stream_concurrent, a branch with its anchor input and __branch_target__ output.
    let engine = build(document("python_071_branch.json")).unwrap();
    assert_eq!(engine.run(json!({"x": 3})).unwrap().outputs, *json!({"y": 5}).as_object().unwrap());
    assert_eq!(engine.run(json!({"x": 0})).unwrap().outputs, *json!({"y": 6}).as_object().unwrap());
    assert_eq!(engine.plan().concurrency, Some(64));
    let engine = build(document("python_071_nested.json")).unwrap();
    let out = engine.run(json!({"x": 1})).unwrap();
    assert_eq!(out.outputs, *json!({"y": 3}).as_object().unwrap());
    assert_eq!(frames(&out), [json!(["sub", ["main"], {"y": 3}])]);
}

/// The published chain with `edit` applied to its JSON.
fn edited(file: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut doc: Value = serde_json::from_str(&document(file)).unwrap();
    edit(&mut doc);
    doc.to_string()
}

fn problems(text: String) -> Vec<(String, Option<String>, String)> {
    match build(text) {
        Err(OperonError::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.category.to_string(), p.op_name, p.message)).collect()
        }
        Err(e) => panic!("expected the graph to be invalid, got {e}"),
        Ok(_) => panic!("expected the graph to be invalid, it built"),
    }
}

fn malformed(text: String) -> String {
    match build(text) {
        Err(OperonError::Malformed(m)) => m,
        Err(e) => panic!("expected a malformed document, got {e}"),
        Ok(_) => panic!("expected a malformed document, it built"),
    }
}

#[test]
fn a_graph_with_neither_edges_nor_compiled_adj_is_refused() {
    let text = edited("chain.published.json", |d| {
        d.as_object_mut().unwrap().remove("compiled_adj");
        d.as_object_mut().unwrap().remove("initial_ready_count");
    });
    let found = problems(text);
    let (category, op, message) = &found[0];
    assert_eq!((category.as_str(), op.as_deref()), ("no_edges", Some("add_one")));
    assert!(message.contains("neither \"edges\" nor \"compiled_adj\"") && message.contains("'add_one'"), "{message}");

    // The same in a nested graph.
    let text = edited("nested.published.json", |d| {
        d["ops"]["sub"].as_object_mut().unwrap().remove("compiled_adj");
        d["ops"]["sub"].as_object_mut().unwrap().remove("initial_ready_count");
    });
    assert!(problems(text).iter().any(|(c, op, m)| c == "no_edges" && op.as_deref() == Some("deeper") && m.contains("main.sub")));
}

#[test]
fn ready_counts_that_disagree_with_compiled_adj_are_refused() {
    let text = edited("diamond.published.json", |d| d["initial_ready_count"]["d"] = json!(1));
    let found = problems(text);
    assert_eq!(found.len(), 1);
    assert!(found[0].2.contains("gives op 'd' 1, but compiled_adj gives it 2 hard predecessors, so its count is 2"), "{found:?}");

    let text = edited("diamond.published.json", |d| {
        d["initial_ready_count"].as_object_mut().unwrap().remove("d");
    });
    assert!(problems(text)[0].2.contains("has no count for op 'd'"));

    let text = edited("soft_join.published.json", |d| d["initial_ready_count"]["first"] = json!(2));
    assert!(problems(text)[0].2.contains("hard predecessors and soft ones, so its count is 1"));

    let text = edited("chain.published.json", |d| d["initial_ready_count"]["ghost"] = json!(0));
    assert_eq!(problems(text)[0].0, "unknown_op");

    // A count with no compiled_adj at all: the op would wait for predecessors it does not have.
    let text = edited("chain.published.json", |d| {
        d.as_object_mut().unwrap().remove("compiled_adj");
    });
    assert!(problems(text).iter().any(|(_, _, m)| m.contains("gives op 'add_one' 1")));
}

#[test]
fn compiled_adj_naming_an_unknown_op_is_refused() {
    let text = edited("chain.published.json", |d| d["compiled_adj"]["double"] = json!([["add_one", false], ["ghost", false]]));
    assert!(problems(text).iter().any(|(c, _, m)| c == "unknown_op" && m.contains("a compiled_adj link names op 'ghost'")));
    let text = edited("chain.published.json", |d| d["compiled_adj"]["double"] = json!([["add_one"]]));
    assert!(malformed(text).contains("compiled_adj.double[0]"));
}

#[test]
fn published_settings_this_engine_cannot_honour_are_refused_by_name() {
    let on_add_one = |key: &str, value: Value| {
        let key = key.to_string();
        malformed(edited("chain.published.json", move |d| d["ops"]["add_one"][&key] = value))
    };
    for (key, value) in [("cache", json!("cache.bin")), ("resource", json!("gpt")), ("batch_mode", json!(true))] {
        let m = on_add_one(key, value);
        assert!(m.contains(&format!("\"{key}\"")) && m.contains("ops.add_one"), "{m}");
    }
    // A cache or a delay is read (the Python package runs them); a graph run from Rust refuses it.
    for (key, value) in [("cache", json!(true)), ("delay", json!(0.5))] {
        let key = key.to_string();
        let found = problems(edited("chain.published.json", move |d| d["ops"]["add_one"][&key] = value));
        assert!(found.iter().any(|(c, op, m)| c == "unsupported"
            && op.as_deref() == Some("add_one")
            && m.contains("cache, delay, retries or timeout")), "{found:?}");
    }
    let m = on_add_one("shiny", json!(1));
    assert!(m.contains("unknown field `shiny`") && m.contains("ops.add_one"), "{m}");
    // Off, they are accepted.
    for (key, value) in [("cache", json!(null)), ("delay", json!(0)), ("cache", json!(false))] {
        let key = key.to_string();
        build(edited("chain.published.json", move |d| d["ops"]["add_one"][&key] = value)).unwrap();
    }
}

#[test]
fn contradictions_between_the_two_forms_are_refused() {
    let both_policies = edited("collect.published.json", |d| {
        d["ops"]["sink"]["inputs"]["xs"]["ref"]["stream_policy"] = json!({"collect": true, "parallel": true});
    });
    assert!(malformed(both_policies).contains("both collect and parallel"));
    let policy_twice = edited("collect.published.json", |d| d["ops"]["sink"]["inputs"]["xs"]["ref"]["policy"] = json!("collect"));
    assert!(malformed(policy_twice).contains("both \"policy\"/\"max\" and \"stream_policy\""));
    let bad_policy = edited("collect.ours.json", |d| d["ops"]["sink"]["inputs"]["xs"]["ref"]["policy"] = json!("eager"));
    assert!(malformed(bad_policy).contains("stream policy 'eager'"));
    let two_loops = edited("loop.published.json", |d| d["loop"] = json!({"until": "count >= 1"}));
    assert!(malformed(two_loops).contains("both \"loop\" and \"loop_config\""));
    let two_caps = edited("parallel.published.json", |d| d["concurrency"] = json!(4));
    assert!(malformed(two_caps).contains("concurrency 4 and max_stream_concurrent 8"));
    let inline_and_graph = edited("nested.published.json", |d| d["ops"]["sub"]["graph"] = json!({"name": "sub"}));
    assert!(malformed(inline_and_graph).contains("has a \"graph\" document and also the graph's ops or edges inline"));
    let graph_on_code = edited("chain.published.json", |d| d["ops"]["double"]["compiled_adj"] = json!({}));
    assert!(malformed(graph_on_code).contains("has type 'code' but holds a graph"));
    let loop_on_code = edited("chain.published.json", |d| d["ops"]["double"]["loop_config"] = json!({"until": "x"}));
    assert!(malformed(loop_on_code).contains("has type 'code' but a loop"));
    let lookback = edited("branch.ours.json", |d| d["edges"][0]["type"] = json!("lookback"));
    assert!(malformed(lookback).contains("lookback edge"));
    let candidates = edited("branch.published.json", |d| d["ops"]["router"]["candidates"] = json!(["big"]));
    assert!(problems(candidates)[0].2.contains("lists candidates [\"big\"], but its cases and default target [\"big\", \"small\"]"));
    let not_a_graph = edited("chain.published.json", |d| d["type"] = json!("code"));
    assert!(malformed(not_a_graph).contains("has type 'code'"));
    let disabled = edited("chain.published.json", |d| d["enabled"] = json!(false));
    assert!(malformed(disabled).contains("is disabled"));
    let twice = document("chain.published.json").replacen("\"name\": \"main\"", "\"name\": \"main\", \"name\": \"again\"", 1);
    assert!(malformed(twice).contains("duplicate field `name`"));
    let op_twice =
        document("chain.published.json").replacen("\"ops\": {", "\"ops\": {\"double\": {\"type\": \"code\"},", 1);
    assert!(malformed(op_twice).contains("the key `double` is given twice"));
}

/// The published crate's stream-policy test graph: a plain (not generator) source whose output the
/// sink reads with a stream_policy.
fn policy_graph(collect: bool, parallel: bool) -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "main", "full_name": "main",
        "entries": ["source"], "exits": ["sink"],
        "initial_ready_count": {"source": 0, "sink": 1},
        "compiled_adj": {"source": [["sink", false]], "sink": []},
        "inputs": {"items": {"required": true}}, "outputs": {"saw": {}},
        "ops": {
            "source": {"type": "code", "name": "source", "full_name": "main.source", "func_name": "stream_source",
                "bound": "sync", "inputs": {"items": {"required": true, "ref": {"source": "__PARENT__", "var": "items"}}},
                "outputs": {"item": {}}},
            "sink": {"type": "code", "name": "sink", "full_name": "main.sink", "func_name": "stream_sink", "bound": "sync",
                "inputs": {"item": {"required": true, "ref": {"source": "main.source", "var": "item",
                    "stream_policy": {"collect": collect, "parallel": parallel, "parallel_max": 0}}}},
                "outputs": {"saw": {"ref": {"source": "__PARENT__", "var": "saw", "is_output": true}}}}
        }
    })
    .to_string()
}

#[test]
fn a_stream_policy_on_a_plain_ops_output_runs_as_the_published_crate_runs_it() {
    let engine = |collect, parallel| {
        Operon::builder(policy_graph(collect, parallel))
            .op("stream_source", |i| Ok(json!({"item": i["items"]})))
            .op("stream_sink", |i| Ok(json!({"saw": i["item"]})))
            .build()
            .unwrap()
    };
    // collect: the one frame of the source is collected into a list of one item
    let out = engine(true, false).run(json!({"items": [1, 2, 3]})).unwrap();
    assert_eq!(out.outputs["saw"], json!([[1, 2, 3]]));
    // parallel: the value as it is
    let out = engine(false, true).run(json!({"items": "hello"})).unwrap();
    assert_eq!(out.outputs["saw"], json!("hello"));
}

/// A chain of `n` ops in the published form, each reading the previous one's output (the first reads
/// `__PARENT__`), with its compiled_adj and initial_ready_count.
fn published_chain(n: usize) -> String {
    let mut ops = Vec::with_capacity(n);
    let mut adj = Vec::with_capacity(n);
    let mut counts = Vec::with_capacity(n);
    for i in 0..n {
        let source = if i == 0 { "__PARENT__".to_string() } else { format!("main.op{}", i - 1) };
        let var = if i == 0 { "x" } else { "y" };
        let out = if i + 1 == n { r#"{"ref": {"source": "__PARENT__", "var": "y", "is_output": true}}"# } else { "{}" };
        ops.push(format!(
            r#""op{i}": {{"type": "code", "func_name": "inc", "inputs": {{"x": {{"required": true, "ref": {{"source": "{source}", "var": "{var}"}}}}}}, "outputs": {{"y": {out}}}}}"#
        ));
        adj.push(if i + 1 == n { format!(r#""op{i}": []"#) } else { format!(r#""op{i}": [["op{}", false]]"#, i + 1) });
        counts.push(format!(r#""op{i}": {}"#, usize::from(i > 0)));
    }
    format!(
        r#"{{"schema_version": "1.0", "type": "graph", "name": "main", "ops": {{{}}}, "compiled_adj": {{{}}},
            "initial_ready_count": {{{}}}, "entries": ["op0"], "exits": ["op{}"]}}"#,
        ops.join(","),
        adj.join(","),
        counts.join(","),
        n - 1
    )
}

#[test]
fn a_published_chain_of_100k_ops_builds_and_runs() {
    let engine = build(published_chain(100_000)).unwrap();
    assert_eq!(engine.run(json!({"x": 0})).unwrap().outputs["y"], json!(100_000));
}

#[test]
fn a_root_input_value_the_published_engine_would_give_is_refused() {
    for key in ["literal", "default"] {
        let text = edited("chain.published.json", |d| d["inputs"]["x"][key] = json!(5));
        let found = problems(text);
        assert_eq!(found[0].0, "unsupported");
        assert!(found[0].2.contains(&format!("graph input 'x' of graph 'main' has the {key} 5")), "{found:?}");
    }
    // A loop's initial value is its literal, as in our form.
    build(document("loop.published.json")).unwrap();
}
