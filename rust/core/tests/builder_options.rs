//! The builder's options for resources and the environment, `Operon::new`, and a graph that uses
//! a resource.

use std::sync::Arc;

use operonx::{Operon, OperonError};
use serde_json::{json, Map, Value};

fn doc() -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {"f": {"type": "code", "func_name": "f"}}, "edges": [], "entries": ["f"], "exits": ["f"]
    })
    .to_string()
}

fn f(_: Map<String, Value>) -> Result<Value, OperonError> {
    Ok(json!({"ok": true}))
}

#[test]
fn the_options_have_the_published_defaults() {
    let engine = Operon::builder(doc()).op("f", f).build().unwrap();
    let o = engine.options();
    assert_eq!(o.resources_path(), None);
    assert!(!o.load_dotenv() && !o.no_resources() && o.install_global_hub());
    assert_eq!(o.dotenv_loaded(), None);
    assert_eq!(engine.name(), "g");
    assert!(engine.tracers().is_empty());
}

#[test]
fn the_options_are_recorded_and_readable() {
    let file = std::env::temp_dir().join(format!("operonx-resources-{}.yaml", std::process::id()));
    std::fs::write(&file, "llm: {}\n").unwrap();
    let engine = Operon::builder(doc())
        .op("f", f)
        .resources(&file)
        .load_dotenv(false)
        .install_global_hub(false)
        .tracer(Arc::new(operonx::trace::LocalTracer::new(None, Vec::new())))
        .build()
        .unwrap();
    let o = engine.options();
    assert_eq!(o.resources_path(), Some(file.as_path()));
    assert!(!o.load_dotenv() && !o.no_resources() && !o.install_global_hub());
    assert_eq!(engine.resources().keys(), vec!["llm"]);
    assert_eq!(engine.tracers().len(), 1);
    assert_eq!(engine.tracers()[0].name(), "local");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn a_missing_resources_file_fails_build_naming_it() {
    let missing = std::env::temp_dir().join("operonx-no-such-dir").join("resources.yaml");
    let err = Operon::builder(doc()).op("f", f).resources(&missing).build().unwrap_err();
    match &err {
        OperonError::Config(message) => {
            assert!(message.contains(&missing.display().to_string()), "{message}");
            assert!(message.starts_with("resources.yaml not found at: "), "{message}");
        }
        other => panic!("expected a Config error, got {other:?}"),
    }
    // an invalid document is reported first, as in the published crate
    let err = Operon::builder("{").resources(&missing).build().unwrap_err();
    assert!(matches!(err, OperonError::SchemaVersion { .. } | OperonError::Malformed(_)), "{err:?}");
}

#[test]
fn operon_new_with_no_op_registered_refuses_a_graph_of_code_ops_naming_them() {
    let json = doc();
    let err = Operon::new(&json).unwrap_err();
    match &err {
        OperonError::Invalid { graph, problems } => {
            assert_eq!(graph, "g");
            assert_eq!(problems[0].category, "unknown_op");
            assert_eq!(problems[0].op_name.as_deref(), Some("f"));
        }
        other => panic!("expected the op to be named, got {other:?}"),
    }
}

#[test]
fn a_graph_with_an_op_that_uses_a_resource_is_refused_naming_the_op_and_the_resource() {
    let json = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {"chat": {"type": "llm", "resource": "gpt-4o"}}, "edges": [], "entries": ["chat"], "exits": ["chat"]
    })
    .to_string();
    let err = Operon::builder(json).no_resources().build().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("chat") && text.contains("\"resource\"") && text.contains("gpt-4o"), "{text}");
}
