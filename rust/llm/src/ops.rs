//! The provider calls as async operonx ops, to register with `OperonBuilder::op_async`.

use operonx::ops::OpFuture;
use operonx::OperonError;
use serde_json::{json, Map, Value};

use crate::chat::ChatRequest;
use crate::client::Provider;
use crate::error::LlmError;
use crate::genai;
use crate::retry::RetryPolicy;

/// An op's failure: the provider's error, under the op's name.
fn failed(op: &str, e: &LlmError) -> OperonError {
    OperonError::Runtime(format!("{op}: {e}"))
}

/// The `chat` op: inputs `messages`, `model` and chat parameters ([`crate::chat::PARAMS`]);
/// outputs `content`, `message`, `tool_calls`, `finish_reason`, `usage`, `model`, and the call's
/// span attributes under [`genai::SPAN_KEY`].
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
    op("chat", provider, policy, |provider, policy, inputs| async move {
        let request = ChatRequest::from_inputs(&inputs)?;
        let answer = provider.chat(&request, &policy).await?;
        Ok(genai::chat_outputs(&provider, &request, answer, None))
    })
}

/// The `embed` op: input `input` (a text, or a list of texts) and optionally `model`; outputs
/// `embedding` (one text) or `embeddings` (a list, in input order), with `model` and `usage`.
pub fn embed(
    provider: Provider,
    policy: RetryPolicy,
) -> impl Fn(Map<String, Value>) -> OpFuture + Send + Sync + 'static {
    op("embed", provider, policy, |provider, policy, inputs| async move {
        let bad = || LlmError::Config("input 'input' must be a text or a list of texts".into());
        let (texts, one) = match inputs.get("input") {
            Some(Value::String(text)) => (vec![text.clone()], true),
            Some(Value::Array(items)) => {
                let texts = items.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>();
                (texts.ok_or_else(bad)?, false)
            }
            _ => return Err(bad()),
        };
        let model = inputs.get("model").and_then(Value::as_str);
        let mut got = provider.embed(&texts, model, &policy).await?;
        let attrs = genai::embed_attributes(&provider, model, &got);
        let mut out =
            if one { json!({"embedding": got.vectors.remove(0)}) } else { json!({"embeddings": got.vectors}) };
        out["model"] = got.model.into();
        out["usage"] = got.usage.unwrap_or(Value::Null);
        out[genai::SPAN_KEY] = Value::Object(attrs);
        Ok(out)
    })
}

/// An async op named `name` calling `call` with the provider, the policy and the inputs; its error
/// fails the op under the op's name.
fn op<F, Fut>(
    name: &'static str,
    provider: Provider,
    policy: RetryPolicy,
    call: F,
) -> impl Fn(Map<String, Value>) -> OpFuture + Send + Sync + 'static
where
    F: Fn(Provider, RetryPolicy, Map<String, Value>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, LlmError>> + Send + 'static,
{
    move |inputs| {
        let future = call(provider.clone(), policy.clone(), inputs);
        Box::pin(async move { future.await.map_err(|e| failed(name, &e)) })
    }
}
