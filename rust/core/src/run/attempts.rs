//! Attempts of an op with a [`CallPolicy`]: whether a failed attempt is retried, after how long,
//! and the failure of the last one. A driver counts the attempts of each call it makes and waits
//! as told; what is retried and how the final failure reads is decided here, once.

use std::hash::{BuildHasher, Hasher};

use crate::plan::{CallPolicy, OpId};
use crate::scheduler::CtxId;

use super::{Model, OpFailure, Run, Runtime};

/// What follows a failed attempt.
#[doc = include_str!("../../doc/run/attempts/Retry.md")]
#[derive(Debug)]
pub enum Retry<E> {
    /// Make attempt `attempt` after `wait` seconds.
    After {
        /// The number of the next attempt (2 for the first retry).
        attempt: u32,
        /// Seconds to wait before it (its backoff, with jitter, and the op's delay).
        wait: f64,
    },
    /// No more attempts: the op fails with this.
    Fail(OpFailure<E>),
}

impl<M: Model> Run<M> {
    /// The options of op `op`'s calls; `None` for a plain call (most ops).
    #[doc = include_str!("../../doc/run/attempts/Run.calls.md")]
    #[inline]
    pub fn calls(&self, op: OpId) -> Option<&CallPolicy> {
        self.plan.ops[op as usize].calls.as_deref()
    }

    /// Attempt `attempt` (1 for the first) of op `op` in `ctx` failed with `failure`: another
    /// attempt follows while the op's `retries` allow one, the run goes on, and the failure is one
    /// that is retried (an error the op raised that is one of its `retry_on` types, any when it
    /// names none; a timeout; a panic). A fatal error (a cancel, an interrupt), a missing input or
    /// a bad return value is never retried. The failure after more than one attempt says how many
    /// ran.
    #[doc = include_str!("../../doc/run/attempts/Run.retry.md")]
    pub fn retry<R: Runtime<M>>(
        &self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        attempt: u32,
        failure: OpFailure<M::Error>,
    ) -> Retry<M::Error> {
        let _ = ctx;
        let Some(policy) = self.calls(op) else {
            return Retry::Fail(failure);
        };
        let retried = match &failure {
            OpFailure::Raised(e) => {
                !rt.is_fatal(e) && (policy.retry_on.is_empty() || policy.retry_on.iter().any(|&c| rt.is_instance(e, c)))
            }
            OpFailure::TimedOut(_) | OpFailure::Panicked(_) => true,
            _ => false,
        };
        if retried && attempt <= policy.retries && !self.is_over() {
            let next = attempt + 1;
            return Retry::After { attempt: next, wait: policy.wait_before(next, unit()) };
        }
        if attempt > 1 {
            return Retry::Fail(OpFailure::Attempts(attempt, Box::new(failure)));
        }
        Retry::Fail(failure)
    }
}

/// A number drawn uniformly from `[0, 1)` for jitter (from the standard library's randomly seeded
/// hasher: no generator to carry, and jitter needs no more).
fn unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().build_hasher().finish() >> 11;
    bits as f64 / (1u64 << 53) as f64
}
