//! The scheduling state of one run: ready counts per op instance (an op in a context), the FIFO
//! ready queue, skip propagation, gates on outer predecessors, per-stream serialization of per-item
//! ops, loop iterations, and the concurrency cap.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::contexts::{Contexts, CtxId, Segment, ROOT};
use crate::plan::{Builtin, EdgeKind, OpId, OpKind, Plan};

/// How a finished op instance left the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It produced its outputs: successors may run.
    Done,
    /// It did not run, or failed under `errors="continue"`: hard successors are skipped.
    Skipped,
}

/// What a run does when an op fails.
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
}

/// Serializes the per-item runs of one op under one stream (sequential items, or `parallel(max)`).
#[derive(Debug, Default)]
struct ItemGate {
    running: u32,
    queue: VecDeque<CtxId>,
}

/// The scheduling state of one run. Work per finished op is proportional to its out-degree.
#[derive(Debug)]
pub struct RunState {
    counts: Vec<u32>,
    soft_fired: Vec<bool>,
    soft_dead: Vec<u32>,
    doomed: Vec<bool>,
    root_done: Vec<Option<Outcome>>,
    pending: FxHashMap<(OpId, CtxId), Pending>,
    done: FxHashMap<(OpId, CtxId), Outcome>,
    parked: FxHashMap<(OpId, CtxId), Vec<(OpId, CtxId)>>,
    item_gates: FxHashMap<(OpId, CtxId), ItemGate>,
    /// Items produced so far by each streaming generator instance.
    produced: FxHashMap<(OpId, CtxId), u32>,
    /// While a branch settles: the branch and the candidate it chose.
    chosen: Option<(OpId, Option<OpId>)>,
    is_gate_source: Vec<bool>,
    contexts: Contexts,
    ready: VecDeque<(OpId, CtxId)>,
    skip_stack: Vec<(OpId, CtxId)>,
    in_flight: u32,
    generators: u32,
    limit: Option<u32>,
    limited_running: u32,
    waiting: VecDeque<(OpId, CtxId)>,
}

impl RunState {
    /// A fresh run of `plan`: the entry ops are ready, in wiring order.
    pub fn new(plan: &Plan) -> Self {
        let n = plan.ops.len();
        let mut is_gate_source = vec![false; n];
        for &g in &plan.gates {
            is_gate_source[g as usize] = true;
        }
        let mut state = RunState {
            counts: plan.initial_counts.clone(),
            soft_fired: vec![false; n],
            soft_dead: vec![0; n],
            doomed: vec![false; n],
            root_done: vec![None; n],
            pending: FxHashMap::default(),
            done: FxHashMap::default(),
            parked: FxHashMap::default(),
            item_gates: FxHashMap::default(),
            produced: FxHashMap::default(),
            chosen: None,
            is_gate_source,
            contexts: Contexts::default(),
            ready: VecDeque::with_capacity(plan.entries.len().max(4)),
            skip_stack: Vec::new(),
            in_flight: 0,
            generators: 0,
            limit: plan.concurrency,
            limited_running: 0,
            waiting: VecDeque::new(),
        };
        for &e in &plan.entries {
            if state.counts[e as usize] == 0 {
                state.ready.push_back((e, ROOT));
            }
        }
        state
    }

    /// The run's contexts.
    #[inline]
    pub fn contexts(&self) -> &Contexts {
        &self.contexts
    }

    /// Contexts freed since the last call.
    pub fn drain_freed(&mut self) -> Vec<CtxId> {
        self.contexts.drain_freed().collect()
    }

    /// The next ready op instance, first in, first out.
    #[inline]
    pub fn pop_ready(&mut self) -> Option<(OpId, CtxId)> {
        self.ready.pop_front()
    }

    /// Puts instances taken with [`RunState::pop_ready`] back at the front, in the given order.
    pub fn unpop(&mut self, instances: impl DoubleEndedIterator<Item = (OpId, CtxId)>) {
        for i in instances.rev() {
            self.ready.push_front(i);
        }
    }

