//! `POST /chat/completions`: the request an op's inputs make, and the answer's parts.

use serde_json::{json, Map, Value};

use crate::client::{json_body, missing, Provider};
use crate::error::LlmError;
use crate::retry::RetryPolicy;

/// The request parameters passed on to the provider as they are.
pub const PARAMS: &[&str] = &[
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
];

/// One chat request: the messages, the model (else the provider's default) and parameters.
///
/// ```
/// use serde_json::json;
/// let inputs = json!({"messages": [{"role": "user", "content": "hi"}], "temperature": 0});
/// let request = operonx_llm::ChatRequest::from_inputs(inputs.as_object().unwrap()).unwrap();
/// assert_eq!(request.messages.len(), 1);
/// assert_eq!(request.params["temperature"], 0);
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChatRequest {
    /// The conversation, as the provider takes it (`{"role", "content", ...}` objects).
    pub messages: Vec<Value>,
    /// The model; `None` takes the provider's.
    pub model: Option<String>,
    /// Parameters among [`PARAMS`].
    pub params: Map<String, Value>,
}

impl ChatRequest {
    /// A request of `messages` with no parameter.
    pub fn new(messages: Vec<Value>) -> Self {
        ChatRequest { messages, ..ChatRequest::default() }
    }

    /// The request an op's inputs describe: `messages` (a list of objects, or one string taken as
    /// a user message), `model`, and any of [`PARAMS`] (a `null` parameter is left out). Another
    /// key is refused, naming it.
    pub fn from_inputs(inputs: &Map<String, Value>) -> Result<Self, LlmError> {
        let messages = match inputs.get("messages") {
            Some(Value::Array(list)) if list.iter().all(Value::is_object) && !list.is_empty() => list.clone(),
            Some(Value::String(text)) => vec![json!({"role": "user", "content": text})],
            Some(other) => {
                return Err(LlmError::Config(format!(
                    "input 'messages' must be a non-empty list of message objects or a string, not {other}"
                )))
            }
            None => return Err(LlmError::Config("input 'messages' is missing".into())),
        };
        let model = match inputs.get("model") {
            None | Some(Value::Null) => None,
            Some(Value::String(m)) => Some(m.clone()),
            Some(_) => return Err(LlmError::Config("input 'model' must be a string".into())),
        };
        let mut params = Map::new();
        for (key, value) in inputs {
            if key == "messages" || key == "model" || value.is_null() {
                continue;
            }
            if !PARAMS.contains(&key.as_str()) {
                return Err(LlmError::Config(format!("input '{key}' is not a chat parameter ({})", PARAMS.join(", "))));
            }
            params.insert(key.clone(), value.clone());
        }
        Ok(ChatRequest { messages, model, params })
    }

    /// The JSON body for `model`, streamed or not.
    pub(crate) fn body(&self, model: &str, stream: bool) -> Value {
        let mut body = self.params.clone();
        body.insert("model".into(), model.into());
        body.insert("messages".into(), Value::Array(self.messages.clone()));
        if stream {
            body.insert("stream".into(), true.into());
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Value::Object(body)
    }
}

/// A chat answer: the assistant's message and what came with it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChatResponse {
    /// The text of the message (`None` when the model only called tools).
    pub content: Option<String>,
    /// The tool calls, as the provider sent them.
    pub tool_calls: Vec<Value>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, ...).
    pub finish_reason: Option<String>,
    /// Token counts (`prompt_tokens`, `completion_tokens`, `total_tokens`), when sent.
    pub usage: Option<Value>,
    /// The model that answered.
    pub model: String,
}

impl ChatResponse {
    /// The assistant message, as it goes back into a conversation.
    pub fn message(&self) -> Value {
        let mut message = json!({"role": "assistant", "content": self.content});
        if !self.tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(self.tool_calls.clone());
        }
        message
    }

    /// The op's outputs: `content`, `message`, `tool_calls`, `finish_reason`, `usage`, `model`.
    ///
    /// ```
    /// let answer = operonx_llm::ChatResponse { content: Some("hi".into()), model: "m".into(), ..Default::default() };
    /// let out = answer.into_outputs();
    /// assert_eq!(out["content"], "hi");
    /// assert_eq!(out["message"]["role"], "assistant");
    /// ```
    pub fn into_outputs(self) -> Value {
        json!({
            "content": self.content,
            "message": self.message(),
            "tool_calls": self.tool_calls,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "model": self.model,
        })
    }

    /// The answer in a `chat.completion` body.
    pub(crate) fn parse(body: &Value) -> Result<Self, LlmError> {
        let choice = body.pointer("/choices/0").ok_or_else(|| missing("choices[0]"))?;
        let message = choice.get("message").ok_or_else(|| missing("choices[0].message"))?;
        Ok(ChatResponse {
            content: message.get("content").and_then(Value::as_str).map(str::to_string),
            tool_calls: message.get("tool_calls").and_then(Value::as_array).cloned().unwrap_or_default(),
            finish_reason: choice.get("finish_reason").and_then(Value::as_str).map(str::to_string),
            usage: body.get("usage").filter(|u| u.is_object()).cloned(),
            model: body.get("model").and_then(Value::as_str).unwrap_or_default().to_string(),
        })
    }
}

impl Provider {
    /// One chat completion, retried per `policy`.
    pub async fn chat(&self, request: &ChatRequest, policy: &RetryPolicy) -> Result<ChatResponse, LlmError> {
        let model = self.model(request.model.as_deref(), false)?;
        let body = request.body(&model, false);
        policy
            .run(|_| async {
                let answer = json_body(self.post("/chat/completions", &body).await?).await?;
                let mut response = ChatResponse::parse(&answer)?;
                if response.model.is_empty() {
                    response.model.clone_from(&model);
                }
                Ok(response)
            })
            .await
    }
}
