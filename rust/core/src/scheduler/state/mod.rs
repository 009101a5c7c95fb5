//! The scheduling state of one run: ready counts per op instance (an op in a context), the FIFO
//! ready queue, skip propagation, gates on outer predecessors, per-stream serialization of per-item
//! ops, loop iterations, and the concurrency cap.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::contexts::{Contexts, CtxId, Path, Segment, ROOT};
use crate::plan::{EdgeKind, OpId, Plan};

mod signals;

/// How a finished op instance left the run.
#[doc = include_str!("../../../doc/scheduler/state/Outcome.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It produced its outputs: successors may run.
    Done,
    /// It did not run, or failed under `errors="continue"`: hard successors are skipped.
    Skipped,
}

/// What a run does when an op fails.
#[doc = include_str!("../../../doc/scheduler/state/ErrorMode.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorMode {
    /// The run fails with the op's error.
    #[default]
    Raise,
    /// The run goes on; the failed op's successors are skipped and the error is listed.
    Continue,
}

/// An op instance waiting for its predecessors in a context other than the root.
#[derive(Debug, Clone, Copy)]
struct Pending {
    count: u32,
    /// Predecessor signals still to come (hard and soft): the entry lives until the last one, so
    /// that a soft group that already fired stays fired.
    left: u32,
    soft_fired: bool,
    soft_dead: u32,
    doomed: bool,
    /// A predecessor ran (signalled done): the end of a nested graph runs in a context only then.
    ran: bool,
}

/// Serializes the per-item runs of one op under one stream (sequential items, or `parallel(max)`).
#[derive(Debug, Default)]
struct ItemGate {
    running: u32,
    queue: VecDeque<CtxId>,
}

/// Instances waiting for a gate `(op, ctx)` to settle, each with whether its own-context soft group fired.
type Parked = FxHashMap<(OpId, CtxId), Vec<(OpId, CtxId, bool)>>;

/// The scheduling state of one run. Work per finished op is proportional to its out-degree.
#[doc = include_str!("../../../doc/scheduler/state/RunState.md")]
#[derive(Debug)]
pub struct RunState {
    counts: Vec<u32>,
    soft_fired: Vec<bool>,
    soft_dead: Vec<u32>,
    doomed: Vec<bool>,
    root_done: Vec<Option<Outcome>>,
    pending: FxHashMap<(OpId, CtxId), Pending>,
    done: FxHashMap<(OpId, CtxId), Outcome>,
    /// Instances waiting for a gate to settle, with whether their own-context soft group fired.
    parked: Parked,
    item_gates: FxHashMap<(OpId, CtxId), ItemGate>,
    /// Items produced so far by each streaming generator instance.
    produced: FxHashMap<(OpId, CtxId), u32>,
    /// While a branch settles: the branch and the candidate it chose.
    chosen: Option<(OpId, Option<OpId>)>,
    is_gate_source: Vec<bool>,
    contexts: Contexts,
    ready: VecDeque<(OpId, CtxId)>,
    skip_stack: Vec<(OpId, CtxId)>,
    /// The op instances skipped so far, with their contexts, while a driver asks for them (logging).
    skip_log: Option<Vec<(OpId, Path)>>,
    in_flight: u32,
    generators: u32,
    limit: Option<u32>,
    limited_running: u32,
    waiting: VecDeque<(OpId, CtxId)>,
}

impl RunState {
    /// A fresh run of `plan`: the entry ops are ready, in wiring order.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.new.md")]
    pub fn new(plan: &Plan) -> Self {
        let mut state = Self::empty();
        state.reset(plan);
        state
    }

    /// A state of no plan, allocating nothing: what a run keeps once its buffers were taken for
    /// another run. [`RunState::reset`] makes it usable.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.empty.md")]
    pub fn empty() -> Self {
        RunState {
            counts: Vec::new(),
            soft_fired: Vec::new(),
            soft_dead: Vec::new(),
            doomed: Vec::new(),
            root_done: Vec::new(),
            pending: FxHashMap::default(),
            done: FxHashMap::default(),
            parked: FxHashMap::default(),
            item_gates: FxHashMap::default(),
            produced: FxHashMap::default(),
            chosen: None,
            is_gate_source: Vec::new(),
            contexts: Contexts::empty(),
            ready: VecDeque::new(),
            skip_stack: Vec::new(),
            skip_log: None,
            in_flight: 0,
            generators: 0,
            limit: None,
            limited_running: 0,
            waiting: VecDeque::new(),
        }
    }

