//! The provider calls as async operonx ops, to register with `OperonBuilder::op_async`.

use std::sync::Arc;

use operonx::ops::OpFuture;
use operonx::OperonError;
use serde_json::{json, Map, Value};

use crate::chat::ChatRequest;
use crate::client::Provider;
use crate::error::LlmError;
use crate::retry::RetryPolicy;

/// An op's failure: the provider's error, under the op's name.
fn failed(op: &str, e: &LlmError) -> OperonError {
    OperonError::Runtime(format!("{op}: {e}"))
}

/// The `chat` op: inputs `messages`, `model` and chat parameters ([`crate::chat::PARAMS`]);
/// outputs `content`, `message`, `tool_calls`, `finish_reason`, `usage`, `model`.
///
/// ```no_run
/// use operonx::Operon;
/// use operonx_llm::{ops, Provider, ProviderConfig, RetryPolicy};
/// let provider = Provider::new(ProviderConfig::new("http://127.0.0.1:8000/v1")).unwrap();
/// let doc = serde_json::json!({
///     "schema_version": "1.0", "type": "graph", "name": "g", "entries": ["ask"], "exits": ["ask"],
///     "compiled_adj": {"ask": []}, "inputs": {"messages": {"required": true}}, "outputs": {"answer": {}},
///     "ops": {"ask": {"type": "code", "func_name": "chat", "bound": "io",
///         "inputs": {"messages": {"ref": {"source": "__PARENT__", "var": "messages"}}},
///         "outputs": {"content": {"ref": {"source": "__PARENT__", "var": "answer", "is_output": true}}}}},
/// }).to_string();
/// let engine = Operon::builder(&doc).op_async("chat", ops::chat(provider, RetryPolicy::new(2))).build().unwrap();
/// ```
pub fn chat(
    provider: Provider,
    policy: RetryPolicy,
) -> impl Fn(Map<String, Value>) -> OpFuture + Send + Sync + 'static {
    let shared = Arc::new((provider, policy));
    move |inputs| {
        let shared = Arc::clone(&shared);
        Box::pin(async move {
            let (provider, policy) = &*shared;
            let request = ChatRequest::from_inputs(&inputs).map_err(|e| failed("chat", &e))?;
            let answer = provider.chat(&request, policy).await.map_err(|e| failed("chat", &e))?;
            Ok(answer.into_outputs())
        })
    }
}

/// The `embed` op: input `input` (a text, or a list of texts) and optionally `model`; outputs
/// `embedding` (one text) or `embeddings` (a list, in input order), with `model` and `usage`.
pub fn embed(
    provider: Provider,
    policy: RetryPolicy,
) -> impl Fn(Map<String, Value>) -> OpFuture + Send + Sync + 'static {
    let shared = Arc::new((provider, policy));
    move |inputs| {
        let shared = Arc::clone(&shared);
        Box::pin(async move {
            let (provider, policy) = &*shared;
            let bad = || LlmError::Config("input 'input' must be a text or a list of texts".into());
            let (texts, one) = match inputs.get("input") {
                Some(Value::String(text)) => (vec![text.clone()], true),
                Some(Value::Array(items)) => {
                    let texts = items.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>();
                    (texts.ok_or_else(|| failed("embed", &bad()))?, false)
                }
                _ => return Err(failed("embed", &bad())),
            };
            let model = inputs.get("model").and_then(Value::as_str);
            let mut got = provider.embed(&texts, model, policy).await.map_err(|e| failed("embed", &e))?;
            let vectors =
                if one { json!({"embedding": got.vectors.remove(0)}) } else { json!({"embeddings": got.vectors}) };
            let mut out = vectors;
            out["model"] = got.model.into();
            out["usage"] = got.usage.unwrap_or(Value::Null);
            Ok(out)
        })
    }
}
