//! The tokio driver: where and when the calls of a run's Rust ops run, on a tokio runtime.
//!
//! - Sync Rust ops run inline on the driver's task, in the order the scheduler makes them ready
//!   (the stepping is the inline driver's: [`super::step::Stepper`]), with the run's lock held (a
//!   consumer waits for the op to return): a slow one belongs on the blocking pool
//!   (`bound="cpu"`).
//! - Async Rust ops are futures in one `FuturesUnordered` polled by the driver's task, under the
//!   graph's `concurrency` cap; the calls that came back are applied to the run in batches, under
//!   one lock.
//! - `bound="cpu"` ops run on tokio's blocking pool (under the same cap); a job that starts after
//!   the run stopped does not call its op.
//! - Generator ops are pulled one item at a time while nothing else is ready, in batches between
//!   which the calls in flight are collected.
//! - A cancel (or the drop of the handle, or of the future of `run_json_async`) stops the run:
//!   nothing new starts, the futures in flight are dropped, blocking jobs not yet started never call
//!   their op.
//!
//! A graph whose ops are all sync runs in the task that awaits it (`run_json_async`): nothing is
//! spawned and no channel is made; the executor gets a turn every few thousand steps. What a run
//! produces comes from [`crate::run::Run`].

mod calls;
mod entry;

use std::sync::Arc;
use std::task::Poll;

use futures::stream::{FuturesUnordered, StreamExt};

use super::step::{Call, Stepper};
use crate::handle::shared::SharedRun;
use crate::json::JsonRuntime;
use crate::ops::Implementation;
use crate::plan::OpId;
use crate::run::{CancelToken, Run};
use crate::scheduler::CtxId;
use crate::trace::{deliver, RunIds, Tracer};
use calls::{InFlight, Landed};

pub use entry::{block_on, needs_runtime, run_output, run_result, spawn, Job};

/// Steps run under one hold of the lock (consumers take frames between two holds).
const LOCK_BATCH: u32 = 256;
/// Steps between two turns given back to the executor, for a run awaited in place (nothing
/// consumes its frames while it runs).
const YIELD_EVERY: u32 = 4096;
/// Generator items pulled between two collections of the calls in flight.
const PULL_BATCH: u32 = 64;

/// What the driver does after a turn under the lock.
enum Turn {
    /// The run is over.
    Over,
    /// Collect the calls that came back (without waiting) and go on.
    Poll,
    /// Nothing can run until a call comes back: wait for one.
    Wait,
}

/// One run on the tokio driver.
#[doc = include_str!("../../../doc/drivers/tokio/Driver.md")]
pub struct Driver {
    shared: Arc<SharedRun>,
    impls: Arc<[Option<Implementation>]>,
    /// Boxed: its argument buffer is large, and a driver is moved into the future that drives it.
    /// Taken back (with the run) by [`Driver::into_parts`], for the engine's next run.
    stepper: Option<Box<Stepper>>,
    /// The calls in flight (made with the first one: a run of sync ops makes none).
    calls: Option<FuturesUnordered<InFlight>>,
    landed: Vec<Landed>,
    /// The run's token, for blocking jobs (taken with the first one).
    token: Option<CancelToken>,
    tracers: Vec<Arc<dyn Tracer>>,
    ids: RunIds,
    /// Steps between two turns given back to the executor: [`YIELD_EVERY`], or one hold of the
    /// lock for a run whose handle's consumers take frames while it runs (on a current-thread
    /// runtime they run only when the driver yields).
    yield_every: u32,
}

impl Driver {
    /// A driver of the run `shared` holds (a run of implementations `impls`, nothing else shares
    /// it yet), which it starts, stepped by `stepper` (a fresh one, or one a run left as fresh).
    fn new(
        (shared, stepper): (Arc<SharedRun>, Box<Stepper>),
        impls: &Arc<[Option<Implementation>]>,
        tracers: Vec<Arc<dyn Tracer>>,
        ids: RunIds,
    ) -> Self {
        {
            let mut core = shared.lock();
            let run = core.run_mut();
            run.start();
            if !tracers.is_empty() {
                run.record_spans(Box::default());
            }
        }
        Driver {
            shared,
            impls: Arc::clone(impls),
            stepper: Some(stepper),
            calls: None,
            landed: Vec::new(),
            token: None,
            tracers,
            ids,
            yield_every: YIELD_EVERY,
        }
    }

