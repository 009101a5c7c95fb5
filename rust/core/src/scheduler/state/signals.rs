//! Signal, settle and skip propagation: how a finished op instance makes its successors ready (or
//! skipped) in their contexts, and how waiting instances pass their gates and per-item caps.

use super::{Outcome, Pending, RunState};
use crate::plan::{Builtin, EdgeKind, OpId, OpKind, Plan};
use crate::scheduler::contexts::{CtxId, Segment, ROOT};

impl RunState {
    /// Settles the skips a settle left; most settle none (one test each, inline).
    #[inline]
    pub(super) fn drain_skips(&mut self, plan: &Plan) {
        if !self.skip_stack.is_empty() {
            self.settle_skips(plan);
        }
        self.queue_settled_iterations();
    }

    #[inline(never)]
    fn settle_skips(&mut self, plan: &Plan) {
        while let Some((op, ctx)) = self.skip_stack.pop() {
            self.note_skip(op, ctx);
            self.settle(plan, op, ctx, Outcome::Skipped, false);
        }
    }

    pub(super) fn settle(&mut self, plan: &Plan, op: OpId, ctx: CtxId, outcome: Outcome, admitted: bool) {
        if ctx == ROOT && plan.plain_settle[op as usize] {
            return self.settle_plain(plan, op, outcome);
        }
        if self.is_gate_source[op as usize] {
            if ctx == ROOT {
                self.root_done[op as usize] = Some(outcome);
            } else {
                self.done.insert((op, ctx), outcome);
            }
            if let Some(waiters) = self.parked.remove(&(op, ctx)) {
                for (v, x, soft_fired) in waiters {
                    // the gate's outcome is recorded above: a skipped hard gate skips the waiter
                    self.check_gates(plan, v, x, soft_fired);
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

    /// [`RunState::settle`] of an op that settles plainly in the root context
    /// ([`Plan::plain_settle`]): what `signal` does for each of its successors, without its cases.
    #[inline]
    fn settle_plain(&mut self, plan: &Plan, op: OpId, outcome: Outcome) {
        for e in plan.successors(op) {
            let vi = e.dst as usize;
            if outcome == Outcome::Skipped {
                self.doomed[vi] = true;
            }
            self.counts[vi] -= 1;
            if self.counts[vi] == 0 {
                if self.doomed[vi] {
                    self.skip_stack.push((e.dst, ROOT));
                } else {
                    self.ready.push_back((e.dst, ROOT));
                }
            }
        }
    }

    /// One predecessor of `(v, x)` in `x` finished (or, for items, one item arrived).
    pub(super) fn signal(&mut self, plan: &Plan, from: OpId, v: OpId, x: CtxId, soft: bool, outcome: Outcome) {
        let vi = v as usize;
        if !plan.runnable[vi] {
            return; // it waits for an op that never runs
        }
        // The end of a nested graph waits for every inner op to settle, run or skipped; it is
        // skipped when the nested graph's entry was, or when nothing ran in its context (a stream
        // context inside the nested graph, such as the collect of a generator that yielded nothing).
        let exit = plan.ops[vi].kind == OpKind::GraphExit;
        let own_entry = plan.ops[from as usize].kind == OpKind::GraphEnter && from + 1 == v;
        let ran = outcome == Outcome::Done;
        let outcome = if exit && !own_entry { Outcome::Done } else { outcome };
        let counted = if x == ROOT {
            // an op in the root context has no gates (they come from outer contexts)
            self.signal_root(plan, vi, soft, outcome).map(|(count, doomed)| (count, doomed, false))
        } else {
            self.signal_pending(plan, v, x, soft, outcome, ran)
                .map(|(count, doomed, any_ran, fired)| (count, doomed || (exit && !any_ran), fired))
        };
        match counted {
            Some((0, true, _)) => self.skip_stack.push((v, x)),
            Some((0, false, _)) if plan.gates_of(v).is_empty() => self.admit(plan, v, x),
            Some((0, false, soft_fired)) => self.check_gates(plan, v, x, soft_fired),
            _ => {}
        }
    }

    /// Counts a signal to `vi` in the root context: its count left and whether it is doomed, or
    /// `None` when the signal changes no count.
    fn signal_root(&mut self, plan: &Plan, vi: usize, soft: bool, outcome: Outcome) -> Option<(u32, bool)> {
        if soft {
            if self.soft_fired[vi] {
                return None;
            }
            match outcome {
                Outcome::Done => self.soft_fired[vi] = true,
                Outcome::Skipped => {
                    self.soft_dead[vi] += 1;
                    if self.soft_dead[vi] < plan.soft_preds[vi] {
                        return None;
                    }
                    // every soft predecessor here is dead; soft gates may still let it run
                    self.doomed[vi] |= !plan.has_soft_gate(vi as OpId);
                }
            }
        } else if outcome == Outcome::Skipped {
            self.doomed[vi] = true;
        }
        self.counts[vi] -= 1;
        Some((self.counts[vi], self.doomed[vi]))
    }

    /// Counts a signal to `(v, x)` outside the root (`ran`: its predecessor ran): its count left,
    /// whether it is doomed and whether a predecessor ran there, or `None` when the signal changes no
    /// count.
    fn signal_pending(
        &mut self,
        plan: &Plan,
        v: OpId,
        x: CtxId,
        soft: bool,
        outcome: Outcome,
        ran: bool,
    ) -> Option<(u32, bool, bool, bool)> {
        let vi = v as usize;
        let contexts = &mut self.contexts;
        let p = self.pending.entry((v, x)).or_insert_with(|| {
            contexts.hold(x);
            let left = plan.signals[vi];
            let count = plan.initial_counts[vi];
            Pending { count, left, soft_fired: false, soft_dead: 0, doomed: false, ran: false }
        });
        p.left -= 1;
        p.ran |= ran;
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
                    // soft gates may still let it run
                    p.doomed |= all_dead && !plan.has_soft_gate(v);
                    all_dead
                }
            };
        if !soft && outcome == Outcome::Skipped {
            p.doomed = true;
        }
        if counted {
            p.count -= 1;
        }
        let state = (p.count, p.doomed, p.ran, p.soft_fired);
        if last {
            self.pending.remove(&(v, x));
        }
        counted.then_some(state)
    }

    /// All same-context predecessors of `(v, x)` are in (`soft_fired`: its soft group there fired):
    /// wait for its outer predecessors, if any. Hard gates must all be done; soft gates belong to the
    /// soft group, which lets the op run once any member is done and skips it once every one is dead.
    pub(super) fn check_gates(&mut self, plan: &Plan, v: OpId, x: CtxId, soft_fired: bool) {
        let mut soft_ok = soft_fired;
        let mut soft_gate = false;
        let mut soft_wait = None;
        for (&u, &soft) in plan.gates_of(v).iter().zip(plan.soft_gates_of(v)) {
            let depth = plan.ops[u as usize].depth;
            let Some(a) = self.contexts.ancestor(x, depth) else {
                continue;
            };
            let status = if a == ROOT { self.root_done[u as usize] } else { self.done.get(&(u, a)).copied() };
            match (soft, status) {
                (false, Some(Outcome::Done)) => {}
                (false, Some(Outcome::Skipped)) => {
                    self.skip_stack.push((v, x));
                    return;
                }
                (false, None) => {
                    self.parked.entry((u, a)).or_default().push((v, x, soft_fired));
                    return;
                }
                (true, status) => {
                    soft_gate = true;
                    soft_ok |= status == Some(Outcome::Done);
                    if status.is_none() {
                        soft_wait.get_or_insert((u, a));
                    }
                }
            }
        }
        if soft_gate && !soft_ok {
            match soft_wait {
                Some(key) => self.parked.entry(key).or_default().push((v, x, soft_fired)),
                None => self.skip_stack.push((v, x)),
            }
            return;
        }
        self.admit(plan, v, x);
    }

    /// Queues `(v, x)`, one at a time per stream for sequential per-item ops.
    pub(super) fn admit(&mut self, plan: &Plan, v: OpId, x: CtxId) {
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

    pub(super) fn release_item_slot(&mut self, op: OpId, ctx: CtxId) {
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
