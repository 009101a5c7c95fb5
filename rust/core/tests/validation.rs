//! Document validation: every problem of a graph is reported in one `OperonError::Invalid`; schema
//! version and JSON shape errors come first.

use operonx::ops::{Inputs, Outputs};
use operonx::{OperonError, Operon, Problem};
use serde_json::{json, Map, Value};

fn noop(_: &Inputs) -> Result<Outputs, String> {
    Ok(Outputs::new())
}

/// Builds the document with a no-op registered for every op name in it.
fn build(doc: &Value) -> Result<Operon, OperonError> {
    let mut b = Operon::builder(doc.to_string());
    if let Some(ops) = doc.get("ops").and_then(Value::as_object) {
        for name in ops.keys() {
            b = b.op_ref(name, noop);
        }
    }
    b.build()
}

fn problems(doc: &Value) -> Vec<Problem> {
    match build(doc) {
        Err(OperonError::Invalid { graph, problems }) => {
            assert_eq!(graph, doc["name"].as_str().unwrap());
            assert!(!problems.is_empty());
            problems
        }
        Err(other) => panic!("expected Invalid, got {other:?}"),
        Ok(_) => panic!("expected Invalid, the document compiled"),
    }
}

fn categories(doc: &Value) -> Vec<&'static str> {
    let mut c: Vec<&'static str> = problems(doc).iter().map(|p| p.category).collect();
    c.sort_unstable();
    c
}

fn doc(ops: &[&str], edges: &[(&str, &str)], entries: &[&str], exits: &[&str]) -> Value {
    let ops: Map<String, Value> = ops.iter().map(|n| (n.to_string(), json!({"type": "code"}))).collect();
    let edges: Vec<Value> = edges.iter().map(|(a, b)| json!({"from": a, "to": b})).collect();
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": ops, "edges": edges, "entries": entries, "exits": exits,
    })
}

#[test]
fn a_valid_document_compiles() {
    let engine = build(&doc(&["a", "b"], &[("a", "b")], &["a"], &["b"])).unwrap();
    let plan = engine.plan();
    assert_eq!(plan.name, "g");
    assert_eq!(plan.full_name, "g");
    assert_eq!(plan.ops.len(), 2);
    assert_eq!(plan.ops[1].full_name, "g.b");
    assert_eq!(plan.entries, [0]);
    assert_eq!(plan.initial_counts, [0, 1]);
}

#[test]
fn an_empty_graph_is_invalid() {
    assert_eq!(categories(&doc(&[], &[], &[], &[])), ["empty"]);
    let d = json!({"schema_version": "1.0", "type": "graph", "name": "g"});
    assert_eq!(categories(&d), ["empty"]);
}

#[test]
fn a_graph_without_an_entry_is_invalid() {
    assert_eq!(categories(&doc(&["a"], &[], &[], &["a"])), ["no_entry"]);
}

#[test]
fn a_graph_without_an_exit_is_invalid() {
    assert_eq!(categories(&doc(&["a"], &[], &["a"], &[])), ["no_exit"]);
}

#[test]
fn a_mapped_output_counts_as_an_exit() {
    let d = json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"a": {"type": "code", "outputs": {"x": {"ref": {"source": "g", "var": "y"}}}}},
        "edges": [], "entries": ["a"], "exits": []
    });
    build(&d).unwrap();
}

#[test]
fn an_edge_to_an_unknown_op_is_invalid() {
    let p = problems(&doc(&["a"], &[("a", "ghost")], &["a"], &["a"]));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].category, "unknown_op");
    assert_eq!(p[0].op_name.as_deref(), Some("a"));
    assert_eq!(p[0].target_name.as_deref(), Some("ghost"));
    assert!(p[0].message.contains("ghost"), "{}", p[0].message);

    let p = problems(&doc(&["a"], &[("ghost", "a")], &["a"], &["a"]));
    assert_eq!((p[0].category, p[0].target_name.as_deref()), ("unknown_op", Some("ghost")));
}

#[test]
fn unknown_entries_and_exits_are_invalid() {
    let p = problems(&doc(&["a"], &[], &["a", "nope"], &["a", "nada"]));
    let targets: Vec<_> = p.iter().map(|p| (p.category, p.target_name.as_deref().unwrap())).collect();
    assert_eq!(targets, [("unknown_op", "nope"), ("unknown_op", "nada")]);
}