    /// Gives the executor a turn after every hold of the lock, so that the consumers of a
    /// spawned run's handle take its frames while it runs (not all of them at its end).
    fn for_consumers(mut self) -> Self {
        self.yield_every = LOCK_BATCH;
        self
    }

    /// The run, shared with consumers.
    fn shared(&self) -> &Arc<SharedRun> {
        &self.shared
    }

    /// The stepper (there until [`Driver::into_parts`]).
    fn stepper(&mut self) -> &mut Stepper {
        self.stepper.as_mut().expect("a driver keeps its stepper until it is taken apart")
    }

    /// The run and the stepper of a driver whose run is over (its calls in flight dropped), for a
    /// next run: nothing is cancelled when the rest of the driver goes.
    fn into_parts(mut self) -> (Arc<SharedRun>, Box<Stepper>) {
        self.calls = None;
        let mut stepper = self.stepper.take().expect("a driver is taken apart once");
        stepper.clear();
        (Arc::clone(&self.shared), stepper)
    }

    /// Runs the run to its end.
    async fn drive(&mut self) {
        let mut since_yield = 0;
        loop {
            let turn = self.guarded_turn();
            since_yield += LOCK_BATCH;
            match turn {
                Turn::Over => break,
                Turn::Poll => {
                    if since_yield >= self.yield_every {
                        since_yield = 0;
                        // deferred: the runtime polls the other tasks and the consumers first
                        tokio::task::yield_now().await;
                    }
                    self.collect(false).await;
                }
                Turn::Wait => {
                    since_yield = 0;
                    self.collect(true).await;
                }
            }
        }
        // the run is over: calls still in flight are dropped (their results would be discarded)
        self.calls = None;
        if !self.tracers.is_empty() {
            self.trace();
        }
    }

