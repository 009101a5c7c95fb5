//! A code op's `"module"` (the Python module of its function, which `Operon.from_json` binds it by, as
//! `GraphOp.export_config()` writes it) is read and ignored here: the op is bound by its `func_name`.

use operonx::{Operon, OperonError};
use serde_json::{json, Map, Value};

#[test]
fn a_document_naming_a_python_module_runs_bound_by_func_name() {
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {"a": {"type": "code", "name": "a", "full_name": "g.a", "func_name": "inc", "module": "shop.math",
            "inputs": {"x": {"required": true, "default": null,
                "ref": {"source": "g", "var": "x", "transforms": [], "is_output": false}}},
            "outputs": {"y": {"required": false, "default": null, "ref": null}}, "forward_all": true}},
        "edges": [], "entries": ["a"], "exits": ["a"]
    });
    let engine = Operon::builder(doc.to_string())
        .op("inc", |inputs: Map<String, Value>| -> Result<Value, OperonError> {
            let x = inputs["x"].as_i64().ok_or_else(|| OperonError::Runtime("x must be an int".into()))?;
            Ok(json!({"y": x + 1}))
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let out = engine.run(json!({"x": 41})).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.outputs, *json!({"y": 42}).as_object().unwrap());
}
