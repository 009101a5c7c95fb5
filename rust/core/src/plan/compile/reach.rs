//! Every op is reached from its graph's START: a path of edges (hard or soft) must lead to it from one
//! of its graph's entries, and a nested graph (or loop) must itself be reached in its parent. An op no
//! path reaches would never run, so the document is refused instead of the op being dropped quietly.
//!
//! Only the static graph counts: an op behind a branch that may skip it, or behind an op that may fail,
//! is reached. An op the document disables (`"enabled": false`) is not an oversight: it and the ops
//! behind it count as reached.

use super::{Compiler, Role};
use crate::error::Problem;
use crate::plan::types::{Edge, OpId};

impl<'d> Compiler<'d> {
    /// Reports every op (a nested graph counting as one op of its parent) that no path from its
    /// graph's entries reaches. `out` holds every edge of the flat plan, where a nested graph's entry
    /// op leads to the nested graph's own entries, so one search from the root's `entries` finds
    /// every op that is reached in its own graph, at every depth. Linear in ops and edges.
    ///
    /// The ops of a nested graph that is not reached itself are not reported (their graph is). Nothing
    /// is reported when the root graph has no entry: that is a problem of its own.
    pub(super) fn check_reachable(&mut self, out: &[Vec<Edge>], entries: &[OpId]) {
        if entries.is_empty() || self.doc.entries.is_empty() {
            return;
        }
        let mut reached = vec![false; out.len()];
        let mut stack: Vec<OpId> = Vec::with_capacity(entries.len());
        // An op the document disables is never run on purpose: it counts as reached, and so do the
        // ops behind it (they do not run either, as behind a disabled op that START reaches).
        let disabled = (0..out.len()).filter(|&i| match self.flat[i].role {
            Role::Op(op) | Role::Enter(op) => !op.enabled,
            _ => false,
        });
        for e in entries.iter().map(|&e| e as usize).chain(disabled.collect::<Vec<_>>()) {
            if !reached[e] {
                reached[e] = true;
                stack.push(e as OpId);
            }
        }
        while let Some(u) = stack.pop() {
            for e in &out[u as usize] {
                if !reached[e.dst as usize] {
                    reached[e.dst as usize] = true;
                    stack.push(e.dst);
                }
            }
        }
        for i in 0..out.len() {
            if reached[i] || !matches!(self.flat[i].role, Role::Op(_) | Role::Enter(_)) {
                continue; // an end op is reached with its entry op; the root loop's entry is the entry
            }
            let graph_reached = match self.scopes[self.flat[i].scope].enter_exit {
                Some((enter, _)) => reached[enter as usize],
                None => true,
            };
            if graph_reached {
                self.unreachable(i);
            }
        }
    }

    /// The problem of op `i`, which no path from its graph's START reaches.
    fn unreachable(&mut self, i: usize) {
        let name = self.flat[i].name;
        let graph = &self.scopes[self.flat[i].scope].full;
        let message = format!(
            "op '{name}' of graph '{graph}' is unreachable: no path of edges leads to it from START, so it \
             would never run; wire it from START (START >> {name}) or from another op (op >> {name}), or \
             remove it"
        );
        self.problem(Problem::new("unreachable", message).op(name));
    }
}
