//! What a run forwards: every output of an exit, or only the mapped ones, grouped into the run's
//! outputs in frame order.

use operonx::{Frame, Operon};
use serde_json::{json, Value};

mod common;
use common::{doc, fixed};

#[test]
fn an_exit_without_mapped_outputs_forwards_every_output_except_dollar_keys() {
    let engine = Operon::builder(doc(&["a"], &[], &["a"], &["a"]).to_string())
        .op_ref("a", fixed(json!({"x": 1, "$meta": "hidden", "y": "s"})))
        .build()
        .unwrap();
    let out = engine.run(json!({})).unwrap();
    assert_eq!(Value::Object(out.outputs), json!({"x": 1, "y": "s"}));
    assert_eq!(
        out.frames,
        [Frame {
            op: "a".into(),
            context: vec!["main".into()],
            data: json!({"x": 1, "y": "s"}).as_object().unwrap().clone(),
        }]
    );
    assert!(out.errors.is_empty());
}

#[test]
fn mapped_outputs_are_forwarded_renamed_even_when_not_an_exit() {
    let d = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "root.g",
        "ops": {
            "a": {"type": "code", "outputs": {
                "k": {"required": false, "ref": {"source": "root.g", "var": "k2"}},
                "other": {"required": false}
            }},
            "b": {"type": "code"}
        },
        "edges": [{"from": "a", "to": "b"}], "entries": ["a"], "exits": ["b"]
    });
    let engine = Operon::builder(d.to_string())
        .op_ref("a", fixed(json!({"k": 5, "other": 6, "$x": 7})))
        .op_ref("b", fixed(json!({"done": true})))
        .build()
        .unwrap();
    let out = engine.run(json!({})).unwrap();
    assert_eq!(Value::Object(out.outputs), json!({"k2": 5, "done": true}));
    let ops: Vec<&str> = out.frames.iter().map(|f| f.op.as_str()).collect();
    assert_eq!(ops, ["a", "b"]);
    assert!(out.frames.iter().all(|f| f.context == ["main"]));
}

#[test]
fn an_exit_with_a_mapped_output_forwards_only_the_mapped_keys() {
    let d = json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"a": {"type": "code", "outputs": {"k": {"ref": {"source": "g", "var": "renamed"}}}}},
        "edges": [], "entries": ["a"], "exits": ["a"]
    });
    let engine = Operon::builder(d.to_string()).op_ref("a", fixed(json!({"k": 1, "z": 2}))).build().unwrap();
    let out = engine.run(json!({})).unwrap();
    assert_eq!(Value::Object(out.outputs), json!({"renamed": 1}));
}

#[test]
fn outputs_group_frames_by_key_in_frame_order() {
    let ops = ["a", "b", "c", "d"];
    let engine = Operon::builder(doc(&ops, &[("c", "d", false)], &["c", "a", "b"], &ops).to_string())
        .op_ref("a", fixed(json!({"v": 1})))
        .op_ref("b", fixed(json!({"v": 2, "w": "only"})))
        .op_ref("c", fixed(json!({"v": [3]})))
        .op_ref("d", fixed(json!({"v": 4})))
        .build()
        .unwrap();
    let out = engine.run(json!({})).unwrap();
    // Frame order is run order: c, a, b, d.
    assert_eq!(Value::Object(out.outputs), json!({"v": [[3], 1, 2, 4], "w": "only"}));
    let ops: Vec<&str> = out.frames.iter().map(|f| f.op.as_str()).collect();
    assert_eq!(ops, ["c", "a", "b", "d"]);
}

#[test]
fn forward_all_false_turns_forwarding_off() {
    let mut d = doc(&["a"], &[], &["a"], &["a"]);
    d["ops"]["a"]["forward_all"] = json!(false);
    let engine = Operon::builder(d.to_string()).op_ref("a", fixed(json!({"v": 1}))).build().unwrap();
    let out = engine.run(json!({})).unwrap();
    assert!(out.outputs.is_empty());
    assert!(out.frames.is_empty());
}
