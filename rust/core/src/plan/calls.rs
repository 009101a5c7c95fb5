//! How an op's calls are made beyond one plain call: a delay before each, retries with exponential
//! backoff, a time limit per attempt, a process-wide cache. Compiled from the document's
//! [`CallsDoc`](crate::graph::CallsDoc); an op with none of them has no policy at all, so the usual
//! op pays one check.

use super::types::ConstId;

/// The longest wait between two attempts, in seconds, whatever the backoff doubled to.
#[doc = include_str!("../../doc/plan/calls/MAX_BACKOFF.md")]
pub const MAX_BACKOFF: f64 = 60.0;

/// The options of an op's calls.
#[doc = include_str!("../../doc/plan/calls/CallPolicy.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct CallPolicy {
    /// Seconds slept before each execution (each attempt).
    pub delay: f64,
    /// Attempts made after a failed first one.
    pub retries: u32,
    /// Seconds waited before the first retry; each later retry waits twice as long as the one
    /// before (at most [`MAX_BACKOFF`]), the wait drawn at random from its upper half (jitter).
    pub backoff: f64,
    /// The error types retried (host objects); empty: every error the op raises.
    pub retry_on: Vec<ConstId>,
    /// Seconds an attempt may take: an attempt still running then fails with a timeout.
    pub timeout: Option<f64>,
    /// The op's outputs are cached process-wide by its full name and inputs.
    pub cache: bool,
}

impl CallPolicy {
    /// True when a call waits for a timer: a delay, a retry or a time limit (the run then needs an
    /// event loop, or a runtime with timers).
    #[doc = include_str!("../../doc/plan/calls/CallPolicy.needs_timer.md")]
    pub fn needs_timer(&self) -> bool {
        self.delay > 0.0 || self.retries > 0 || self.timeout.is_some()
    }

    /// Seconds to wait before attempt `attempt` (2 = the first retry) with `unit` drawn uniformly
    /// from `[0, 1)`: the backoff `backoff × 2^(attempt − 2)`, capped at [`MAX_BACKOFF`], scaled
    /// into its upper half by `unit` ("equal jitter"), then the op's delay.
    #[doc = include_str!("../../doc/plan/calls/CallPolicy.wait_before.md")]
    pub fn wait_before(&self, attempt: u32, unit: f64) -> f64 {
        if attempt <= 1 {
            return self.delay;
        }
        let doublings = i32::try_from(attempt - 2).unwrap_or(i32::MAX).min(64);
        let full = (self.backoff * 2f64.powi(doublings)).min(MAX_BACKOFF);
        full * (0.5 + 0.5 * unit.clamp(0.0, 1.0)) + self.delay
    }
}

#[cfg(test)]
mod tests {
    use super::CallPolicy;

    fn policy(backoff: f64, delay: f64) -> CallPolicy {
        CallPolicy { delay, retries: 3, backoff, retry_on: Vec::new(), timeout: None, cache: false }
    }

    #[test]
    fn waits_double_within_their_upper_half_and_add_the_delay() {
        let p = policy(0.5, 0.25);
        assert_eq!(p.wait_before(1, 0.9), 0.25);
        assert_eq!(p.wait_before(2, 0.0), 0.25 + 0.25);
        assert_eq!(p.wait_before(2, 1.0), 0.5 + 0.25);
        assert_eq!(p.wait_before(3, 1.0), 1.0 + 0.25);
        assert_eq!(p.wait_before(4, 0.0), 1.0 + 0.25);
        assert_eq!(policy(1.0, 0.0).wait_before(40, 1.0), super::MAX_BACKOFF);
    }
}
