//! Streamed chat: server-sent events read as they arrive, retried without repeating to the caller
//! what it already received.

use std::borrow::Cow;
use std::pin::Pin;

use eventsource_stream::Eventsource;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::chat::{ChatRequest, ChatResponse};
use crate::client::Provider;
use crate::error::LlmError;
use crate::retry::RetryPolicy;

/// What a chat stream yields: pieces of the message's text as they arrive, then the whole answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatEvent {
    /// The next piece of the message's text.
    Delta(String),
    /// The end: the whole answer (its text is every delta joined), with usage when sent.
    Done(ChatResponse),
}

/// A stream of [`ChatEvent`]s; dropping it closes the connection.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatEvent, LlmError>> + Send>>;

type Events = BoxStream<'static, Result<eventsource_stream::Event, String>>;

struct State {
    provider: Provider,
    body: Value,
    model: String,
    policy: RetryPolicy,
    attempt: u32,
    events: Option<Events>,
    /// The text handed to the caller, over every attempt.
    delivered: String,
    delivered_chunks: usize,
    /// This attempt's text so far.
    seen: String,
    answer: Answer,
    done: bool,
}

/// The fields of a chunk that are read, borrowed from its text where they need no unescaping.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    error: Option<ChunkError<'a>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
}

#[derive(Deserialize)]
struct ChunkError<'a> {
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
}

/// What the chunks of one attempt said besides the text.
#[derive(Default)]
struct Answer {
    tool_calls: Vec<Map<String, Value>>,
    finish_reason: Option<String>,
    usage: Option<Value>,
    model: Option<String>,
}

impl Provider {
    /// A streamed chat completion (`stream: true`, usage included), retried per `policy`: an attempt
    /// that fails after text was delivered is followed by one whose text is matched against it,
    /// and only what is new is delivered; when the texts differ the stream ends with
    /// [`LlmError::Cut`] saying how much arrived.
    ///
    /// ```no_run
    /// # async fn demo(provider: operonx_llm::Provider) -> Result<(), operonx_llm::LlmError> {
    /// use futures::StreamExt;
    /// use operonx_llm::{ChatEvent, ChatRequest, RetryPolicy};
    /// let request = ChatRequest::new(vec![serde_json::json!({"role": "user", "content": "hi"})]);
    /// let mut stream = provider.chat_stream(&request, RetryPolicy::new(2));
    /// while let Some(event) = stream.next().await {
    ///     match event? {
    ///         ChatEvent::Delta(text) => print!("{text}"),
    ///         ChatEvent::Done(answer) => println!("\n{:?}", answer.usage),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn chat_stream(&self, request: &ChatRequest, policy: RetryPolicy) -> ChatStream {
        let model = match self.model(request.model.as_deref(), false) {
            Ok(model) => model,
            Err(e) => return Box::pin(stream::once(async move { Err(e) })),
        };
        let state = State::new(self.clone(), request.body(&model, true), model, policy);
        Box::pin(stream::unfold(state, |mut st| async move {
            let item = st.next().await?;
            Some((item, st))
        }))
    }
}

impl State {
    /// A stream's state before its first attempt.
    fn new(provider: Provider, body: Value, model: String, policy: RetryPolicy) -> State {
        State {
            provider,
            body,
            model,
            policy,
            attempt: 0,
            events: None,
            delivered: String::new(),
            delivered_chunks: 0,
            seen: String::new(),
            answer: Answer::default(),
            done: false,
        }
    }

