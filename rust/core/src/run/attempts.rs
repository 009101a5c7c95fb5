//! Attempts of an op with a [`CallPolicy`]: whether a failed attempt is retried, after how long,
//! and the failure of the last one. A driver counts the attempts of each call it makes and waits
//! as told; what is retried and how the final failure reads is decided here, once.

use std::hash::{BuildHasher, Hasher};

use crate::plan::{CallPolicy, OpId};
use crate::scheduler::CtxId;

use super::{Model, OpFailure, Run, Runtime};

/// What follows a failed attempt.
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::Retry;
    use crate::graph::schema::parse;
    use crate::json::{Json, JsonRuntime};
    use crate::plan::compile;
    use crate::run::{Facts, OpFailure, Run};
    use crate::scheduler::{ErrorMode, ROOT};

    fn run_of(op: serde_json::Value) -> Run<Json> {
        let doc = json!({"schema_version": "1.0", "name": "g", "ops": {"a": op}, "edges": [], "entries": ["a"], "exits": ["a"]});
        let plan = Arc::new(compile(&parse(&doc.to_string()).unwrap()).unwrap());
        let facts = Arc::new(Facts::new(&plan));
        Run::new(plan, facts, json!({}), ErrorMode::Raise, false)
    }

    #[test]
    fn failures_are_retried_while_retries_are_left_then_counted() {
        let run = run_of(json!({"type": "code", "func_name": "f", "retries": 2, "backoff": 0.5}));
        let mut rt = JsonRuntime::new(run.plan());
        let raised = || OpFailure::<String>::Raised("boom".into());
        match run.retry(&mut rt, 0, ROOT, 1, raised()) {
            Retry::After { attempt: 2, wait } => assert!((0.25..=0.5).contains(&wait), "{wait}"),
            other => panic!("{other:?}"),
        }
        match run.retry(&mut rt, 0, ROOT, 2, OpFailure::TimedOut(1.0)) {
            Retry::After { attempt: 3, wait } => assert!((0.5..=1.0).contains(&wait), "{wait}"),
            other => panic!("{other:?}"),
        }
        match run.retry(&mut rt, 0, ROOT, 3, raised()) {
            Retry::Fail(OpFailure::Attempts(3, last)) => assert!(matches!(*last, OpFailure::Raised(_))),
            other => panic!("{other:?}"),
        }
        // a missing input is not retried, and after one attempt the failure is as it was
        match run.retry(&mut rt, 0, ROOT, 1, OpFailure::Missing("x".into(), None)) {
            Retry::Fail(OpFailure::Missing(..)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_error_not_in_retry_on_is_not_retried_and_a_plain_op_never_is() {
        // the JSON runtime's errors have no types: with retry_on, none of them is retried
        let typed = run_of(json!({"type": "code", "func_name": "f", "retries": 2, "retry_on": ["ValueError"]}));
        let mut rt = JsonRuntime::new(typed.plan());
        assert!(matches!(
            typed.retry(&mut rt, 0, ROOT, 1, OpFailure::Raised("boom".into())),
            Retry::Fail(OpFailure::Raised(_))
        ));
        let plain = run_of(json!({"type": "code", "func_name": "f"}));
        let mut rt = JsonRuntime::new(plain.plan());
        assert!(plain.calls(0).is_none());
        assert!(matches!(
            plain.retry(&mut rt, 0, ROOT, 1, OpFailure::TimedOut(1.0)),
            Retry::Fail(OpFailure::TimedOut(_))
        ));
    }
}
