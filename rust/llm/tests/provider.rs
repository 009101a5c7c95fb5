//! The provider client against the fake provider: replies, retries, faults, streams.

mod fake;

use std::time::{Duration, Instant};

use fake::{quick, Fake, T};
use futures::StreamExt;
use operonx_llm::{ChatEvent, ChatRequest, LlmError, Provider, RetryPolicy};
use serde_json::{json, Value};
use tokio::time::timeout;

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new(vec![json!({"role": "user", "content": text})])
}

/// Every event of a stream: the deltas, then the final answer or the error.
async fn drain(provider: &Provider, policy: RetryPolicy) -> (Vec<String>, Result<operonx_llm::ChatResponse, LlmError>) {
    let mut stream = provider.chat_stream(&ask("hi"), policy);
    let mut deltas = Vec::new();
    loop {
        match timeout(T, stream.next()).await.expect("the stream hung") {
            Some(Ok(ChatEvent::Delta(d))) => deltas.push(d),
            Some(Ok(ChatEvent::Done(answer))) => {
                assert!(timeout(T, stream.next()).await.unwrap().is_none(), "events after Done");
                return (deltas, Ok(answer));
            }
            Some(Err(e)) => {
                assert!(timeout(T, stream.next()).await.unwrap().is_none(), "events after an error");
                return (deltas, Err(e));
            }
            None => panic!("the stream ended without Done or an error"),
        }
    }
}

#[tokio::test]
async fn chat_reply_and_request() {
    let fake = Fake::start(json!({"reply": "one two three"})).await;
    let mut request = ask("say three words");
    request.params.insert("temperature".into(), json!(0));
    let answer = timeout(T, fake.provider().chat(&request, &RetryPolicy::none())).await.unwrap().unwrap();
    assert_eq!(answer.content.as_deref(), Some("one two three"));
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    assert_eq!(answer.model, "fake-model");
    assert_eq!(answer.usage.unwrap()["completion_tokens"], 3);
    let seen = fake.requests().await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["body"]["temperature"], 0);
    assert_eq!(seen[0]["body"]["model"], "fake-model");
    assert_eq!(seen[0]["headers"]["authorization"], "Bearer sk-test");
}

