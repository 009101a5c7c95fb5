//! When to try a failed call again, and how long to wait first.

use std::future::Future;
use std::time::Duration;

use crate::error::LlmError;

/// Retries of a provider call: up to `retries` more attempts after the first, for retryable errors
/// only ([`LlmError::retryable`]), waiting `base · 2^(attempt-1)` (at most `max`) with full jitter,
/// or the provider's `Retry-After` when it sent one (at most `max_retry_after`).
///
/// ```
/// use std::time::Duration;
/// let policy = operonx_llm::RetryPolicy::new(3);
/// assert_eq!(policy.retries, 3);
/// assert!(policy.delay(1, None) <= Duration::from_millis(500));
/// assert_eq!(policy.delay(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// The wait before the first retry, before jitter.
    pub base: Duration,
    /// The longest backoff wait.
    pub max: Duration,
    /// The longest `Retry-After` honoured (a longer one is cut to this).
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// `retries` retries with the default waits (0.5 s doubling up to 8 s; `Retry-After` up to 60 s).
    pub fn new(retries: u32) -> Self {
        RetryPolicy {
            retries,
            base: Duration::from_millis(500),
            max: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// No retry.
    ///
    /// ```
    /// assert_eq!(operonx_llm::RetryPolicy::none().retries, 0);
    /// ```
    pub fn none() -> Self {
        RetryPolicy::new(0)
    }

    /// The wait before retry number `attempt` (1 for the first retry).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let cap = exp.min(self.max);
        cap.mul_f64(fastrand::f64())
    }

    /// Runs `call` (given the attempt number, from 0) until it succeeds, fails for good, or the
    /// retries are spent; the error is the last attempt's.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// use operonx_llm::{LlmError, RetryPolicy};
    /// let mut policy = RetryPolicy::new(2);
    /// policy.base = std::time::Duration::from_millis(1);
    /// let got = policy.run(|attempt| async move {
    ///     if attempt < 2 { Err(LlmError::Transport("reset".into())) } else { Ok(attempt) }
    /// }).await;
    /// assert_eq!(got, Ok(2));
    /// # });
    /// ```
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, LlmError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let mut attempt = 0;
        loop {
            match call(attempt).await {
                Ok(v) => return Ok(v),
                Err(e) if e.retryable() && attempt < self.retries => {
                    attempt += 1;
                    tokio::time::sleep(self.delay(attempt, e.retry_after())).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::none()
    }
}

/// The wait of a `Retry-After` header: seconds (possibly fractional). An HTTP date is not read:
/// the backoff wait applies instead.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}