    /// True when nothing is ready, waiting, running or streaming: the run is over.
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.ready.is_empty() && self.in_flight == 0 && self.waiting.is_empty() && self.generators == 0
    }

    /// Number of ops started and not yet finished (async, cpu).
    #[inline]
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Marks an op as started concurrently. Returns false when the graph's concurrency cap is reached:
    /// the op is then queued and handed back by [`RunState::end_concurrent`].
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
    pub fn begin_generator(&mut self) {
        self.generators += 1;
    }

    /// Marks a sync generator as ended (call before [`RunState::finish`]).
    pub fn end_generator(&mut self) {
        self.generators -= 1;
    }

    /// Opens the context of item `index` of generator `gen` running in `ctx`. Store the item's
    /// values, then call [`RunState::close_item`].
    pub fn open_item(&mut self, gen: OpId, ctx: CtxId, index: u32) -> CtxId {
        let item = self.contexts.open(ctx, Segment::Item(index), gen);
        self.contexts.hold(item);
        *self.produced.entry((gen, ctx)).or_insert(0) += 1;
        item
    }

    /// Makes the per-item successors of `gen` ready (or queued) in the item's context.
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
    pub fn open_iteration(&mut self, enter: OpId, ctx: CtxId, n: u32) -> CtxId {
        let iteration = self.contexts.open(ctx, Segment::Loop(n), enter);
        self.contexts.hold(iteration);
        iteration
    }

    /// Makes the loop body's first ops ready in `iteration`. Once every op of the iteration has
    /// settled, the loop's end op becomes ready there.
    pub fn begin_iteration(&mut self, plan: &Plan, enter: OpId, iteration: CtxId) {
        for e in plan.successors(enter) {
            if e.kind == EdgeKind::Item {
                self.signal(plan, enter, e.dst, iteration, e.soft, Outcome::Done);
            }
        }
        self.drain_skips(plan);
    }

    /// Drops the loop's hold on an iteration's context (after the next one, if any, was opened).
    pub fn end_iteration(&mut self, iteration: CtxId) {
        self.contexts.release(iteration);
        self.queue_settled_iterations();
    }

    /// Ends the loop entered by `enter` in `ctx`: its end op finishes there with `outcome` (its
    /// successors go on), then its entry finishes.
    pub fn end_loop(&mut self, plan: &Plan, enter: OpId, ctx: CtxId, outcome: Outcome) {
        if ctx != ROOT {
            self.contexts.hold(ctx); // the end op's instance in the loop's context
        }
        self.settle(plan, enter + 1, ctx, outcome, false);
        self.settle(plan, enter, ctx, Outcome::Done, true);
        self.drain_skips(plan);
    }

    /// Makes the end op of every loop iteration that settled ready in that iteration's context.
    fn queue_settled_iterations(&mut self) {
        while let Some(iteration) = self.contexts.pop_settled() {
            let exit = self.contexts.origin(iteration) + 1;
            self.ready.push_back((exit, iteration));
        }
    }

    /// Records that an op instance finished (for a generator: that it ended) and makes its
    /// successors ready, in edge declaration order. A skipped op dooms its hard successors, and a
    /// soft group whose every member was skipped; doomed ops are skipped in turn (iteratively).
    pub fn finish(&mut self, plan: &Plan, op: OpId, ctx: CtxId, outcome: Outcome) {
        self.settle(plan, op, ctx, outcome, true);
        self.drain_skips(plan);
    }

    /// Records that a branch finished having chosen `chosen`: its other candidates are skipped (and
    /// their skip propagates), every other successor proceeds as usual.
    pub fn finish_branch(&mut self, plan: &Plan, op: OpId, ctx: CtxId, chosen: Option<OpId>) {
        self.chosen = Some((op, chosen));
        self.settle(plan, op, ctx, Outcome::Done, true);
        self.chosen = None;
        self.drain_skips(plan);
    }

    /// Drops all queued work (the run failed or was cancelled).
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

    fn drain_skips(&mut self, plan: &Plan) {
        while let Some((op, ctx)) = self.skip_stack.pop() {
            self.settle(plan, op, ctx, Outcome::Skipped, false);
        }
        self.queue_settled_iterations();
    }

    fn settle(&mut self, plan: &Plan, op: OpId, ctx: CtxId, outcome: Outcome, admitted: bool) {
        if self.is_gate_source[op as usize] {
            if ctx == ROOT {
                self.root_done[op as usize] = Some(outcome);
            } else {
                self.done.insert((op, ctx), outcome);
            }
            if let Some(waiters) = self.parked.remove(&(op, ctx)) {
                for (v, x) in waiters {
                    match outcome {
                        Outcome::Done => self.check_gates(plan, v, x),
                        Outcome::Skipped => self.skip_stack.push((v, x)),
                    }
                }
            }
        }
        // A generator that yielded nothing has nothing to collect: its collected consumers do not run.
        let collect_outcome = if plan.ops[op as usize].is_gen() && self.produced.remove(&(op, ctx)).is_none() {
            Outcome::Skipped
        } else {
            outcome
        };
        let mut collect_ctx = None;
        let chosen = self.chosen;
        let not_taken = |dst: OpId| match (&plan.ops[op as usize].builtin, chosen) {
            (Builtin::Branch { candidates, .. }, Some((b, chosen))) if b == op => {
                candidates.contains(&dst) && chosen != Some(dst)
            }
            _ => false,
        };
        for e in plan.successors(op) {
            match e.kind {
                EdgeKind::Same if not_taken(e.dst) => self.signal(plan, op, e.dst, ctx, e.soft, Outcome::Skipped),
                EdgeKind::Same => self.signal(plan, op, e.dst, ctx, e.soft, outcome),
                EdgeKind::Collect => {
                    let x = *collect_ctx.get_or_insert_with(|| {
                        let x = self.contexts.open(ctx, Segment::Collect, op);
                        self.contexts.hold(x);
                        x
                    });
                    self.signal(plan, op, e.dst, x, e.soft, collect_outcome);
                }
                // A skipped loop never runs: its end is skipped in the same context.
                EdgeKind::Loop if outcome == Outcome::Skipped => {
                    if ctx != ROOT {
                        self.contexts.hold(ctx);
                    }
                    self.skip_stack.push((e.dst, ctx));
                }
                EdgeKind::Item | EdgeKind::Gate | EdgeKind::Loop => {}
            }
        }
        if let Some(x) = collect_ctx {
            self.contexts.release(x);
        }
        // The next item of a sequential stream starts after this item's own successors, so a
        // chain of per-item ops runs item by item.
        if admitted && ctx != ROOT && plan.ops[op as usize].item_cap.is_some() {
            self.release_item_slot(op, ctx);
        }
        if ctx != ROOT {
            self.contexts.release(ctx);
        }
    }

    /// One predecessor of `(v, x)` in `x` finished (or, for items, one item arrived).
    fn signal(&mut self, plan: &Plan, from: OpId, v: OpId, x: CtxId, soft: bool, outcome: Outcome) {
        let vi = v as usize;
        if !plan.runnable[vi] {
            return; // it waits for an op that never runs
        }
        // The end of a nested graph waits for every inner op to settle, run or skipped; it is
        // skipped only when the nested graph's entry was.
        let own_entry = plan.ops[from as usize].kind == OpKind::GraphEnter && from + 1 == v;
        let outcome = if plan.ops[vi].kind == OpKind::GraphExit && !own_entry { Outcome::Done } else { outcome };
        let (count, doomed) = if x == ROOT {
            if soft {
                if self.soft_fired[vi] {
                    return;
                }
                match outcome {
                    Outcome::Done => self.soft_fired[vi] = true,
                    Outcome::Skipped => {
                        self.soft_dead[vi] += 1;
                        if self.soft_dead[vi] < plan.soft_preds[vi] {
                            return;
                        }
                        self.doomed[vi] = true;
                    }
                }
            } else if outcome == Outcome::Skipped {
                self.doomed[vi] = true;
            }
            self.counts[vi] -= 1;
            (self.counts[vi], self.doomed[vi])
        } else {
            let contexts = &mut self.contexts;
            let p = self.pending.entry((v, x)).or_insert_with(|| {
                contexts.hold(x);
                let left = plan.signals[vi];
                Pending { count: plan.initial_counts[vi], left, soft_fired: false, soft_dead: 0, doomed: false }
            });
            p.left -= 1;
            let last = p.left == 0;
            // A soft signal after the group fired, or a dead one while others may still fire,
            // changes no count.
            let counted = !soft
                || match (p.soft_fired, outcome) {
                    (true, _) => false,
                    (false, Outcome::Done) => {
                        p.soft_fired = true;
                        true
                    }
                    (false, Outcome::Skipped) => {
                        // the group counts (as dead) only once its last member is dead
                        p.soft_dead += 1;
                        let all_dead = p.soft_dead == plan.soft_preds[vi];
                        p.doomed |= all_dead;
                        all_dead
                    }
                };
            if !soft && outcome == Outcome::Skipped {
                p.doomed = true;
            }
            if counted {
                p.count -= 1;
            }
            let (count, doomed) = (p.count, p.doomed);
            if last {
                self.pending.remove(&(v, x));
            }
            if !counted {
                return;
            }
            (count, doomed)
        };
        if count == 0 {
            if doomed {
                self.skip_stack.push((v, x));
            } else {
                self.check_gates(plan, v, x);
            }
        }
    }

    /// All same-context predecessors of `(v, x)` are in: wait for its outer predecessors, if any.
    fn check_gates(&mut self, plan: &Plan, v: OpId, x: CtxId) {
        for &u in plan.gates_of(v) {
            let depth = plan.ops[u as usize].depth;
            let Some(a) = self.contexts.ancestor(x, depth) else {
                continue;
            };
            let status = if a == ROOT { self.root_done[u as usize] } else { self.done.get(&(u, a)).copied() };
            match status {
                Some(Outcome::Done) => {}
                Some(Outcome::Skipped) => {
                    self.skip_stack.push((v, x));
                    return;
                }
                None => {
                    self.parked.entry((u, a)).or_default().push((v, x));
                    return;
                }
            }
        }
        self.admit(plan, v, x);
    }

    /// Queues `(v, x)`, one at a time per stream for sequential per-item ops.
    fn admit(&mut self, plan: &Plan, v: OpId, x: CtxId) {
        let cap = if x == ROOT { None } else { plan.ops[v as usize].item_cap };
        let Some(cap) = cap else {
            self.ready.push_back((v, x));
            return;
        };
        let gate = self.item_gates.entry((v, self.contexts.parent(x))).or_default();
        if gate.running < cap {
            gate.running += 1;
            self.ready.push_back((v, x));
        } else {
            gate.queue.push_back(x);
        }
    }

    fn release_item_slot(&mut self, op: OpId, ctx: CtxId) {
        let key = (op, self.contexts.parent(ctx));
        let Some(gate) = self.item_gates.get_mut(&key) else {
            return;
        };
        match gate.queue.pop_front() {
            Some(next) => self.ready.push_back((op, next)),
            None => {
                gate.running -= 1;
                if gate.running == 0 {
                    self.item_gates.remove(&key);
                }
            }
        }
    }
}
