//! A missing required input names a key of its source that looks like a typo of the one it reads.

use operonx::ops::{Inputs, Outputs};
use operonx::{OperonError, Operon};
use serde_json::{json, Value};

fn echo(inputs: &Inputs) -> Result<Outputs, String> {
    Ok(Outputs::from_iter([("out".to_string(), inputs.get("text").cloned().unwrap_or(Value::Null))]))
}

fn engine() -> Operon {
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {"a": {"type": "code", "func_name": "echo",
            "inputs": {"text": {"required": true, "ref": {"source": "g", "var": "text"}}}}},
        "edges": [], "entries": ["a"], "exits": ["a"],
    });
    Operon::builder(doc.to_string()).op_ref("echo", echo).build().unwrap()
}

fn suggestion(inputs: Value) -> Option<String> {
    match engine().run(inputs) {
        Err(OperonError::MissingInput { input, suggestion, .. }) => {
            assert_eq!(input, "text");
            suggestion
        }
        other => panic!("expected MissingInput, got {:?}", other.map(|o| o.outputs)),
    }
}

#[test]
fn a_run_input_that_looks_like_a_typo_is_named() {
    for (given, expected) in [("txet", "txet"), ("Text", "Text"), ("tex", "tex"), ("te-xt", "te-xt")] {
        assert_eq!(suggestion(json!({given: 1, "unrelated": 2})).as_deref(), Some(expected), "{given}");
    }
    let message = engine().run(json!({"txet": 1})).map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("did you mean 'txet'"), "{message}");
}

#[test]
fn no_key_is_named_when_none_is_close() {
    assert_eq!(suggestion(json!({})), None);
    assert_eq!(suggestion(json!({"payload": 1, "zzzz": 2})), None);
}
