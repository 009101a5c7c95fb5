//! What a span's GenAI attributes (`gen_ai.*`, given by an LLM op) say in a trace node's own
//! `model` and `usage` fields.

use serde_json::{json, Map, Value};

/// The node's `model` (the model that answered, else the one asked for; `null` when neither is
/// given) and `usage` (`{"input_tokens", "output_tokens"}`, the counts given; `null` when none is).
pub(super) fn model_and_usage(attributes: &Map<String, Value>) -> (Value, Value) {
    let model = attributes
        .get("gen_ai.response.model")
        .or_else(|| attributes.get("gen_ai.request.model"))
        .filter(|m| m.is_string())
        .cloned()
        .unwrap_or(Value::Null);
    let mut usage = Map::new();
    for (name, key) in [("gen_ai.usage.input_tokens", "input_tokens"), ("gen_ai.usage.output_tokens", "output_tokens")] {
        if let Some(n) = attributes.get(name).filter(|n| n.is_u64()) {
            usage.insert(key.into(), n.clone());
        }
    }
    let usage = if usage.is_empty() { Value::Null } else { json!(usage) };
    (model, usage)
}