#[test]
fn a_ref_to_an_unknown_op_is_invalid() {
    let mut d = doc(&["a", "b"], &[("a", "b")], &["a"], &["b"]);
    d["ops"]["b"]["inputs"] = json!({"x": {"required": true, "ref": {"source": "g.nobody", "var": "v"}}});
    let p = problems(&d);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].category, "unknown_ref");
    assert_eq!(p[0].op_name.as_deref(), Some("b"));
    assert_eq!(p[0].target_name.as_deref(), Some("g.nobody"));

    // Refs name ops by full name: a short name is not enough; nested refs are checked too.
    d["ops"]["b"]["inputs"] = json!({
        "x": {"required": true, "ref": {"source": "a", "var": "v"}},
        "y": {"required": true, "ref": {"source": "g.a", "var": "v",
            "transforms": [["add", [{"__ref__": {"source": "elsewhere", "var": "w"}}]]]}}
    });
    let targets: Vec<_> = problems(&d).iter().map(|p| (p.category, p.target_name.clone().unwrap())).collect();
    assert_eq!(targets, [("unknown_ref", "a".to_string()), ("unknown_ref", "elsewhere".to_string())]);
}

#[test]
fn an_output_mapped_to_another_graph_is_invalid() {
    let mut d = doc(&["a"], &[], &["a"], &["a"]);
    d["ops"]["a"]["outputs"] = json!({"x": {"ref": {"source": "other", "var": "y"}}});
    assert_eq!(categories(&d), ["unknown_ref"]);
}

#[test]
fn a_cycle_is_invalid() {
    let p = problems(&doc(
        &["s", "a", "b", "c", "after"],
        &[("s", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "after")],
        &["s"],
        &["after"],
    ));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].category, "cycle");
    for name in ["a", "b", "c"] {
        assert!(p[0].message.contains(name), "{}", p[0].message);
    }

    // A self-loop and a cycle through a soft edge.
    assert_eq!(categories(&doc(&["a"], &[("a", "a")], &["a"], &["a"])), ["cycle"]);
    let mut d = doc(&["a", "b"], &[("a", "b")], &["a"], &["b"]);
    d["edges"].as_array_mut().unwrap().push(json!({"from": "b", "to": "a", "soft": true}));
    assert_eq!(categories(&d), ["cycle"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut d = doc(&["a", "b", "c"], &[("a", "b"), ("b", "a"), ("c", "ghost")], &[], &[]);
    d["ops"]["c"]["inputs"] = json!({"x": {"required": true, "ref": {"source": "g.missing", "var": "v"}}});
    d["ops"]["c"]["bound"] = json!("gpu");
    d["ops"]["b"]["inputs"] = json!({"y": {"required": true, "ref": {"source": "g", "var": "v",
        "transforms": [["frobnicate", []]]}}});
    let p = problems(&d);
    let mut cats: Vec<_> = p.iter().map(|p| p.category).collect();
    cats.sort_unstable();
    assert_eq!(cats, ["cycle", "invalid", "invalid", "no_entry", "no_exit", "unknown_op", "unknown_ref"]);

    let text = build(&d).err().unwrap().to_string();
    assert!(text.starts_with("graph 'g' is invalid (7 problems):"), "{text}");
    for problem in &p {
        assert!(text.contains(&problem.to_string()), "{text}\nlacks {problem}");
    }
}

#[test]
fn an_op_bound_to_an_implementation_of_the_other_kind_is_reported() {
    let mut d = doc(&["a", "gen", "sub"], &[], &["a", "gen", "sub"], &["a"]);
    d["ops"]["gen"]["is_generator"] = json!(true);
    d["ops"]["sub"]["type"] = json!("graph");
    // A nested graph runs, but one without its own "graph" document is invalid; a generator op bound
    // to a plain function is invalid too.
    let p = problems(&d);
    let gen = p.iter().find(|p| p.op_name.as_deref() == Some("gen")).expect("a problem about gen");
    assert_eq!(gen.category, "invalid");
    assert!(gen.message.contains("OperonBuilder::gen"), "{}", gen.message);
    assert_eq!(categories(&d), ["invalid", "invalid"]);
    // And a plain op bound to a generator.
    let d = doc(&["a"], &[], &["a"], &["a"]);
    let items = |_: &operonx::ops::Inputs| -> Result<operonx::ops::Items, String> { Ok(Box::new(std::iter::empty())) };
    let err = Operon::builder(d.to_string()).gen("a", items).build().err().unwrap();
    let OperonError::Invalid { problems, .. } = err else { panic!("expected Invalid, got {err:?}") };
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("OperonBuilder::op"), "{}", problems[0].message);
}

#[test]
fn binding_problems_are_reported_with_graph_problems() {
    let mut d = doc(&["a", "b"], &[("a", "b"), ("b", "a")], &["a"], &["b"]);
    d["ops"]["b"]["is_generator"] = json!(true);
    let err = Operon::builder(d.to_string()).op_ref("b", noop).build().err().unwrap();
    let OperonError::Invalid { problems, .. } = err else { panic!("expected Invalid, got {err:?}") };
    let mut cats: Vec<_> = problems.iter().map(|p| (p.category, p.op_name.clone().unwrap())).collect();
    cats.sort_unstable();
    assert_eq!(cats, [("cycle", "a".to_string()), ("invalid", "b".to_string()), ("unknown_op", "a".to_string())]);
}

