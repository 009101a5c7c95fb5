//! Streamed chat: server-sent events read as they arrive, retried without repeating to the caller
//! what it already received.

use std::pin::Pin;

use eventsource_stream::Eventsource;
use futures::stream::{self, BoxStream, Stream, StreamExt};
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
        let state = State {
            provider: self.clone(),
            body: request.body(&model, true),
            model,
            policy,
            attempt: 0,
            events: None,
            delivered: String::new(),
            delivered_chunks: 0,
            seen: String::new(),
            answer: Answer::default(),
            done: false,
        };
        Box::pin(stream::unfold(state, |mut st| async move {
            let item = st.next().await?;
            Some((item, st))
        }))
    }
}

impl State {
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