    /// The next event; `None` once the stream ended.
    async fn next(&mut self) -> Option<Result<ChatEvent, LlmError>> {
        loop {
            if self.done {
                return None;
            }
            let step = match self.events.as_mut() {
                None => self.open().await.map(|()| None),
                Some(events) => match events.next().await {
                    None => Err(LlmError::Transport("the stream ended before 'data: [DONE]'".into())),
                    Some(Err(e)) => Err(LlmError::Transport(e)),
                    Some(Ok(event)) => self.event(&event.data),
                },
            };
            match step {
                Ok(Some(event)) => return Some(Ok(event)),
                Ok(None) => {}
                Err(e) => {
                    if let Err(e) = self.retry(e).await {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// Starts an attempt.
    async fn open(&mut self) -> Result<(), LlmError> {
        let response = self.provider.post("/chat/completions", &self.body).await?;
        let events = response.bytes_stream().eventsource().map(|r| r.map_err(|e| e.to_string()));
        self.events = Some(events.boxed());
        self.seen.clear();
        self.answer = Answer::default();
        Ok(())
    }

    /// Waits and lets the next attempt start, or says why the stream ends.
    async fn retry(&mut self, e: LlmError) -> Result<(), LlmError> {
        self.events = None;
        if !(e.retryable() && self.attempt < self.policy.retries) {
            return Err(self.cut(e.to_string(), e));
        }
        self.attempt += 1;
        tokio::time::sleep(self.policy.delay(self.attempt, e.retry_after())).await;
        Ok(())
    }

    /// `e`, or, when text was delivered already, the cut it makes.
    fn cut(&self, cause: String, e: LlmError) -> LlmError {
        if self.delivered.is_empty() {
            return e;
        }
        LlmError::Cut { chunks: self.delivered_chunks, chars: self.delivered.chars().count(), cause }
    }

    /// Reads one event's data: the event to hand on, if any.
    fn event(&mut self, data: &str) -> Result<Option<ChatEvent>, LlmError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(Some(ChatEvent::Done(self.finish())));
        }
        match serde_json::from_str::<Chunk<'_>>(data) {
            Ok(chunk) => self.chunk(chunk),
            Err(_) => self.loose_chunk(data),
        }
    }

    /// A chunk of the usual shape, read without building a `Value` of it.
    fn chunk(&mut self, chunk: Chunk<'_>) -> Result<Option<ChatEvent>, LlmError> {
        if let Some(message) = chunk.error.and_then(|e| e.message) {
            return Err(LlmError::Transport(format!("the provider failed mid-stream: {message}")));
        }
        if let Some(model) = chunk.model {
            if self.answer.model.as_deref() != Some(&*model) {
                self.answer.model = Some(model.into_owned());
            }
        }
        if let Some(usage) = chunk.usage.filter(Value::is_object) {
            self.answer.usage = Some(usage);
        }
        let Some(choice) = chunk.choices.and_then(|c| c.into_iter().next()) else { return Ok(None) };
        if let Some(reason) = choice.finish_reason {
            self.answer.finish_reason = Some(reason.into_owned());
        }
        let Some(delta) = choice.delta else { return Ok(None) };
        delta.tool_calls.iter().flatten().for_each(|c| self.answer.tool_call(c));
        match delta.content {
            Some(text) if !text.is_empty() => self.text(&text),
            _ => Ok(None),
        }
    }

    /// A chunk of any other shape, read as a `Value` by the same rules (a field of an unexpected
    /// type is ignored).
    fn loose_chunk(&mut self, data: &str) -> Result<Option<ChatEvent>, LlmError> {
        let chunk: Value =
            serde_json::from_str(data).map_err(|e| LlmError::Malformed(format!("a chunk is not JSON ({e})")))?;
        if let Some(message) = chunk.pointer("/error/message").and_then(Value::as_str) {
            return Err(LlmError::Transport(format!("the provider failed mid-stream: {message}")));
        }
        if let Some(model) = chunk.get("model").and_then(Value::as_str) {
            self.answer.model = Some(model.to_string());
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.answer.usage = Some(usage.clone());
        }
        let Some(choice) = chunk.pointer("/choices/0") else { return Ok(None) };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.answer.finish_reason = Some(reason.to_string());
        }
        if let Some(calls) = choice.pointer("/delta/tool_calls").and_then(Value::as_array) {
            calls.iter().for_each(|c| self.answer.tool_call(c));
        }
        match choice.pointer("/delta/content").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => self.text(text),
            _ => Ok(None),
        }
    }