#[test]
fn a_missing_rust_implementation_is_an_unknown_op() {
    let mut d = doc(&["a", "b"], &[("a", "b")], &["a"], &["b"]);
    d["ops"]["b"]["func_name"] = json!("make_b");
    let err = Operon::builder(d.to_string()).op_ref("a", noop).build().err().unwrap();
    match err {
        OperonError::Invalid { graph, problems } => {
            assert_eq!(graph, "g");
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].category, "unknown_op");
            assert_eq!(problems[0].op_name.as_deref(), Some("b"));
            assert_eq!(problems[0].target_name.as_deref(), Some("make_b"));
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // Implementations are looked up by func_name first, then by op name.
    let engine = Operon::builder(d.to_string())
        .op_ref("a", noop)
        .op_ref("make_b", |_: &Inputs| Ok(Outputs::from_iter([("by".to_string(), json!("func_name"))])))
        .op_ref("b", |_: &Inputs| Ok(Outputs::from_iter([("by".to_string(), json!("name"))])))
        .build()
        .unwrap();
    assert_eq!(engine.run(json!({})).unwrap().outputs["by"], json!("func_name"));
}

#[test]
fn a_host_object_cannot_run_from_rust() {
    let mut d = doc(&["a"], &[], &["a"], &["a"]);
    d["ops"]["a"]["inputs"] = json!({"x": {"required": true, "literal": {"$host": 0}}});
    assert_eq!(categories(&d), ["invalid"]);
}

#[test]
fn the_schema_version_is_checked_first() {
    let mut d = doc(&[], &[], &[], &[]);
    // Only the string "1.0" is accepted: not the number 1.0, not "1", not null.
    let cases = [
        (json!("2.0"), &["\"2.0\""][..]),
        (json!("1"), &["\"1\""]),
        (json!(1.0), &["1.0"]),
        (json!(1), &["1"]),
        (json!(null), &["null", "<missing>"]),
    ];
    for (version, found) in cases {
        d["schema_version"] = version.clone();
        match build(&d) {
            Err(OperonError::SchemaVersion { found: f }) => {
                assert!(found.contains(&f.as_str()), "{version}: {f}")
            }
            other => panic!("{version}: expected SchemaVersion, got {:?}", other.err()),
        }
    }
    d.as_object_mut().unwrap().remove("schema_version");
    match build(&d) {
        Err(OperonError::SchemaVersion { found }) => assert_eq!(found, "<missing>"),
        other => panic!("expected SchemaVersion, got {:?}", other.err()),
    }
    // The version wins over a malformed body.
    let bad = json!({"schema_version": "0.9", "ops": 3});
    assert!(matches!(build(&bad), Err(OperonError::SchemaVersion { .. })));
}

#[test]
fn malformed_documents() {
    for text in ["not json", "{\"schema_version\": \"1.0\"", "[1, 2]", "\"1.0\""] {
        match Operon::builder(text).build() {
            Err(OperonError::Malformed(_)) => {}
            other => panic!("{text}: expected Malformed, got {:?}", other.err()),
        }
    }
    let shapes = [
        json!({"schema_version": "1.0", "type": "graph"}),
        json!({"schema_version": "1.0", "name": "g", "ops": []}),
        json!({"schema_version": "1.0", "name": "g", "ops": {"a": {"inputs": {}}}}),
        json!({"schema_version": "1.0", "name": "g", "ops": {}, "edges": [{"from": "a"}]}),
    ];
    for d in shapes {
        match build(&d) {
            Err(OperonError::Malformed(_)) => {}
            other => panic!("{d}: expected Malformed, got {:?}", other.err()),
        }
    }
}

#[test]
fn a_host_index_that_is_not_a_u32_is_a_problem_never_truncated_or_read_as_a_value() {
    for bad in [json!(4_294_967_296u64), json!(u64::MAX), json!(-1), json!(1.5), json!("0")] {
        let mut d = doc(&["a"], &[], &["a"], &["a"]);
        d["ops"]["a"]["inputs"] = json!({"x": {"literal": {"$host": bad}}});
        let p = problems(&d);
        assert!(p.iter().any(|p| p.category == "invalid" && p.message.contains("host object index")), "{bad}: {p:?}");
    }
    // a valid index compiles (the Rust driver then refuses host objects, as it holds JSON only)
    let mut d = doc(&["a"], &[], &["a"], &["a"]);
    d["ops"]["a"]["inputs"] = json!({"x": {"literal": {"$host": 4_294_967_295u64}}});
    match build(&d) {
        Err(OperonError::Invalid { problems, .. }) => {
            assert!(problems.iter().all(|p| !p.message.contains("host object index")), "{problems:?}")
        }
        other => panic!("expected the Rust driver's refusal of host objects, got {:?}", other.map(|_| ())),
    }
}