    /// Makes this state that of a fresh run of `plan`, keeping its buffers (a run of the same plan
    /// after this one allocates nothing here). [`RunState::new`] is an empty state reset.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.reset.md")]
    pub fn reset(&mut self, plan: &Plan) {
        fn refill<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
            v.clear();
            v.resize(n, x);
        }
        let n = plan.ops.len();
        self.counts.clear();
        self.counts.extend_from_slice(&plan.initial_counts);
        refill(&mut self.soft_fired, n, false);
        refill(&mut self.soft_dead, n, 0);
        refill(&mut self.doomed, n, false);
        refill(&mut self.root_done, n, None);
        refill(&mut self.is_gate_source, n, false);
        for &g in &plan.gates {
            self.is_gate_source[g as usize] = true;
        }
        self.pending.clear();
        self.done.clear();
        self.parked.clear();
        self.item_gates.clear();
        self.produced.clear();
        self.chosen = None;
        self.contexts.reset();
        self.ready.clear();
        self.ready.reserve(plan.entries.len().max(4));
        self.skip_stack.clear();
        self.skip_log = None;
        self.in_flight = 0;
        self.generators = 0;
        self.limit = plan.concurrency;
        self.limited_running = 0;
        self.waiting.clear();
        for &e in &plan.entries {
            if self.counts[e as usize] == 0 {
                self.ready.push_back((e, ROOT));
            }
        }
    }

    /// Records every op instance skipped from now on (for a driver that logs them): see
    /// [`RunState::take_skips`]. Off after [`RunState::reset`].
    #[doc = include_str!("../../../doc/scheduler/state/RunState.log_skips.md")]
    pub fn log_skips(&mut self) {
        self.skip_log.get_or_insert_with(Vec::new);
    }

    /// Records that op `op` is skipped in `ctx`, while [`RunState::log_skips`] is on (the scheduler
    /// notes the skips it propagates; the run notes a disabled op).
    #[doc = include_str!("../../../doc/scheduler/state/RunState.note_skip.md")]
    #[inline]
    pub fn note_skip(&mut self, op: OpId, ctx: CtxId) {
        if self.skip_log.is_some() {
            self.push_skip(op, ctx);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_skip(&mut self, op: OpId, ctx: CtxId) {
        let path = self.contexts.path(ctx);
        if let Some(log) = &mut self.skip_log {
            log.push((op, path));
        }
    }

    /// The op instances skipped since the last call, with their contexts' paths, while
    /// [`RunState::log_skips`] is on.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.take_skips.md")]
    pub fn take_skips(&mut self) -> Vec<(OpId, Path)> {
        self.skip_log.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The run's contexts.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.contexts.md")]
    #[inline]
    pub fn contexts(&self) -> &Contexts {
        &self.contexts
    }

    /// Contexts freed since the last call.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.drain_freed.md")]
    pub fn drain_freed(&mut self) -> Vec<CtxId> {
        self.contexts.drain_freed().collect()
    }

    /// The next ready op instance, first in, first out.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.pop_ready.md")]
    #[inline]
    pub fn pop_ready(&mut self) -> Option<(OpId, CtxId)> {
        self.ready.pop_front()
    }

    /// Puts instances taken with [`RunState::pop_ready`] back at the front, in the given order.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.unpop.md")]
    pub fn unpop(&mut self, instances: impl DoubleEndedIterator<Item = (OpId, CtxId)>) {
        for i in instances.rev() {
            self.ready.push_front(i);
        }
    }

    /// True when nothing is ready, waiting, running or streaming: the run is over.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.is_idle.md")]
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.ready.is_empty() && self.in_flight == 0 && self.waiting.is_empty() && self.generators == 0
    }

    /// Number of ops started and not yet finished (async, cpu).
    #[doc = include_str!("../../../doc/scheduler/state/RunState.in_flight.md")]
    #[inline]
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Marks an op as started concurrently. Returns false when the graph's concurrency cap is reached:
    /// the op is then queued and handed back by [`RunState::end_concurrent`].
    #[doc = include_str!("../../../doc/scheduler/state/RunState.begin_concurrent.md")]
    pub fn begin_concurrent(&mut self, op: OpId, ctx: CtxId) -> bool {
        if let Some(limit) = self.limit {
            if self.limited_running >= limit {
                self.waiting.push_back((op, ctx));
                return false;
            }
            self.limited_running += 1;
        }
        self.in_flight += 1;
        true
    }

    /// Marks a concurrent op as finished (call before [`RunState::finish`]). Returns an instance that
    /// was waiting for the cap and may start now (already counted as started).
    #[doc = include_str!("../../../doc/scheduler/state/RunState.end_concurrent.md")]
    pub fn end_concurrent(&mut self) -> Option<(OpId, CtxId)> {
        self.in_flight -= 1;
        if self.limit.is_some() {
            self.limited_running -= 1;
            if let Some(next) = self.waiting.pop_front() {
                self.limited_running += 1;
                self.in_flight += 1;
                return Some(next);
            }
        }
        None
    }

    /// Marks a sync generator as streaming (the run is not over while it is).
    #[doc = include_str!("../../../doc/scheduler/state/RunState.begin_generator.md")]
    pub fn begin_generator(&mut self) {
        self.generators += 1;
    }

    /// Marks a sync generator as ended (call before [`RunState::finish`]).
    #[doc = include_str!("../../../doc/scheduler/state/RunState.end_generator.md")]
    pub fn end_generator(&mut self) {
        self.generators -= 1;
    }

    /// Opens the context of item `index` of generator `gen` running in `ctx`. Store the item's
    /// values, then call [`RunState::close_item`].
    #[doc = include_str!("../../../doc/scheduler/state/RunState.open_item.md")]
    pub fn open_item(&mut self, gen: OpId, ctx: CtxId, index: u32) -> CtxId {
        let item = self.contexts.open(ctx, Segment::Item(index), gen);
        self.contexts.hold(item);
        *self.produced.entry((gen, ctx)).or_insert(0) += 1;
        item
    }

    /// Makes the per-item successors of `gen` ready (or queued) in the item's context.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.close_item.md")]
    pub fn close_item(&mut self, plan: &Plan, gen: OpId, item: CtxId) {
        for e in plan.successors(gen) {
            if e.kind == EdgeKind::Item {
                self.signal(plan, gen, e.dst, item, e.soft, Outcome::Done);
            }
        }
        self.drain_skips(plan);
        self.contexts.release(item);
        self.queue_settled_iterations();
    }

    /// Opens the context of iteration `n` of the loop entered by `enter` in `ctx`. The context
    /// keeps one hold for the loop until [`RunState::end_iteration`]. Store the iteration's
    /// variables, then call [`RunState::begin_iteration`].
    #[doc = include_str!("../../../doc/scheduler/state/RunState.open_iteration.md")]
    pub fn open_iteration(&mut self, enter: OpId, ctx: CtxId, n: u32) -> CtxId {
        let iteration = self.contexts.open(ctx, Segment::Loop(n), enter);
        self.contexts.hold(iteration);
        iteration
    }

    /// Makes the loop body's first ops ready in `iteration`. Once every op of the iteration has
    /// settled, the loop's end op becomes ready there.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.begin_iteration.md")]
    pub fn begin_iteration(&mut self, plan: &Plan, enter: OpId, iteration: CtxId) {
        for e in plan.successors(enter) {
            if e.kind == EdgeKind::Item {
                self.signal(plan, enter, e.dst, iteration, e.soft, Outcome::Done);
            }
        }
        self.drain_skips(plan);
    }

    /// Drops the loop's hold on an iteration's context (after the next one, if any, was opened).
    #[doc = include_str!("../../../doc/scheduler/state/RunState.end_iteration.md")]
    pub fn end_iteration(&mut self, iteration: CtxId) {
        self.contexts.release(iteration);
        self.queue_settled_iterations();
    }

    /// Ends the loop entered by `enter` in `ctx`: its end op finishes there with `outcome` (its
    /// successors go on), then its entry finishes.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.end_loop.md")]
    pub fn end_loop(&mut self, plan: &Plan, enter: OpId, ctx: CtxId, outcome: Outcome) {
        if ctx != ROOT {
            self.contexts.hold(ctx); // the end op's instance in the loop's context
        }
        self.settle(plan, enter + 1, ctx, outcome, false);
        self.settle(plan, enter, ctx, Outcome::Done, true);
        self.drain_skips(plan);
    }

    /// Makes the end op of every loop iteration that settled ready in that iteration's context.
    #[inline]
    fn queue_settled_iterations(&mut self) {
        while let Some(iteration) = self.contexts.pop_settled() {
            let exit = self.contexts.origin(iteration) + 1;
            self.ready.push_back((exit, iteration));
        }
    }

    /// Records that an op instance finished (for a generator: that it ended) and makes its
    /// successors ready, in edge declaration order. A skipped op dooms its hard successors, and a
    /// soft group whose every member was skipped; doomed ops are skipped in turn (iteratively).
    #[doc = include_str!("../../../doc/scheduler/state/RunState.finish.md")]
    pub fn finish(&mut self, plan: &Plan, op: OpId, ctx: CtxId, outcome: Outcome) {
        self.settle(plan, op, ctx, outcome, true);
        self.drain_skips(plan);
    }

    /// Records that a branch finished having chosen `chosen`: its other candidates are skipped (and
    /// their skip propagates), every other successor proceeds as usual.
    #[doc = include_str!("../../../doc/scheduler/state/RunState.finish_branch.md")]
    pub fn finish_branch(&mut self, plan: &Plan, op: OpId, ctx: CtxId, chosen: Option<OpId>) {
        self.chosen = Some((op, chosen));
        self.settle(plan, op, ctx, Outcome::Done, true);
        self.chosen = None;
        self.drain_skips(plan);
    }

    /// Drops all queued work (the run failed or was cancelled).
    #[doc = include_str!("../../../doc/scheduler/state/RunState.clear.md")]
    pub fn clear(&mut self) {
        self.ready.clear();
        self.waiting.clear();
        self.parked.clear();
        self.item_gates.clear();
        self.produced.clear();
        self.pending.clear();
        self.generators = 0;
        while self.contexts.pop_settled().is_some() {}
    }
}