    /// This attempt's next text: the part of it not delivered yet, if any.
    fn text(&mut self, text: &str) -> Result<Option<ChatEvent>, LlmError> {
        let before = self.seen.len();
        self.seen.push_str(text);
        let known = self.delivered.len();
        let agrees = if self.seen.len() <= known {
            self.delivered.starts_with(self.seen.as_str())
        } else {
            self.seen.starts_with(self.delivered.as_str())
        };
        if !agrees {
            let cause = "the retried stream's text differs from what was delivered".to_string();
            self.done = true;
            return Err(self.cut(cause.clone(), LlmError::Transport(cause)));
        }
        if self.seen.len() <= known {
            return Ok(None);
        }
        let new = self.seen[before.max(known)..].to_string();
        self.delivered.push_str(&new);
        self.delivered_chunks += 1;
        Ok(Some(ChatEvent::Delta(new)))
    }

    /// The whole answer at `[DONE]`.
    fn finish(&mut self) -> ChatResponse {
        let answer = std::mem::take(&mut self.answer);
        let tool_calls: Vec<Value> = answer.tool_calls.into_iter().map(Value::Object).collect();
        let content = (tool_calls.is_empty() || !self.delivered.is_empty()).then(|| self.delivered.clone());
        ChatResponse {
            content,
            tool_calls,
            finish_reason: answer.finish_reason,
            usage: answer.usage,
            model: answer.model.unwrap_or_else(|| self.model.clone()),
        }
    }
}

impl Answer {
    /// Adds a tool-call delta: the call at its `index` is created, or its strings extended.
    fn tool_call(&mut self, delta: &Value) {
        let index = delta.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        while self.tool_calls.len() <= index {
            self.tool_calls.push(Map::new());
        }
        let call = &mut self.tool_calls[index];
        for key in ["id", "type"] {
            if let Some(v) = delta.get(key).filter(|v| !v.is_null()) {
                call.insert(key.into(), v.clone());
            }
        }
        if let Some(Value::Object(function)) = delta.get("function") {
            let into = call.entry("function").or_insert_with(|| Value::Object(Map::new()));
            for (key, piece) in function {
                if let (Some(Value::String(acc)), Some(p)) = (into.get_mut(key), piece.as_str()) {
                    acc.push_str(p);
                } else if !piece.is_null() {
                    into[key] = piece.clone();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderConfig;

    fn state() -> State {
        let provider = Provider::new(ProviderConfig::new("http://127.0.0.1:9/v1")).unwrap();
        State::new(provider, Value::Null, "m".into(), RetryPolicy::none())
    }

    /// Chunks read without a `Value` give what reading them as a `Value` gives, whatever their shape.
    #[test]
    fn typed_and_loose_chunks_agree() {
        let chunks = [
            r#"{"model":"fm","choices":[{"index":0,"delta":{"role":"assistant","content":"he"},"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"l\"l\\no \u00e9"}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\":1}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"usage":null}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#,
            r#"{"model":5,"choices":[{"delta":{"content":"x"}}]}"#,
            r#"{"choices":{"0":{"delta":{"content":"y"}}}}"#,
            r#"{"choices":[{"delta":{"content":7}}],"usage":"none"}"#,
            r#"{"error":"flat"}"#,
            r#"{"error":{"message":"boom"}}"#,
            r#"not json"#,
        ];
        for data in &chunks[..6] {
            assert!(serde_json::from_str::<Chunk<'_>>(data).is_ok(), "the usual shape is read typed: {data}");
        }
        let (mut typed, mut loose) = (state(), state());
        for data in chunks {
            let a = format!("{:?}", typed.event(data));
            let b = format!("{:?}", loose.loose_chunk(data));
            assert_eq!(a, b, "chunk {data}");
        }
        assert_eq!(typed.finish(), loose.finish());
        assert_eq!(typed.delivered, "hel\"l\\no éxy");
    }
}
