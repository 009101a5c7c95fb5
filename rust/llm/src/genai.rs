//! The attributes of a provider call that its op's span carries, named after OpenTelemetry's GenAI
//! semantic conventions (`gen_ai.*`, `server.*`). An op hands them to the engine under
//! [`SPAN_KEY`] in its outputs, which the engine's traces read and never show as an output; a
//! streamed chat hands them over once its stream ended. No key or header ever goes in.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::chat::{ChatRequest, ChatResponse};
use crate::client::Provider;
use crate::embed::Embeddings;

/// The output key under which an op's span attributes travel (`"$span"`).
pub const SPAN_KEY: &str = "$span";

/// The request parameters recorded, with their attribute names.
const REQUEST_PARAMS: [(&str, &str); 7] = [
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("seed", "gen_ai.request.seed"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
];

/// The span attributes of chat `request` answered with `answer` by `provider`; `first_chunk` is
/// the time from the request to its first chunk of text, for a streamed chat.
///
/// ```
/// use operonx_llm::{genai, ChatRequest, ChatResponse, Provider, ProviderConfig};
/// let mut config = ProviderConfig::new("http://127.0.0.1:8000/v1");
/// config.model = Some("small".into());
/// let provider = Provider::new(config).unwrap();
/// let request = ChatRequest::new(vec![serde_json::json!({"role": "user", "content": "hi"})]);
/// let usage = serde_json::json!({"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8});
/// let answer = ChatResponse {
///     content: Some("hello".into()), finish_reason: Some("stop".into()), usage: Some(usage),
///     model: "small-2".into(), ..Default::default()
/// };
/// let attrs = genai::chat_attributes(&provider, &request, &answer, None);
/// assert_eq!(attrs["gen_ai.operation.name"], "chat");
/// assert_eq!(attrs["gen_ai.request.model"], "small");
/// assert_eq!(attrs["gen_ai.response.model"], "small-2");
/// assert_eq!(attrs["gen_ai.response.finish_reasons"], serde_json::json!(["stop"]));
/// assert_eq!(attrs["gen_ai.usage.input_tokens"], 3);
/// assert_eq!(attrs["gen_ai.usage.output_tokens"], 5);
/// assert_eq!(attrs["server.port"], 8000);
/// ```
pub fn chat_attributes(
    provider: &Provider,
    request: &ChatRequest,
    answer: &ChatResponse,
    first_chunk: Option<Duration>,
) -> Map<String, Value> {
    let mut attrs = common(provider, "chat", provider.model(request.model.as_deref(), false).ok());
    for (param, name) in REQUEST_PARAMS {
        if let Some(v) = request.params.get(param).filter(|v| v.is_number()) {
            attrs.insert(name.into(), v.clone());
        }
    }
    match request.params.get("stop") {
        Some(Value::String(s)) => {
            attrs.insert("gen_ai.request.stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(list)) => {
            attrs.insert("gen_ai.request.stop_sequences".into(), Value::Array(list.clone()));
        }
        _ => {}
    }
    if let Some(kind) = request.params.get("response_format").and_then(|f| f.get("type")).and_then(Value::as_str) {
        let output = if kind.starts_with("json") { "json" } else { "text" };
        attrs.insert("gen_ai.output.type".into(), output.into());
    }
    if !answer.model.is_empty() {
        attrs.insert("gen_ai.response.model".into(), answer.model.clone().into());
    }
    if let Some(reason) = &answer.finish_reason {
        attrs.insert("gen_ai.response.finish_reasons".into(), json!([reason]));
    }
    usage(&mut attrs, answer.usage.as_ref());
    if let Some(t) = first_chunk {
        attrs.insert("gen_ai.response.time_to_first_chunk".into(), t.as_secs_f64().into());
    }
    attrs
}

/// The span attributes of embedding texts by `requested` (else the provider's model), answered
/// with `got`.
///
/// ```
/// use operonx_llm::{genai, Embeddings, Provider, ProviderConfig};
/// let provider = Provider::new(ProviderConfig::new("https://api.example.com/v1")).unwrap();
/// let got = Embeddings { vectors: vec![vec![0.5]], model: "e1".into(), usage: Some(serde_json::json!({"prompt_tokens": 2})) };
/// let attrs = genai::embed_attributes(&provider, Some("e1"), &got);
/// assert_eq!(attrs["gen_ai.operation.name"], "embeddings");
/// assert_eq!(attrs["gen_ai.usage.input_tokens"], 2);
/// assert_eq!(attrs["server.address"], "api.example.com");
/// assert_eq!(attrs["server.port"], 443);
/// ```
pub fn embed_attributes(provider: &Provider, requested: Option<&str>, got: &Embeddings) -> Map<String, Value> {
    let mut attrs = common(provider, "embeddings", provider.model(requested, true).ok());
    if !got.model.is_empty() {
        attrs.insert("gen_ai.response.model".into(), got.model.clone().into());
    }
    if let Some(dims) = got.vectors.first().map(Vec::len) {
        attrs.insert("gen_ai.embeddings.dimension.count".into(), dims.into());
    }
    usage(&mut attrs, got.usage.as_ref());
    attrs
}

/// The chat op's outputs (see [`ChatResponse::into_outputs`]) with the call's span attributes
/// under [`SPAN_KEY`].
pub fn chat_outputs(
    provider: &Provider,
    request: &ChatRequest,
    answer: ChatResponse,
    first_chunk: Option<Duration>,
) -> Value {
    let attrs = chat_attributes(provider, request, &answer, first_chunk);
    let mut out = answer.into_outputs();
    out[SPAN_KEY] = Value::Object(attrs);
    out
}

/// The attributes of every call: the operation, the provider, the requested model and the server.
fn common(provider: &Provider, operation: &str, model: Option<String>) -> Map<String, Value> {
    let config = provider.config();
    let mut attrs = Map::new();
    attrs.insert("gen_ai.operation.name".into(), operation.into());
    attrs.insert("gen_ai.provider.name".into(), config.provider_name.clone().into());
    if let Some(model) = model {
        attrs.insert("gen_ai.request.model".into(), model.into());
    }
    if let Ok(url) = reqwest::Url::parse(&config.base_url) {
        if let Some(host) = url.host_str() {
            attrs.insert("server.address".into(), host.into());
        }
        if let Some(port) = url.port_or_known_default() {
            attrs.insert("server.port".into(), port.into());
        }
    }
    attrs
}

/// Token counts from a provider's `usage` (`prompt_tokens`, `completion_tokens`).
fn usage(attrs: &mut Map<String, Value>, usage: Option<&Value>) {
    let Some(usage) = usage else { return };
    for (key, name) in [("prompt_tokens", "gen_ai.usage.input_tokens"), ("completion_tokens", "gen_ai.usage.output_tokens")] {
        if let Some(n) = usage.get(key).and_then(Value::as_u64) {
            attrs.insert(name.into(), n.into());
        }
    }
}
