//! Documents nested deeply: nested graphs build and run to thousands of levels, and a document or a
//! value nested deeper than the engine reads is refused with a typed error, never a stack overflow
//! (the tests run on the test harness's small thread stacks).

use operonx::{Operon, OperonError};
use serde_json::json;

/// `depth` graphs nested in each other, in our form (`graph`) or the published one (inline); the
/// innermost op increments the root input.
fn nested(depth: usize, published: bool) -> String {
    let mut s = String::new();
    let mut full = "g".to_string();
    s.push_str(r#"{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {"#);
    for level in 0..depth {
        let inner = format!("{full}.l{level}");
        let src = if level == 0 { "g".to_string() } else { full.clone() };
        s.push_str(&format!(
            r#""l{level}": {{"type": "graph", "full_name": "{inner}", "forward_all": true, "outputs": {{"y": {{}}}},
                "inputs": {{"x": {{"required": true, "ref": {{"source": "{}", "var": "x"}}}}}},"#,
            if published { "__PARENT__" } else { src.as_str() }
        ));
        if !published {
            s.push_str(&format!(r#""graph": {{"name": "l{level}", "full_name": "{inner}","#));
        }
        s.push_str(r#""ops": {"#);
        full = inner;
    }
    s.push_str(&format!(
        r#""leaf": {{"type": "code", "func_name": "inc", "inputs": {{"x": {{"required": true, "ref": {{"source": "{full}", "var": "x"}}}}}}}}"#
    ));
    for level in (0..depth).rev() {
        let adj = if published { r#", "compiled_adj": {}"# } else { r#", "edges": []"# };
        let entry = if level + 1 == depth { "leaf".to_string() } else { format!("l{}", level + 1) };
        s.push_str(&format!(r#"}}{adj}, "entries": ["{entry}"], "exits": ["{entry}"]}}"#));
        if !published {
            s.push('}');
        }
    }
    s.push_str(r#"}, "edges": [], "entries": ["l0"], "exits": ["l0"]}"#);
    s
}

fn build(text: String) -> Result<Operon, OperonError> {
    Operon::builder(text).op("inc", |i| Ok(json!({"y": i["x"].as_i64().unwrap_or(0) + 1}))).build()
}

#[test]
fn graphs_nested_thousands_deep_build_and_run() {
    for published in [false, true] {
        let engine = build(nested(2000, published)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(engine.run(json!({"x": 1})).unwrap().outputs["y"], json!(2));
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
fn a_document_100_000_levels_deep_is_refused() {
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let as_literal = format!(
        r#"{{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {{"a": {{"type": "code",
            "inputs": {{"x": {{"literal": {deep_array}}}}}}}}}, "edges": [], "entries": ["a"], "exits": ["a"]}}"#
    );
    // Graphs nested 50 000 deep (inline, the published way; full names left out, they would be
    // as long as the nesting is deep).
    let deep_graphs = format!(
        r#"{{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {{{}"leaf": {{"type": "code"}}{}}}}}"#,
        r#""l": {"type": "graph", "ops": {"#.repeat(50_000),
        "}}".repeat(50_000)
    );
    for text in [deep_array.clone(), as_literal, deep_graphs] {
        assert!(malformed(text).contains("nests more than 20000 levels"));
    }
    // Unclosed, or in a string: the count is of the structure, not of the characters.
    assert!(malformed("[".repeat(100_000)).contains("nests more than"));
    let in_string = format!(r#"{{"schema_version": "1.0", "type": "graph", "name": "{}"}}"#, "[".repeat(100_000));
    assert!(!matches!(build(in_string), Err(OperonError::Malformed(m)) if m.contains("nests")));
}

#[test]
fn values_nested_deeper_than_256_levels_are_refused_where_they_are() {
    let value = |d: usize| format!("{}1{}", "[".repeat(d), "]".repeat(d));
    let doc = |literal: &str, transform_arg: &str| {
        format!(
            r#"{{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {{"a": {{"type": "code", "func_name": "inc",
                "inputs": {{"x": {{"literal": {literal}}}, "z": {{"ref": {{"source": "g", "var": "z",
                "transforms": [["getitem", [{transform_arg}]]]}}}}}}}}}}, "edges": [], "entries": ["a"], "exits": ["a"]}}"#
        )
    };
    let m = malformed(doc(&value(15_000), "0"));
    assert!(m.contains("at ops.a.inputs.x.literal") && m.contains("more than 256 levels"), "{m}");
    let m = malformed(doc("1", &value(15_000)));
    assert!(m.contains("at ops.a.inputs.z.ref.transforms") && m.contains("more than 256 levels"), "{m}");
    let engine = build(doc(&value(256), "0")).unwrap();
    let out = engine.run(json!({"z": [5]})).unwrap();
    assert_eq!(out.outputs["y"], json!(1));
    // Refs nested in transform arguments count too: 400 of them are 2000 levels (built as text: a
    // `Value` that deep would overflow this test's own stack when printed).
    let mut nested_refs = r#"{"source": "g", "var": "z"}"#.to_string();
    for _ in 0..400 {
        nested_refs = format!(r#"{{"source": "g", "var": "z", "transforms": [["add", [{{"__ref__": {nested_refs}}}]]]}}"#);
    }
    let text = doc("1", "0").replace(r#"[["getitem", [0]]]"#, &format!(r#"[["add", [{{"__ref__": {nested_refs}}}]]]"#));
    assert!(malformed(text).contains("more than 256 levels"));
}

/// Graphs nested `depth` deep in the published form, written without full names (the engine derives
/// them) so that the text stays linear in the depth.
fn nested_published_short(depth: usize) -> String {
    let level = r#""l": {"type": "graph", "forward_all": true, "outputs": {"y": {}},
        "inputs": {"x": {"required": true, "ref": {"source": "__PARENT__", "var": "x"}}}, "ops": {"#;
    let leaf = r#""leaf": {"type": "code", "func_name": "inc", "inputs": {"x": {"required": true, "ref": {"source": "__PARENT__", "var": "x"}}}}"#;
    let close = r#"}, "compiled_adj": {}, "entries": ["l"], "exits": ["l"]}"#;
    let innermost_close = r#"}, "compiled_adj": {}, "entries": ["leaf"], "exits": ["leaf"]}"#;
    format!(
        r#"{{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {{{}{leaf}{innermost_close}{}}}, "compiled_adj": {{}}, "entries": ["l"], "exits": ["l"]}}"#,
        level.repeat(depth),
        close.repeat(depth - 1)
    )
}

#[test]
fn graphs_nested_to_the_depth_limit_build_and_run() {
    // Each published nested graph is two levels of the document: 9 000 of them are 18 000 levels.
    let engine = build(nested_published_short(9_000)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(engine.run(json!({"x": 41})).unwrap().outputs["y"], json!(42));
}

#[test]
fn a_syntax_error_after_a_deep_value_is_refused() {
    // Found by the fuzzer: a 5 000-deep default followed by a syntax error crashed the parse, which
    // dropped the finished value recursively while giving up. Values are now refused as soon as they
    // are too deep, and those allowed are dropped with stack to spare.
    for depth in [256, 257, 5_000] {
        let text = format!(
            r#"{{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {{"a": {{"type": "code",
                "inputs": {{"x": {{"default": [{}1{}, }}]"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let m = malformed(text);
        assert!(m.contains("at ops.a.inputs.x.default"), "{depth}: {m}");
    }
}
