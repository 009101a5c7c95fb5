//! What can go wrong talking to a provider, and which of it a retry can cure.

use std::time::Duration;

/// A failed provider call. Messages name the provider's own message and never the API key.
///
/// ```
/// use operonx_llm::LlmError;
/// let limited = LlmError::Status { status: 429, message: "slow down".into(), retry_after: None };
/// assert!(limited.retryable());
/// let refused = LlmError::Status { status: 401, message: "bad key".into(), retry_after: None };
/// assert!(!refused.retryable());
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The provider answered with an error status; `message` is its own message.
    #[error("the provider answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The provider's message (`error.message` of its error body, else the body's start).
        message: String,
        /// Its `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// No connection could be made.
    #[error("cannot connect to the provider: {0}")]
    Connect(String),
    /// The provider did not answer (or send the next chunk) in time.
    #[error("the provider did not answer in time: {0}")]
    Timeout(String),
    /// The connection failed while the answer was being read.
    #[error("the connection to the provider failed: {0}")]
    Transport(String),
    /// The provider's answer is not what the protocol says.
    #[error("the provider's answer is malformed: {0}")]
    Malformed(String),
    /// A stream was cut after part of it reached the caller, and no retry could continue it.
    #[error("the stream was cut after {chunks} chunks ({chars} characters delivered): {cause}")]
    Cut {
        /// Chunks delivered before the cut.
        chunks: usize,
        /// Characters of content delivered before the cut.
        chars: usize,
        /// What ended it (the last attempt's error).
        cause: String,
    },
    /// The settings or the request are wrong; nothing was sent.
    #[error("{0}")]
    Config(String),
}

impl LlmError {
    /// True for a failure a later attempt may not meet: 408, 409, 429, 5xx, connection failures,
    /// timeouts and malformed answers. 400, 401, 403, 404 and 422 are the request's own fault.
    pub fn retryable(&self) -> bool {
        match self {
            LlmError::Status { status, .. } => matches!(status, 408 | 409 | 429 | 500..=599),
            LlmError::Connect(_) | LlmError::Timeout(_) | LlmError::Transport(_) | LlmError::Malformed(_) => true,
            LlmError::Cut { .. } | LlmError::Config(_) => false,
        }
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error of a failed request or read.
    pub(crate) fn from_reqwest(e: &reqwest::Error) -> Self {
        // the URL is the provider's base URL and path: no secret; the source chain says what broke
        let mut cause = e.without_url_message();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            cause.push_str(": ");
            cause.push_str(&s.to_string());
            source = s.source();
        }
        if e.is_timeout() {
            LlmError::Timeout(cause)
        } else if e.is_connect() {
            LlmError::Connect(cause)
        } else if e.is_decode() {
            LlmError::Malformed(cause)
        } else {
            LlmError::Transport(cause)
        }
    }
}

trait WithoutUrl {
    fn without_url_message(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_message(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(url) => text.replace(&format!(" for url ({url})"), ""),
            None => text,
        }
    }
}