#[tokio::test]
async fn rate_limit_honours_retry_after_then_succeeds() {
    let fake = Fake::start(json!({"faults": [{"status": 429, "retry_after": 0.3}]})).await;
    let started = Instant::now();
    let answer = timeout(T, fake.provider().chat(&ask("x"), &quick(1))).await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "Retry-After was not honoured");
    assert!(answer.content.is_some());
    assert_eq!(fake.requests().await.len(), 2);
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_returned() {
    let fake = Fake::start(json!({"faults": [{"status": 500, "message": "a"}, {"status": 503, "message": "b"},
                                             {"status": 502, "message": "c"}]}))
    .await;
    let err = timeout(T, fake.provider().chat(&ask("x"), &quick(2))).await.unwrap().unwrap_err();
    assert!(matches!(err, LlmError::Status { status: 502, .. }), "{err:?}");
    assert!(err.to_string().contains('c'));
    assert_eq!(fake.requests().await.len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for status in [400, 401, 404] {
        let fake = Fake::start(json!({"faults": [{"status": status, "message": "the provider says no"}]})).await;
        let err = timeout(T, fake.provider().chat(&ask("x"), &quick(3))).await.unwrap().unwrap_err();
        assert!(matches!(&err, LlmError::Status { status: s, .. } if *s == status), "{err:?}");
        assert!(err.to_string().contains("the provider says no"), "{err}");
        assert_eq!(fake.requests().await.len(), 1, "{status} was retried");
    }
}

#[tokio::test]
async fn the_key_appears_in_no_error_or_debug_output() {
    let fake = Fake::start(json!({"api_key": "sk-right"})).await;
    let err = timeout(T, fake.provider().chat(&ask("x"), &quick(0))).await.unwrap().unwrap_err();
    assert!(err.to_string().contains("Incorrect API key"), "{err}");
    for text in [err.to_string(), format!("{err:?}"), format!("{:?}", fake.provider()), format!("{:?}", fake.config())]
    {
        assert!(!text.contains("sk-test") && !text.contains("sk-right"), "a key leaked: {text}");
    }
}

#[tokio::test]
async fn read_timeout_then_retry() {
    let fake = Fake::start(json!({"faults": [{"delay": 2.0}]})).await;
    let mut config = fake.config();
    config.timeout = Some(Duration::from_millis(300));
    let provider = Provider::new(config).unwrap();
    let err = timeout(T, provider.chat(&ask("x"), &quick(0))).await.unwrap().unwrap_err();
    assert!(matches!(err, LlmError::Timeout(_)), "{err:?}");
    fake.configure(json!({"faults": [{"delay": 2.0}]})).await;
    let answer = timeout(T, provider.chat(&ask("x"), &quick(1))).await.unwrap().unwrap();
    assert!(answer.content.is_some());
}

#[tokio::test]
async fn connect_failure_is_typed() {
    let provider = Provider::new(operonx_llm::ProviderConfig::new("http://127.0.0.1:9/v1")).unwrap();
    let err = timeout(T, provider.models()).await.unwrap().unwrap_err();
    assert!(matches!(err, LlmError::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn stream_delivers_every_piece_then_the_answer() {
    let fake = Fake::start(json!({"reply": "alpha beta gamma delta"})).await;
    let (deltas, answer) = drain(&fake.provider(), RetryPolicy::none()).await;
    assert_eq!(deltas, ["alpha", " beta", " gamma", " delta"]);
    let answer = answer.unwrap();
    assert_eq!(answer.content.as_deref(), Some("alpha beta gamma delta"));
    assert_eq!(answer.usage.unwrap()["completion_tokens"], 4);
    let body = &fake.requests().await[0]["body"];
    assert_eq!((body["stream"].clone(), body["stream_options"]["include_usage"].clone()), (json!(true), json!(true)));
}

#[tokio::test]
async fn a_cut_stream_is_retried_without_repeating_delivered_text() {
    // events: role, alpha, beta, gamma, delta, finish, usage: cut after "beta", then after "gamma"
    for cut in [2, 3, 4] {
        let faults = json!([{"disconnect_after": cut}, {"disconnect_after": cut + 1}]);
        let fake = Fake::start(json!({"reply": "alpha beta gamma delta", "faults": faults})).await;
        let (deltas, answer) = drain(&fake.provider(), quick(2)).await;
        assert_eq!(deltas.concat(), "alpha beta gamma delta", "cut at {cut}: {deltas:?}");
        assert_eq!(answer.unwrap().content.as_deref(), Some("alpha beta gamma delta"));
        assert_eq!(fake.requests().await.len(), 3);
    }
}

#[tokio::test]
async fn malformed_chunks_are_retried() {
    let fake = Fake::start(json!({"reply": "a b c", "faults": [{"malformed_at": 2}]})).await;
    let (deltas, answer) = drain(&fake.provider(), quick(1)).await;
    assert_eq!(deltas.concat(), "a b c");
    assert!(answer.is_ok());
}

#[tokio::test]
async fn a_cut_with_no_retry_left_says_how_much_arrived() {
    let fake = Fake::start(json!({"reply": "alpha beta gamma", "faults": [{"disconnect_after": 3}]})).await;
    let (deltas, answer) = drain(&fake.provider(), quick(0)).await;
    assert_eq!(deltas, ["alpha", " beta"]);
    match answer.unwrap_err() {
        LlmError::Cut { chunks: 2, chars: 10, .. } => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_retry_that_says_something_else_is_a_cut() {
    let faults = json!([{"disconnect_after": 3}, {"reply": "alpha gamma beta"}]);
    let fake = Fake::start(json!({"reply": "alpha beta gamma", "faults": faults})).await;
    let (deltas, answer) = drain(&fake.provider(), quick(1)).await;
    assert_eq!(deltas, ["alpha", " beta"]);
    let err = answer.unwrap_err();
    assert!(matches!(err, LlmError::Cut { chunks: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("differs"), "{err}");
}

#[tokio::test]
async fn stream_errors_before_any_text_are_plain_errors() {
    let fake = Fake::start(json!({"faults": [{"status": 401, "message": "no"}]})).await;
    let (deltas, answer) = drain(&fake.provider(), quick(2)).await;
    assert!(deltas.is_empty());
    assert!(matches!(answer.unwrap_err(), LlmError::Status { status: 401, .. }));
}

#[tokio::test]
async fn streamed_tool_calls_are_assembled() {
    let call = json!({"name": "lookup", "arguments": {"city": "Oslo"}});
    let fake = Fake::start(json!({"tool_call": call})).await;
    let mut request = ask("x");
    request.params.insert("tools".into(), json!([{"type": "function", "function": {"name": "lookup"}}]));
    let mut stream = fake.provider().chat_stream(&request, RetryPolicy::none());
    let mut done = None;
    while let Some(event) = timeout(T, stream.next()).await.unwrap() {
        if let ChatEvent::Done(answer) = event.unwrap() {
            done = Some(answer);
        }
    }
    let answer = done.unwrap();
    assert_eq!(answer.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(answer.tool_calls[0]["function"]["name"], "lookup");
    let args: Value = serde_json::from_str(answer.tool_calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Oslo"}));
}

#[tokio::test]
async fn embeddings_in_input_order() {
    let fake = Fake::start(json!({"dimensions": 4})).await;
    let provider = fake.provider();
    let texts: Vec<String> = ["a", "hello", "b"].iter().map(|s| s.to_string()).collect();
    let batch = timeout(T, provider.embed(&texts, None, &RetryPolicy::none())).await.unwrap().unwrap();
    let one = timeout(T, provider.embed(&texts[1..2], None, &RetryPolicy::none())).await.unwrap().unwrap();
    assert_eq!(batch.vectors.len(), 3);
    assert_eq!(batch.vectors[1], one.vectors[0]);
    assert_eq!(batch.vectors[0].len(), 4);
    assert_ne!(batch.vectors[0], batch.vectors[2]);
}

#[tokio::test]
async fn models_are_listed() {
    let fake = Fake::start(json!({})).await;
    let models = timeout(T, fake.provider().models()).await.unwrap().unwrap();
    assert_eq!(models, ["fake-model", "fake-embedder"]);
}

#[tokio::test]
async fn dropping_a_stream_closes_its_connection() {
    let fake = Fake::start(json!({"reply": "a b c d e f g h", "chunk_delay": 0.2})).await;
    let provider = fake.provider();
    let mut stream = provider.chat_stream(&ask("x"), RetryPolicy::none());
    let first = timeout(T, stream.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first, ChatEvent::Delta("a".into()));
    drop(stream);
    // the server sees the peer gone and stops writing; a new request is served at once
    let answer = timeout(Duration::from_secs(5), provider.models()).await.expect("the client is stuck");
    assert!(answer.is_ok());
}
