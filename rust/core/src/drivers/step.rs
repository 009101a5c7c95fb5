//! Stepping a run of Rust ops, shared by the inline and the tokio drivers: which ready instance
//! runs next (while a generator streams, only the work of its items), calling a sync op on the
//! driver's thread, pulling a generator's next item, and handing an async or `bound="cpu"` op's
//! call back to a driver that can run it elsewhere. What each step produces comes from
//! [`crate::run::Run`].

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::Value;

use crate::error::panic_message;
use crate::ops::{Implementation, Inputs, Items, OpFuture};
use crate::plan::{OpId, OpKind};
use crate::run::{OpFailure, Run};
use crate::scheduler::CtxId;

use crate::json::{Json, JsonRuntime, RunValue};

/// What came of an op call: its return value, or why it failed.
#[doc = include_str!("../../doc/drivers/step/Outcome.md")]
pub type Outcome = Result<RunValue, OpFailure<String>>;

/// A generator op being pulled: where it runs, its items and the next item's index.
struct Streaming {
    op: OpId,
    ctx: CtxId,
    items: Items,
    index: u32,
}

/// A call the driver runs away from its thread.
#[doc = include_str!("../../doc/drivers/step/Call.md")]
pub enum Call {
    /// Nothing to run: the op ran inline, was a built-in, failed, or waits for the concurrency cap
    /// (the scheduler hands it back through `RunState::end_concurrent`).
    None,
    /// An async op's call: the future of its return value (already counted as in flight).
    Async(OpFuture),
    /// A `bound="cpu"` op's call, for a blocking thread (already counted as in flight).
    Blocking(Box<BlockingCall>),
    /// An offloaded call that ended at once (making its future panicked): complete it as one
    /// that came back.
    Done(Outcome),
}

/// The call of a sync op that runs on a blocking thread: the op and its inputs.
#[doc = include_str!("../../doc/drivers/step/BlockingCall.md")]
pub struct BlockingCall {
    op: Implementation,
    inputs: Inputs,
}

impl BlockingCall {
    /// Calls the op; a returned error or a panic fails it.
    #[doc = include_str!("../../doc/drivers/step/BlockingCall.run.md")]
    pub fn run(self) -> Outcome {
        call_sync(&self.op, self.inputs)
    }
}

/// The stepping state a driver keeps beside its run.
#[doc = include_str!("../../doc/drivers/step/Stepper.md")]
#[derive(Default)]
pub struct Stepper {
    streams: Vec<Streaming>,
    deferred: Vec<(OpId, CtxId)>,
    /// The inputs of the call being made: resolved in place, reused from call to call.
    inputs: Inputs,
}

impl Stepper {
    /// Forgets what a run that is over left (generators it did not end, deferred instances,
    /// arguments), keeping the buffers: the stepper of a next run.
    #[cfg(feature = "tokio")]
    pub(crate) fn clear(&mut self) {
        self.streams.clear();
        self.deferred.clear();
        self.inputs.values_mut().clear();
    }

    /// True while a generator streams.
    #[doc = include_str!("../../doc/drivers/step/Stepper.is_streaming.md")]
    pub fn is_streaming(&self) -> bool {
        !self.streams.is_empty()
    }

    /// The next ready instance; while a generator streams, work outside its items waits.
    #[doc = include_str!("../../doc/drivers/step/Stepper.next_ready.md")]
    pub fn next_ready(&mut self, run: &mut Run<Json>) -> Option<(OpId, CtxId)> {
        let Some(top) = self.streams.last() else {
            return run.pop_ready();
        };
        let (gen, gctx) = (top.op, top.ctx);
        let depth = run.state().contexts().depth(gctx) + 1;
        while let Some((op, ctx)) = run.pop_ready() {
            let contexts = run.state().contexts();
            let under =
                contexts.ancestor(ctx, depth).is_some_and(|a| contexts.parent(a) == gctx && contexts.origin(a) == gen);
            if under {
                return Some((op, ctx));
            }
            self.deferred.push((op, ctx));
        }
        None
    }

    /// Prepares a ready instance and runs it: a sync op inline; with `offload`, an async op or a
    /// `bound="cpu"` op is counted as in flight (under the concurrency cap) and handed back; without
    /// it, an async op fails and a cpu op runs inline.
    #[doc = include_str!("../../doc/drivers/step/Stepper.step.md")]
    pub fn step(
        &mut self,
        run: &mut Run<Json>,
        rt: &mut JsonRuntime<'_>,
        impls: &[Option<Implementation>],
        (op, ctx): (OpId, CtxId),
        offload: bool,
    ) -> Call {
        if !run.prepare(rt, op, ctx, self.inputs.values_mut()) {
            return Call::None;
        }
        self.inputs.settle();
        let offloaded = offload
            && match &impls[op as usize] {
                Some(Implementation::Async(_)) => true,
                Some(Implementation::Op(_) | Implementation::Map(_)) => run.plan().ops[op as usize].kind == OpKind::Cpu,
                _ => false,
            };
        if offloaded && !run.state_mut().begin_concurrent(op, ctx) {
            self.inputs.values_mut().clear();
            return Call::None;
        }
        self.call(run, rt, impls, (op, ctx), offloaded)
    }

