//! The fake provider of `operonx.llm.testing` (python/operonx/llm/testing.py), run in a child process and scripted over HTTP.
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use operonx_llm::{Provider, ProviderConfig};
use serde_json::{json, Value};

/// Every await of these tests is bounded by this.
pub const T: Duration = Duration::from_secs(20);

/// A running fake provider; dropped, it stops.
pub struct Fake {
    child: Child,
    /// Its base URL (`http://127.0.0.1:<port>/v1`).
    pub base_url: String,
}

impl Fake {
    /// Starts one, replying `reply` with the given knobs and faults (`Fault` fields of operonx.llm.testing).
    pub async fn start(knobs: Value) -> Fake {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../python/operonx/llm/testing.py");
        let python = std::env::var("OPERONX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the fake provider with {python}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the fake's URL");
        let fake = Fake { child, base_url: line.trim().to_string() };
        fake.configure(knobs).await;
        fake
    }

    /// Sets knobs and faults, and clears the requests seen.
    pub async fn configure(&self, knobs: Value) {
        let url = self.base_url.replace("/v1", "/_fake/config");
        let answer = reqwest::Client::new().post(url).json(&knobs).send().await.expect("configure");
        assert!(answer.status().is_success(), "the fake refused {knobs}: {}", answer.text().await.unwrap());
    }

    /// The requests received since the last configuration.
    pub async fn requests(&self) -> Vec<Value> {
        let url = self.base_url.replace("/v1", "/_fake/requests");
        let answer = reqwest::get(url).await.expect("requests");
        answer.json::<Vec<Value>>().await.expect("requests as JSON")
    }

    /// Streams whose client went away before their end.
    pub async fn disconnects(&self) -> u64 {
        let url = self.base_url.replace("/v1", "/_fake/disconnects");
        let answer: Value = reqwest::get(url).await.expect("disconnects").json().await.expect("JSON");
        answer["disconnects"].as_u64().expect("a count")
    }

    /// Its settings, with `model` as the default model and `key` as the API key.
    pub fn config(&self) -> ProviderConfig {
        let entry = json!({"provider": "openai_compatible", "base_url": self.base_url, "api_key": "sk-test",
                           "model": "fake-model", "timeout": 5, "connect_timeout": 5});
        ProviderConfig::from_entry("llm", entry.as_object().unwrap()).unwrap()
    }

    /// A client of it.
    pub fn provider(&self) -> Provider {
        Provider::new(self.config()).unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A retry policy with `retries` and waits short enough for tests.
pub fn quick(retries: u32) -> operonx_llm::RetryPolicy {
    let mut policy = operonx_llm::RetryPolicy::new(retries);
    policy.base = Duration::from_millis(5);
    policy.max = Duration::from_millis(20);
    policy
}
