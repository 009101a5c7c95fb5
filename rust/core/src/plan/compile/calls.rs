//! Compiling the options of an op's calls ([`CallsDoc`]) into its [`CallPolicy`], refusing the
//! combinations that cannot hold.

use super::Compiler;
use crate::error::Problem;
use crate::graph::schema::{CallsDoc, OpDoc, DEFAULT_BACKOFF};
use crate::plan::types::OpKind;
use crate::plan::CallPolicy;

impl Compiler<'_> {
    /// The policy of op `name` of kind `kind`: `None` when its calls are plain.
    pub(super) fn calls(&mut self, name: &str, op: &OpDoc, kind: OpKind) -> Option<Box<CallPolicy>> {
        let c: &CallsDoc = &op.calls;
        if c.is_off() {
            return None;
        }
        let refuse = |s: &mut Self, why: String| {
            s.problem(Problem::new("unsupported", format!("op '{name}': {why}")).op(name));
        };
        if kind.is_builtin() {
            refuse(self, format!("an op of type '{}' takes no cache, delay, retries or timeout", op.kind));
            return None;
        }
        let is_gen = matches!(kind, OpKind::SyncGen | OpKind::AsyncGen);
        if is_gen && (c.retries > 0 || c.timeout.is_some() || c.cache) {
            refuse(
                self,
                "a generator takes no retries, timeout or cache: its items reach consumers as they come, so a \
                 second attempt would repeat them and a cached result would lose them (delay is accepted)"
                    .to_string(),
            );
        }
        if kind == OpKind::Sync && c.timeout.is_some() {
            refuse(
                self,
                "timeout= needs an op that can be stopped or left behind: a sync op runs inline on the event \
                 loop's thread, where nothing can interrupt it. Give it bound=\"cpu\" (a worker thread; a timed-out \
                 attempt's result is abandoned) or make it async (a timed-out attempt is cancelled)"
                    .to_string(),
            );
        }
        let retry_on = c.retry_on.iter().map(|t| self.constant(t)).collect();
        Some(Box::new(CallPolicy {
            delay: c.delay,
            retries: c.retries,
            backoff: c.backoff.unwrap_or(DEFAULT_BACKOFF),
            retry_on,
            timeout: c.timeout,
            cache: c.cache,
        }))
    }
}