    /// Calls an instance that waited for the concurrency cap (already counted as in flight) with
    /// its inputs resolved again; `Err` when resolving them failed (the driver ends the instance's
    /// slot and fails it).
    #[doc = include_str!("../../doc/drivers/step/Stepper.relaunch.md")]
    pub fn relaunch(
        &mut self,
        run: &mut Run<Json>,
        rt: &mut JsonRuntime<'_>,
        impls: &[Option<Implementation>],
        (op, ctx): (OpId, CtxId),
    ) -> Result<Call, OpFailure<String>> {
        self.inputs.values_mut().clear();
        if let Err(failure) = run.resolve_into(rt, op, ctx, self.inputs.values_mut()) {
            self.inputs.values_mut().clear();
            return Err(failure);
        }
        self.inputs.settle();
        Ok(self.call(run, rt, impls, (op, ctx), true))
    }

    /// Calls op `op` with the resolved arguments; an offloaded call is handed back.
    fn call(
        &mut self,
        run: &mut Run<Json>,
        rt: &mut JsonRuntime<'_>,
        impls: &[Option<Implementation>],
        (op, ctx): (OpId, CtxId),
        offloaded: bool,
    ) -> Call {
        self.inputs.set_names(run.facts().input_names(run.plan(), op));
        // the inputs are resolved and the call is made now: what only this call reads can go
        run.release_reads(op, ctx);
        let inputs = &mut self.inputs;
        match &impls[op as usize] {
            Some(f @ (Implementation::Op(_) | Implementation::Map(_))) if offloaded => {
                return Call::Blocking(Box::new(BlockingCall { op: f.clone(), inputs: inputs.take() }));
            }
            Some(Implementation::Op(f)) => {
                let result = guarded(|| f.call(inputs).map(RunValue::Outputs));
                inputs.values_mut().clear();
                run.complete(rt, op, ctx, result);
            }
            Some(Implementation::Map(f)) => {
                let map = inputs.take_map_from(run.facts().input_map(run.plan(), op));
                let result = guarded(|| f.call(map).map(RunValue::Json).map_err(|e| e.to_string()));
                run.complete(rt, op, ctx, result);
            }
            Some(Implementation::Async(f)) if offloaded => {
                let map = inputs.take_map_from(run.facts().input_map(run.plan(), op));
                return match guarded(|| Ok(f.call(map))) {
                    Ok(future) => Call::Async(future),
                    Err(failure) => Call::Done(Err(failure)),
                };
            }
            Some(Implementation::Async(_)) => {
                inputs.values_mut().clear();
                let message = "an async op runs only on the tokio driver (Operon::run_json_async or Operon::start)";
                self.fail(run, rt, (op, ctx), OpFailure::Raised(message.into()));
            }
            Some(Implementation::Gen(g)) => {
                let started = guarded(|| g.call(inputs));
                inputs.values_mut().clear();
                match started {
                    Ok(items) => {
                        run.state_mut().begin_generator();
                        self.streams.push(Streaming { op, ctx, items, index: 0 });
                    }
                    Err(failure) => self.fail(run, rt, (op, ctx), failure),
                }
            }
            None => {
                inputs.values_mut().clear();
                self.fail(run, rt, (op, ctx), OpFailure::Raised("no implementation".into()));
            }
        }
        Call::None
    }

    /// Pulls the next item of the innermost streaming generator (or ends it).
    #[doc = include_str!("../../doc/drivers/step/Stepper.pull.md")]
    pub fn pull(&mut self, run: &mut Run<Json>, rt: &mut JsonRuntime<'_>) {
        let Some(top) = self.streams.last_mut() else { return };
        let (op, ctx, index) = (top.op, top.ctx, top.index);
        top.index += 1;
        let next = guarded(|| Ok(top.items.next()));
        let failure = match next {
            Ok(Some(Ok(item))) => match run.item(rt, op, ctx, index, RunValue::Outputs(item)) {
                Ok(()) => return,
                Err(failure) => Some(failure),
            },
            Ok(Some(Err(message))) => Some(OpFailure::Raised(message)),
            Ok(None) => None,
            Err(failure) => Some(failure),
        };
        self.streams.pop();
        run.state_mut().end_generator();
        let deferred = std::mem::take(&mut self.deferred);
        run.state_mut().unpop(deferred.into_iter());
        match failure {
            None => run.complete(rt, op, ctx, Ok(RunValue::Json(Value::Null))),
            Some(failure) => self.fail(run, rt, (op, ctx), failure),
        }
    }

    /// Fails a called op.
    fn fail(
        &mut self,
        run: &mut Run<Json>,
        rt: &mut JsonRuntime<'_>,
        (op, ctx): (OpId, CtxId),
        failure: OpFailure<String>,
    ) {
        run.fail_op(rt, op, ctx, failure);
    }
}

/// Calls a sync op; a returned error or a panic fails it.
fn call_sync(f: &Implementation, inputs: Inputs) -> Outcome {
    match f {
        Implementation::Op(f) => guarded(|| f.call(&inputs).map(RunValue::Outputs)),
        Implementation::Map(f) => {
            let map = inputs.into_map();
            guarded(|| f.call(map).map(RunValue::Json).map_err(|e| e.to_string()))
        }
        _ => Err(OpFailure::Raised("not a sync op".into())),
    }
}

/// Runs an op's code; a returned error or a panic fails the op.
#[doc = include_str!("../../doc/drivers/step/guarded.md")]
pub fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, OpFailure<String>> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(message)) => Err(OpFailure::Raised(message)),
        Err(panic) => Err(OpFailure::Panicked(panic_message(&*panic))),
    }
}
