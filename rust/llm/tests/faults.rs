//! A provider that fails at random: with enough retries every call ends with the whole answer, and no
//! piece of a stream reaches the caller twice or goes missing.

mod fake;

use std::time::Duration;

use fake::{quick, Fake, T};
use futures::future::join_all;
use futures::StreamExt;
use operonx_llm::{ChatEvent, ChatRequest, Provider, RetryPolicy};
use serde_json::json;
use tokio::time::timeout;

const REPLY: &str = "the quick brown fox jumps over the lazy dog and keeps on running far away";

fn ask() -> ChatRequest {
    ChatRequest::new(vec![json!({"role": "user", "content": "go"})])
}

/// The fake failing 10 % of requests (429, 500, a 0.5 s delay against a 0.2 s read timeout, a cut), and a
/// client of it.
async fn flaky(seed: u64) -> (Fake, Provider) {
    let fake = Fake::start(json!({"reply": REPLY, "fault_rate": 0.1, "fault_seed": seed})).await;
    let mut config = fake.config();
    config.timeout = Some(Duration::from_millis(200));
    let provider = Provider::new(config).unwrap();
    (fake, provider)
}

async fn streamed(provider: &Provider, policy: RetryPolicy) -> String {
    let mut stream = provider.chat_stream(&ask(), policy);
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event.expect("a stream failed despite its retries") {
            ChatEvent::Delta(piece) => text.push_str(&piece),
            ChatEvent::Done(answer) => assert_eq!(answer.content.as_deref(), Some(text.as_str())),
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_survive_random_faults_without_duplicates_or_losses() {
    let (fake, provider) = flaky(7).await;
    let runs = (0..80).map(|_| streamed(&provider, quick(5)));
    let texts = timeout(Duration::from_secs(120), join_all(runs)).await.expect("the streams hung");
    assert!(texts.iter().all(|t| t == REPLY), "a stream's text differs from the server's");
    let requests = fake.requests().await.len();
    assert!(requests > 80, "no fault was met ({requests} requests): the test tests nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_survive_random_faults() {
    let (fake, provider) = flaky(11).await;
    let runs = (0..80).map(|_| {
        let provider = provider.clone();
        async move { provider.chat(&ask(), &quick(5)).await }
    });
    let answers = timeout(Duration::from_secs(120), join_all(runs)).await.expect("the calls hung");
    for answer in answers {
        assert_eq!(answer.expect("a call failed despite its retries").content.as_deref(), Some(REPLY));
    }
    assert!(fake.requests().await.len() > 80);
}

#[tokio::test]
async fn a_dropped_stream_leaves_no_request_open() {
    let fake = Fake::start(json!({"reply": REPLY, "chunk_delay": 0.05})).await;
    let provider = fake.provider();
    let mut stream = provider.chat_stream(&ask(), RetryPolicy::none());
    let first = timeout(T, stream.next()).await.unwrap().unwrap().unwrap();
    assert!(matches!(first, ChatEvent::Delta(_)));
    drop(stream);
    let seen = timeout(T, async {
        while fake.disconnects().await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(seen.is_ok(), "the server never saw the client go away");
}
