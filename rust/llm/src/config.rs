//! A provider's settings: where it is, how to authenticate, how long to wait. They come from a
//! resource entry (`resources.yaml`), never from code that could leak the key.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::LlmError;

/// An API key. It is sent in the `Authorization` header and shown nowhere else: its `Debug` and
/// `Display` print `***`.
///
/// ```
/// let key = operonx_llm::ApiKey::new("sk-secret");
/// assert_eq!(format!("{key:?} {key}"), "ApiKey(***) ***");
/// assert_eq!(key.expose(), "sk-secret");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps `key`.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for the request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to reach one OpenAI-compatible provider (vLLM, llama.cpp's server, Ollama's `/v1`, hosted
/// providers).
///
/// ```
/// use serde_json::json;
/// let entry = json!({"provider": "openai_compatible", "base_url": "http://127.0.0.1:8000/v1",
///                    "api_key": "sk-x", "model": "m", "timeout": 30});
/// let config = operonx_llm::ProviderConfig::from_entry("llm", entry.as_object().unwrap()).unwrap();
/// assert_eq!(config.base_url, "http://127.0.0.1:8000/v1");
/// assert_eq!(config.timeout, Some(std::time::Duration::from_secs(30)));
/// assert!(!format!("{config:?}").contains("sk-x"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderConfig {
    /// The base URL, up to and including `/v1` (no trailing slash).
    pub base_url: String,
    /// The bearer token, if the provider needs one.
    pub api_key: Option<ApiKey>,
    /// The default model of requests that name none.
    pub model: Option<String>,
    /// The default model of embedding requests that name none (else `model`).
    pub embedding_model: Option<String>,
    /// Bound on connecting to the provider.
    pub connect_timeout: Duration,
    /// Bound on a whole request (a stream: on the wait for each chunk), if any.
    pub timeout: Option<Duration>,
    /// `OpenAI-Organization` header.
    pub organization: Option<String>,
    /// `OpenAI-Project` header.
    pub project: Option<String>,
    /// Further headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// The provider's name in traces (`gen_ai.provider.name`).
    pub provider_name: String,
}

impl ProviderConfig {
    /// The settings of a provider at `base_url`, with defaults for the rest.
    ///
    /// ```
    /// let config = operonx_llm::ProviderConfig::new("http://localhost:11434/v1/");
    /// assert_eq!(config.base_url, "http://localhost:11434/v1");
    /// ```
    pub fn new(base_url: impl Into<String>) -> Self {
        ProviderConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key: None,
            model: None,
            embedding_model: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Some(Duration::from_secs(600)),
            organization: None,
            project: None,
            headers: Vec::new(),
            provider_name: "openai_compatible".into(),
        }
    }

    /// The settings of resource entry `name`: `provider` (`openai_compatible` or `openai`),
    /// `base_url`, and optionally `api_key`, `model`, `embedding_model`, `timeout` and
    /// `connect_timeout` (seconds), `organization`, `project`, `headers` (a mapping). Any other key,
    /// or a value of the wrong type, is refused naming the entry and the key.
    ///
    /// ```
    /// use serde_json::json;
    /// let bad = json!({"provider": "openai_compatible", "base_url": "http://x/v1", "tmeout": 3});
    /// let err = operonx_llm::ProviderConfig::from_entry("llm", bad.as_object().unwrap()).unwrap_err();
    /// assert!(err.to_string().contains("'tmeout'"));
    /// ```
    pub fn from_entry(name: &str, entry: &Map<String, Value>) -> Result<Self, LlmError> {
        let bad = |key: &str, what: &str| LlmError::Config(format!("resource '{name}': '{key}' {what}"));
        let text = |key: &str| -> Result<Option<String>, LlmError> {
            match entry.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(key, "must be a string")),
            }
        };
        let seconds = |key: &str| -> Result<Option<Duration>, LlmError> {
            match entry.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(|s| Some(Duration::from_secs_f64(s)))
                    .ok_or_else(|| bad(key, "must be a positive number of seconds")),
            }
        };
        if let Some(key) = entry.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(bad(key, &format!("is not a provider setting (known: {})", KEYS.join(", "))));
        }
        let provider = text("provider")?.unwrap_or_else(|| "openai_compatible".into());
        if !matches!(provider.as_str(), "openai_compatible" | "openai") {
            return Err(bad("provider", &format!("'{provider}' is not supported (openai_compatible, openai)")));
        }
        let base_url = match (text("base_url")?, provider.as_str()) {
            (Some(url), _) if !url.trim().is_empty() => url,
            (None, "openai") => "https://api.openai.com/v1".into(),
            _ => return Err(bad("base_url", "is required")),
        };
        let mut config = ProviderConfig::new(base_url);
        config.api_key = text("api_key")?.filter(|k| !k.is_empty()).map(ApiKey::new);
        config.model = text("model")?;
        config.embedding_model = text("embedding_model")?;
        config.organization = text("organization")?;
        config.project = text("project")?;
        config.provider_name = provider;
        if let Some(t) = seconds("connect_timeout")? {
            config.connect_timeout = t;
        }
        if let Some(t) = seconds("timeout")? {
            config.timeout = Some(t);
        }
        if let Some(headers) = entry.get("headers") {
            let headers = headers.as_object().ok_or_else(|| bad("headers", "must be a mapping"))?;
            for (k, v) in headers {
                let v = v.as_str().ok_or_else(|| bad("headers", &format!("'{k}' must be a string")))?;
                config.headers.push((k.clone(), v.to_string()));
            }
        }
        Ok(config)
    }

    /// The URL of endpoint `path` (such as `/chat/completions`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// The keys a provider entry may have.
const KEYS: &[&str] = &[
    "provider",
    "base_url",
    "api_key",
    "model",
    "embedding_model",
    "timeout",
    "connect_timeout",
    "organization",
    "project",
    "headers",
];