    /// [`Driver::turn`]; a panic there (a bug of the engine: op calls are guarded on their own)
    /// fails the run with an internal error instead of leaving its consumers waiting.
    fn guarded_turn(&mut self) -> Turn {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.turn())) {
            Ok(turn) => turn,
            Err(panic) => {
                let message = crate::error::panic_message(&*panic);
                let mut core = self.shared.lock();
                core.run_mut()
                    .fail(crate::error::OperonError::Internal(format!("the tokio driver panicked: {message}")));
                core.end(self.shared.plan());
                Turn::Over
            }
        }
    }

    /// One hold of the lock: applies the calls that came back, then steps ready ops (sync ones
    /// inline, the others launched) and pulls generators, until the run must wait or the batch
    /// is used up.
    fn turn(&mut self) -> Turn {
        let shared = Arc::clone(&self.shared);
        let plan = shared.plan();
        let mut core = shared.lock();
        let mut rt = JsonRuntime::new(plan);
        if !core.run().is_over() {
            self.apply(core.run_mut(), &mut rt);
        }
        let mut pulled = 0;
        for _ in 0..LOCK_BATCH {
            let run = core.run_mut();
            if run.is_over() {
                core.end(plan);
                return Turn::Over;
            }
            match self.stepper().next_ready(run) {
                Some(instance) => {
                    let call = self.stepper.as_mut().expect("a driver keeps its stepper").step(
                        run,
                        &mut rt,
                        &self.impls,
                        instance,
                        true,
                    );
                    // a sync op ran inline: nothing to launch (the usual case)
                    if !matches!(call, Call::None) {
                        self.launch(run, instance, call);
                    }
                }
                None if self.stepper().is_streaming() => {
                    if self.in_flight() && pulled >= PULL_BATCH {
                        return Turn::Poll;
                    }
                    pulled += 1;
                    self.stepper().pull(run, &mut rt);
                }
                None if !self.in_flight() && self.landed.is_empty() => {
                    core.end(plan);
                    return Turn::Over;
                }
                None if self.landed.is_empty() => return Turn::Wait,
                None => return Turn::Poll,
            }
        }
        Turn::Poll
    }

    /// Applies the calls that came back: each frees its slot under the concurrency cap (an
    /// instance waiting for it starts) and completes its op.
    fn apply(&mut self, run: &mut Run<crate::json::Json>, rt: &mut JsonRuntime<'_>) {
        let landed = std::mem::take(&mut self.landed);
        for (op, ctx, outcome) in landed {
            let waiting = run.state_mut().end_concurrent();
            if run.is_over() {
                break;
            }
            if let Some(outcome) = outcome {
                run.complete(rt, op, ctx, outcome);
            }
            self.start_waiting(run, rt, waiting);
        }
    }

    /// Starts instances that waited for the concurrency cap, one freed slot at a time.
    fn start_waiting(
        &mut self,
        run: &mut Run<crate::json::Json>,
        rt: &mut JsonRuntime<'_>,
        mut next: Option<(OpId, CtxId)>,
    ) {
        while let Some(instance) = next.take() {
            if run.is_over() {
                return;
            }
            match self.stepper.as_mut().expect("a driver keeps its stepper").relaunch(run, rt, &self.impls, instance) {
                Ok(call) => self.launch(run, instance, call),
                Err(failure) => {
                    next = run.state_mut().end_concurrent();
                    run.fail_op(rt, instance.0, instance.1, failure);
                }
            }
        }
    }

    /// True while calls are in flight.
    fn in_flight(&self) -> bool {
        self.calls.as_ref().is_some_and(|c| !c.is_empty())
    }

    /// Puts an offloaded call in flight.
    fn launch(&mut self, run: &mut Run<crate::json::Json>, (op, ctx): (OpId, CtxId), call: Call) {
        let in_flight = match call {
            Call::None => return,
            Call::Async(future) => InFlight::future(op, ctx, future),
            Call::Blocking(job) => {
                let token = self.token.get_or_insert_with(|| run.token()).clone();
                match InFlight::blocking(op, ctx, job, token) {
                    Ok(in_flight) => in_flight,
                    Err(outcome) => return self.landed.push((op, ctx, Some(outcome))),
                }
            }
            Call::Done(outcome) => return self.landed.push((op, ctx, Some(outcome))),
        };
        self.calls.get_or_insert_with(FuturesUnordered::new).push(in_flight);
    }

    /// Collects the calls that came back; with `wait`, waits until one does or the run is
    /// cancelled.
    async fn collect(&mut self, wait: bool) {
        let Driver { shared, calls, landed, .. } = self;
        std::future::poll_fn(|cx| {
            if let Some(calls) = calls.as_mut() {
                while let Poll::Ready(Some(done)) = calls.poll_next_unpin(cx) {
                    landed.push(done);
                }
            }
            if !landed.is_empty() || !wait {
                return Poll::Ready(());
            }
            let mut core = shared.lock();
            if core.run().is_over() {
                return Poll::Ready(());
            }
            core.set_driver(cx.waker());
            Poll::Pending
        })
        .await;
    }

    /// Hands the run's trace to its tracers (built and flushed off this task).
    fn trace(&mut self) {
        let finished = {
            let mut core = self.shared.lock();
            let Some(spans) = core.run_mut().take_spans() else { return };
            let error = core.error(self.shared.plan()).map(|e| e.to_string());
            core.run().finished(std::mem::take(&mut self.ids), spans, error)
        };
        deliver(std::mem::take(&mut self.tracers), finished);
    }
}

impl Drop for Driver {
    /// A driver dropped before its run ended (the future of `run_json_async` dropped, the task
    /// aborted, the runtime shut down) cancels the run: blocking jobs not yet started never call
    /// their op, and consumers see the end.
    fn drop(&mut self) {
        // taken apart: its run is over
        if self.stepper.is_some() {
            self.shared.cancel();
        }
    }
}
