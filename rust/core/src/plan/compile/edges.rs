//! Wiring the edges of the flat plan: the edges each graph declares, a nested graph's entries from its
//! entry op, and every op of a nested graph into the graph's end.

use rustc_hash::FxHashSet;

use super::Compiler;
use crate::error::Problem;
use crate::plan::types::{Edge, EdgeKind, OpId, OpKind, OpPlan};

/// Successor lists in declaration order, with each op's count of hard and soft predecessors.
pub(super) struct EdgeLists {
    /// Per op: the edges leaving it.
    pub(super) out: Vec<Vec<Edge>>,
    /// Per op: edges into it that are hard.
    pub(super) hard_preds: Vec<u32>,
    /// Per op: edges into it that are soft.
    pub(super) soft_preds: Vec<u32>,
    seen: FxHashSet<(OpId, OpId, bool)>,
}

impl EdgeLists {
    fn new(n: usize) -> Self {
        EdgeLists {
            out: vec![Vec::new(); n],
            hard_preds: vec![0; n],
            soft_preds: vec![0; n],
            seen: FxHashSet::default(),
        }
    }

    /// Adds an edge; a repeated edge changes nothing.
    fn add(&mut self, from: OpId, to: OpId, soft: bool) {
        if !self.seen.insert((from, to, soft)) {
            return;
        }
        self.out[from as usize].push(Edge { dst: to, soft, kind: EdgeKind::Same });
        if soft {
            self.soft_preds[to as usize] += 1;
        } else {
            self.hard_preds[to as usize] += 1;
        }
    }
}

impl<'d> Compiler<'d> {
    /// Every edge of the flat plan: the declared ones first, then those that end nested graphs.
    pub(super) fn edges(&mut self, ops: &[OpPlan]) -> EdgeLists {
        let mut edges = EdgeLists::new(ops.len());
        for si in 0..self.scopes.len() {
            self.declared_edges(si, &mut edges);
            self.entry_edges(si, &mut edges);
        }
        self.nested_end_edges(ops, &mut edges);
        edges
    }

    /// The edges graph `si` declares, between its ops (a nested graph standing for its entry and end).
    fn declared_edges(&mut self, si: usize, edges: &mut EdgeLists) {
        let scope_doc = self.scopes[si].doc;
        for e in &scope_doc.edges {
            let (Some(from), Some(to)) =
                (self.edge_end(si, &e.from, &e.to, false), self.edge_end(si, &e.to, &e.from, true))
            else {
                continue;
            };
            edges.add(from, to, e.soft);
        }
    }

    /// For a nested graph (or a root loop): an edge from its entry op to each of its entries.
    fn entry_edges(&mut self, si: usize, edges: &mut EdgeLists) {
        let Some((enter, _)) = self.scopes[si].enter_exit else {
            return;
        };
        let scope_doc = self.scopes[si].doc;
        for name in &scope_doc.entries {
            match self.scopes[si].into.get(name.as_str()) {
                Some(&id) => edges.add(enter, id, false),
                None => self.problem(
                    Problem::new("unknown_op", format!("entry op '{name}' is not in graph '{}'", self.scopes[si].full))
                        .target(name),
                ),
            }
        }
    }

    /// A nested graph ends once every op reachable from its entries has settled. Each nested graph's
    /// entry is linked to its end first, so that a graph nested inside another counts as one node
    /// (entry, then end) when the outer one looks for its last ops.
    fn nested_end_edges(&self, ops: &[OpPlan], edges: &mut EdgeLists) {
        for scope in &self.scopes {
            if let Some((enter, exit)) = scope.enter_exit {
                edges.add(enter, exit, false);
            }
        }
        for si in 0..self.scopes.len() {
            let Some((enter, exit)) = self.scopes[si].enter_exit else {
                continue;
            };
            if self.scopes[si].loop_doc.is_some() {
                continue; // a loop's iteration ends when its context settles, not through edges
            }
            // Every op reachable from the entry feeds the end, not only the last ones: an op behind a
            // soft join that already fired still has to finish first.
            for u in self.reached_in_scope(ops, &edges.out, si, enter) {
                edges.add(u, exit, false);
            }
        }
    }

    /// The ops of graph `si` that its entry op reaches, in the order they are found; a loop's entry
    /// is left out (the loop's end stands for it).
    fn reached_in_scope(&self, ops: &[OpPlan], out: &[Vec<Edge>], si: usize, enter: OpId) -> Vec<OpId> {
        let mut reached = Vec::new();
        let mut seen = FxHashSet::default();
        let mut stack = vec![enter];
        while let Some(u) = stack.pop() {
            for e in &out[u as usize] {
                if self.flat[e.dst as usize].scope == si && seen.insert(e.dst) {
                    stack.push(e.dst);
                    if ops[e.dst as usize].kind != OpKind::LoopEnter {
                        reached.push(e.dst);
                    }
                }
            }
        }
        reached
    }
}
