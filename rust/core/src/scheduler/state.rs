//! Ready counts, the FIFO ready queue, skip propagation and the concurrency cap of one run.

use std::collections::VecDeque;

use crate::plan::{OpId, Plan};

/// How a finished op left the run.
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

/// The scheduling state of one run. Work per finished op is proportional to its out-degree.
#[derive(Debug, Clone)]
pub struct RunState {
    counts: Vec<u32>,
    soft_fired: Vec<bool>,
    soft_dead: Vec<u32>,
    doomed: Vec<bool>,
    ready: VecDeque<OpId>,
    skip_stack: Vec<OpId>,
    in_flight: u32,
    limit: Option<u32>,
    limited_running: u32,
    waiting: VecDeque<OpId>,
}

impl RunState {
    /// A fresh run of `plan`: the entry ops are ready, in wiring order.
    pub fn new(plan: &Plan) -> Self {
        let n = plan.ops.len();
        let mut state = RunState {
            counts: plan.initial_counts.clone(),
            soft_fired: vec![false; n],
            soft_dead: vec![0; n],
            doomed: vec![false; n],
            ready: VecDeque::with_capacity(plan.entries.len().max(4)),
            skip_stack: Vec::new(),
            in_flight: 0,
            limit: plan.concurrency,
            limited_running: 0,
            waiting: VecDeque::new(),
        };
        for &e in &plan.entries {
            if state.counts[e as usize] == 0 {
                state.ready.push_back(e);
            }
        }
        state
    }

    /// The next ready op, first in, first out.
    #[inline]
    pub fn pop_ready(&mut self) -> Option<OpId> {
        self.ready.pop_front()
    }

    /// True when nothing is ready, waiting or running: the run is over.
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.ready.is_empty() && self.in_flight == 0 && self.waiting.is_empty()
    }

    /// Number of ops started and not yet finished (async, cpu).
    #[inline]
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Marks an op as started concurrently. Returns false when the graph's concurrency cap is reached:
    /// the op is then queued and handed back by [`RunState::end_concurrent`].
    pub fn begin_concurrent(&mut self, op: OpId) -> bool {
        if let Some(limit) = self.limit {
            if self.limited_running >= limit {
                self.waiting.push_back(op);
                return false;
            }
            self.limited_running += 1;
        }
        self.in_flight += 1;
        true
    }

    /// Marks a concurrent op as finished (call before [`RunState::finish`]). Returns an op that was
    /// waiting for the cap and may start now (already counted as started).
    pub fn end_concurrent(&mut self) -> Option<OpId> {
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

    /// Records that `op` finished and makes its successors ready, in edge declaration order. A skipped
    /// op dooms its hard successors, and a soft group whose every member was skipped; doomed ops are
    /// skipped in turn as soon as all their predecessors are settled (iteratively).
    pub fn finish(&mut self, plan: &Plan, op: OpId, outcome: Outcome) {
        self.settle(plan, op, outcome);
        while let Some(skipped) = self.skip_stack.pop() {
            self.settle(plan, skipped, Outcome::Skipped);
        }
    }

    /// Drops all queued work (the run failed or was cancelled).
    pub fn clear(&mut self) {
        self.ready.clear();
        self.waiting.clear();
    }

    fn settle(&mut self, plan: &Plan, op: OpId, outcome: Outcome) {
        for e in plan.successors(op) {
            let v = e.dst as usize;
            if e.soft {
                if self.soft_fired[v] {
                    continue;
                }
                match outcome {
                    Outcome::Done => self.soft_fired[v] = true,
                    Outcome::Skipped => {
                        self.soft_dead[v] += 1;
                        if self.soft_dead[v] < plan.soft_preds[v] {
                            continue;
                        }
                        self.doomed[v] = true;
                    }
                }
            } else if outcome == Outcome::Skipped {
                self.doomed[v] = true;
            }
            self.counts[v] -= 1;
            if self.counts[v] == 0 {
                if self.doomed[v] {
                    self.skip_stack.push(e.dst);
                } else {
                    self.ready.push_back(e.dst);
                }
            }
        }
    }
}
