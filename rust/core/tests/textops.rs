//! The built-in text ops run from Rust: a parser op (in this engine's form and in the published
//! 0.7.1 form, whose format and fields are literal inputs `mode` and `schema`) and a prompt op.

use operonx::{Operon, OperonError};
use serde_json::{json, Value};

fn parser_doc(op: Value) -> String {
    json!({
        "schema_version": "1.0", "name": "g",
        "ops": {"p": op},
        "edges": [], "entries": ["p"], "exits": ["p"]
    })
    .to_string()
}

fn text_input() -> Value {
    json!({"required": true, "default": null, "ref": {"source": "g", "var": "text", "transforms": []}})
}

#[test]
fn a_parser_op_gives_its_fields_and_reports_failures_as_values() {
    let ours = parser_doc(json!({
        "type": "parser", "name": "p", "format": "json", "extract": ["a.b: int", "c"],
        "inputs": {"text": text_input()}, "outputs": {"b": {}, "c": {}}, "forward_all": true
    }));
    let engine = Operon::builder(ours).build().unwrap();
    let out = engine.run(json!({"text": "{\"a\": {\"b\": \"3\"}, \"c\": [1]}"})).unwrap();
    // the fields are forwarded, `error` never is
    assert_eq!(Value::Object(out.outputs), json!({"b": 3, "c": [1]}));
    let failed = engine.run(json!({"text": "<not json>"})).unwrap();
    assert!(failed.outputs.is_empty());
}

#[test]
fn a_published_parser_op_reads_mode_and_schema() {
    let published = parser_doc(json!({
        "type": "parser", "name": "p", "full_name": "g.p", "func_name": "_process", "is_async": true,
        "bound": "io", "enabled": true,
        "inputs": {
            "text": text_input(),
            "validators": {"required": false, "default": null, "ref": null, "literal": null},
            "mode": {"required": false, "default": null, "ref": null, "literal": "yaml"},
            "schema": {"required": false, "default": null, "ref": null, "literal": ["x.y: float"]}
        },
        "outputs": {"y": {"required": false, "default": null, "ref": {"source": "g", "var": "y", "transforms": []}}}
    }));
    let engine = Operon::builder(published).build().unwrap();
    let out = engine.run(json!({"text": "x:\n  y: 2\n"})).unwrap();
    assert_eq!(Value::Object(out.outputs), json!({"y": 2.0}));
}

#[test]
fn a_prompt_op_renders_its_template() {
    let doc = parser_doc(json!({
        "type": "prompt", "name": "p", "template": {"system": "Be brief.", "user": "Hello {name}!"},
        "inputs": {"name": {"required": true, "default": null, "ref": {"source": "g", "var": "name", "transforms": []}}},
        "outputs": {"messages": {}}, "forward_all": true
    }));
    let out = Operon::builder(doc).build().unwrap().run(json!({"name": "Ada"})).unwrap();
    assert_eq!(
        out.outputs["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Ada!"}])
    );
}

#[test]
fn bad_settings_are_refused_at_build() {
    let doc = parser_doc(json!({"type": "parser", "name": "p", "format": "csv", "extract": ["a"],
        "inputs": {"text": text_input()}}));
    match Operon::builder(doc).build() {
        Err(OperonError::Invalid { problems, .. }) => {
            assert!(problems.iter().any(|p| p.message.contains("format 'csv'")), "{problems:?}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
