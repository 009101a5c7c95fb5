//! One provider's HTTP client: requests with the provider's headers, error statuses turned into
//! [`LlmError`]s carrying the provider's message.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use serde_json::Value;

use crate::config::ProviderConfig;
use crate::error::LlmError;
use crate::retry::parse_retry_after;

/// A client of one OpenAI-compatible provider. Cheap to clone: clones share the connection pool.
///
/// ```
/// let provider = operonx_llm::Provider::new(operonx_llm::ProviderConfig::new("http://127.0.0.1:9/v1")).unwrap();
/// assert_eq!(provider.config().base_url, "http://127.0.0.1:9/v1");
/// ```
#[derive(Clone, Debug)]
pub struct Provider {
    config: ProviderConfig,
    http: reqwest::Client,
}

impl Provider {
    /// A client of the provider `config` describes. A header that is not valid HTTP is refused.
    pub fn new(config: ProviderConfig) -> Result<Self, LlmError> {
        let mut headers = HeaderMap::new();
        let value = |v: &str, what: &str| {
            HeaderValue::from_str(v).map_err(|_| LlmError::Config(format!("the {what} is not a valid header value")))
        };
        if let Some(key) = &config.api_key {
            let mut auth = value(&format!("Bearer {}", key.expose()), "API key")?;
            auth.set_sensitive(true);
            headers.insert(AUTHORIZATION, auth);
        }
        if let Some(org) = &config.organization {
            headers.insert("openai-organization", value(org, "organization")?);
        }
        if let Some(project) = &config.project {
            headers.insert("openai-project", value(project, "project")?);
        }
        for (k, v) in &config.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| LlmError::Config(format!("header name '{k}' is not valid")))?;
            headers.insert(name, value(v, &format!("header '{k}'"))?);
        }
        let mut builder = reqwest::Client::builder().default_headers(headers).connect_timeout(config.connect_timeout);
        if let Some(t) = config.timeout {
            builder = builder.read_timeout(t);
        }
        let http = builder.build().map_err(|e| LlmError::Config(format!("cannot make the HTTP client: {e}")))?;
        Ok(Provider { config, http })
    }

    /// The provider's settings.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The model of a request: `requested`, else the provider's default (`embedding` picks the
    /// embedding default first), else a [`LlmError::Config`] error.
    pub fn model(&self, requested: Option<&str>, embedding: bool) -> Result<String, LlmError> {
        let default = if embedding {
            self.config.embedding_model.as_deref().or(self.config.model.as_deref())
        } else {
            self.config.model.as_deref()
        };
        requested
            .or(default)
            .map(str::to_string)
            .ok_or_else(|| LlmError::Config("no model: name one in the op or in the provider's resource".into()))
    }

    /// POSTs `body` to endpoint `path`; an error status becomes [`LlmError::Status`].
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<reqwest::Response, LlmError> {
        let response =
            self.http.post(self.config.url(path)).json(body).send().await.map_err(|e| LlmError::from_reqwest(&e))?;
        checked(response).await
    }

    /// GETs endpoint `path`.
    pub(crate) async fn get(&self, path: &str) -> Result<reqwest::Response, LlmError> {
        let response = self.http.get(self.config.url(path)).send().await.map_err(|e| LlmError::from_reqwest(&e))?;
        checked(response).await
    }

    /// The ids of the provider's models (`GET /models`).
    pub async fn models(&self) -> Result<Vec<String>, LlmError> {
        let body = json_body(self.get("/models").await?).await?;
        let data = body.get("data").and_then(Value::as_array).ok_or_else(|| missing("data"))?;
        Ok(data.iter().filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string)).collect())
    }
}

/// `response` if its status is a success; else the provider's error.
async fn checked(response: reqwest::Response) -> Result<reqwest::Response, LlmError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            let start: String = text.chars().take(200).collect();
            if start.is_empty() {
                status.canonical_reason().unwrap_or("no message").to_string()
            } else {
                start
            }
        });
    Err(LlmError::Status { status: status.as_u16(), message, retry_after })
}

/// The JSON body of a successful response.
pub(crate) async fn json_body(response: reqwest::Response) -> Result<Value, LlmError> {
    let bytes = response.bytes().await.map_err(|e| LlmError::from_reqwest(&e))?;
    serde_json::from_slice(&bytes).map_err(|e| LlmError::Malformed(format!("the body is not JSON: {e}")))
}

/// The error of an answer without `field`.
pub(crate) fn missing(field: &str) -> LlmError {
    LlmError::Malformed(format!("the answer has no '{field}'"))
}
