//! Compiling a graph document into a [`Plan`], collecting every problem found.
//!
//! This module lays the document tree out flat and wires the edges; `ops` compiles each op, `refs` its
//! refs, `scopes` what nested graphs and loops add, `streams` the order and the contexts ops run in;
//! `reach` checks that START reaches every op, `upstream` that every ref reads an op upstream of it.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{EngineError, Problem, Result};
use crate::graph::schema::{GraphDoc, LoopDoc, OpDoc};
use crate::plan::types::{Const, Edge, EdgeKind, Forward, OpId, OpKind, OpPlan, Plan, VarId};

mod ops;
mod reach;
mod refs;
mod scopes;
mod streams;
mod upstream;

/// Where ops run and what they wait for, per op (see [`Compiler::streams`]).
#[derive(Default)]
struct Placement {
    /// Hard predecessors in the op's own context, plus one when it has soft ones there.
    counts: Vec<u32>,
    /// Soft predecessors in the op's own context.
    soft_counts: Vec<u32>,
    /// Predecessor signals an instance of the op receives (from predecessors that can run).
    signals: Vec<u32>,
    /// Predecessors in an outer context.
    gates: Vec<Vec<(OpId, bool)>>,
    /// Whether the op can run at all.
    runnable: Vec<bool>,
}

/// A stream policy asked for by a ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Parallel(Option<u32>),
    Collect,
}

/// Compiles a parsed document. Validation is iterative (no recursion over the graph), so graphs of any
/// size compile; every problem found is reported in one [`EngineError::Invalid`].
pub fn compile(doc: &GraphDoc) -> Result<Plan> {
    Compiler::new(doc).run()
}

/// What one op of the flat plan comes from.
#[derive(Clone, Copy)]
enum Role<'d> {
    /// A code op or a branch.
    Op(&'d OpDoc),
    /// The entry of a nested graph (whose document is the op).
    Enter(&'d OpDoc),
    /// The end of a nested graph.
    Exit(&'d OpDoc),
    /// The entry of a root graph that is a loop.
    RootEnter,
    /// The end of a root graph that is a loop.
    RootExit,
}

/// One op of the flat plan, with the graph (scope) it belongs to.
struct Flat<'d> {
    name: &'d str,
    full: String,
    scope: usize,
    role: Role<'d>,
}

/// A graph of the document tree: the root, or a nested graph.
struct Scope<'d> {
    doc: &'d GraphDoc,
    full: String,
    /// For a nested graph (or a root loop): its entry and end ops.
    enter_exit: Option<(OpId, OpId)>,
    /// The graph containing this one.
    parent: Option<usize>,
    /// Set when the graph is a loop.
    loop_doc: Option<&'d LoopDoc>,
    /// Short name -> the op that edges into it reach (a nested graph's entry).
    into: FxHashMap<&'d str, OpId>,
    /// Short name -> the op that edges out of it leave from (a nested graph's end).
    from: FxHashMap<&'d str, OpId>,
    /// Full name -> the op whose outputs a ref to it reads (a nested graph's end).
    reads: FxHashMap<String, OpId>,
}

struct Compiler<'d> {
    doc: &'d GraphDoc,
    graph_full: String,
    problems: Vec<Problem>,
    flat: Vec<Flat<'d>>,
    scopes: Vec<Scope<'d>>,
    vars: Vec<String>,
    var_ids: FxHashMap<String, VarId>,
    consts: Vec<Const>,
    graph_inputs: Vec<VarId>,
    graph_outputs: Vec<VarId>,
    // Lookup sets, so that graphs with many ops, exits or graph variables compile in linear time.
    graph_inputs_seen: FxHashSet<VarId>,
    graph_outputs_seen: FxHashSet<VarId>,
    /// For a root loop: the loop variables its body reads.
    root_loop_reads: Vec<VarId>,
    /// `(reader, source, variable)` for every ref from an op to another op of its graph.
    op_reads: Vec<(OpId, OpId, VarId)>,
}

impl<'d> Compiler<'d> {
    fn new(doc: &'d GraphDoc) -> Self {
        let graph_full = doc.full_name().to_string();
        let mut c = Compiler {
            doc,
            graph_full: graph_full.clone(),
            problems: Vec::new(),
            flat: Vec::new(),
            scopes: Vec::new(),
            vars: Vec::new(),
            var_ids: FxHashMap::default(),
            consts: Vec::new(),
            graph_inputs: Vec::new(),
            graph_outputs: Vec::new(),
            graph_inputs_seen: FxHashSet::default(),
            graph_outputs_seen: FxHashSet::default(),
            root_loop_reads: Vec::new(),
            op_reads: Vec::new(),
        };
        c.flatten(doc, graph_full);
        c
    }

    /// Lays the document tree out flat: each nested graph becomes an entry op, its own ops, and an
    /// end op, so nesting costs two cheap built-in ops per level and no sub-run. Iterative.
    fn flatten(&mut self, root: &'d GraphDoc, root_full: String) {
        // (document, full name, entry and end ops when nested, parent scope, loop)
        type Pending<'d> = (&'d GraphDoc, String, Option<(OpId, OpId)>, Option<usize>, Option<&'d LoopDoc>);
        // A root loop gets an entry and an end op of its own, like a nested loop.
        let root_enter_exit = root.loop_config.as_ref().map(|_| {
            for role in [Role::RootEnter, Role::RootExit] {
                self.flat.push(Flat { name: &root.name, full: root_full.clone(), scope: 0, role });
            }
            (0, 1)
        });
        let mut pending: Vec<Pending<'d>> = vec![(root, root_full, root_enter_exit, None, root.loop_config.as_ref())];
        while let Some((doc, full, enter_exit, parent, loop_doc)) = pending.pop() {
            let scope = self.scopes.len();
            let mut into = FxHashMap::default();
            let mut from = FxHashMap::default();
            let mut reads = FxHashMap::default();
            for (name, op) in &doc.ops.0 {
                let op_full = op.full_name.clone().unwrap_or_else(|| format!("{full}.{name}"));
                if op.kind == "graph" {
                    // A nested graph's end op always directly follows its entry op (the scheduler
                    // relies on it to tell its own entry from an inner graph's).
                    let enter = self.flat.len() as OpId;
                    self.flat.push(Flat { name, full: op_full.clone(), scope, role: Role::Enter(op) });
                    let exit = self.flat.len() as OpId;
                    self.flat.push(Flat { name, full: op_full.clone(), scope, role: Role::Exit(op) });
                    into.insert(name.as_str(), enter);
                    from.insert(name.as_str(), exit);
                    reads.insert(op_full.clone(), exit);
                    match &op.graph {
                        Some(inner) => {
                            pending.push((inner, op_full, Some((enter, exit)), Some(scope), op.loop_config.as_ref()))
                        }
                        None => self.problem(
                            Problem::new("invalid", format!("nested graph '{name}' has no \"graph\" document"))
                                .op(name),
                        ),
                    }
                } else {
                    let id = self.flat.len() as OpId;
                    self.flat.push(Flat { name, full: op_full.clone(), scope, role: Role::Op(op) });
                    into.insert(name.as_str(), id);
                    from.insert(name.as_str(), id);
                    reads.insert(op_full, id);
                }
            }
            self.scopes.push(Scope { doc, full, enter_exit, parent, loop_doc, into, from, reads });
        }
    }

    fn run(mut self) -> Result<Plan> {
        let doc = self.doc;
        if doc.ops.0.is_empty() {
            self.problem(Problem::new("empty", format!("graph '{}' has no ops", doc.name)));
        }
        let mut ops: Vec<OpPlan> = (0..self.flat.len()).map(|i| self.op(i)).collect();
        let n = ops.len();
        self.route_nested_forwarding(&mut ops);
        self.loop_bodies(&mut ops);
        if self.scopes[0].loop_doc.is_some() {
            ops[0].inputs = self.root_loop_inputs();
        }

        // Edges: successor lists in declaration order, counts of hard and soft predecessors.
        let mut out: Vec<Vec<Edge>> = vec![Vec::new(); n];
        let mut hard_preds = vec![0u32; n];
        let mut soft_preds = vec![0u32; n];
        let mut seen_edges = FxHashSet::default();
        let mut add = |out: &mut Vec<Vec<Edge>>, from: OpId, to: OpId, soft: bool| {
            if !seen_edges.insert((from, to, soft)) {
                return; // a repeated edge changes nothing
            }
            out[from as usize].push(Edge { dst: to, soft, kind: EdgeKind::Same });
            if soft {
                soft_preds[to as usize] += 1;
            } else {
                hard_preds[to as usize] += 1;
            }
        };
        for si in 0..self.scopes.len() {
            let scope_doc = self.scopes[si].doc;
            for e in &scope_doc.edges {
                let (Some(from), Some(to)) =
                    (self.edge_end(si, &e.from, &e.to, false), self.edge_end(si, &e.to, &e.from, true))
                else {
                    continue;
                };
                add(&mut out, from, to, e.soft);
            }
            if let Some((enter, _)) = self.scopes[si].enter_exit {
                for name in &scope_doc.entries {
                    match self.scopes[si].into.get(name.as_str()) {
                        Some(&id) => add(&mut out, enter, id, false),
                        None => self.problem(
                            Problem::new(
                                "unknown_op",
                                format!("entry op '{name}' is not in graph '{}'", self.scopes[si].full),
                            )
                            .target(name),
                        ),
                    }
                }
            }
        }
        // A nested graph ends once every op reachable from its entries has settled. Each nested
        // graph's entry is linked to its end first, so that a graph nested inside another counts as
        // one node (entry, then end) when the outer one looks for its last ops.
        for si in 0..self.scopes.len() {
            if let Some((enter, exit)) = self.scopes[si].enter_exit {
                add(&mut out, enter, exit, false);
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
            let mut reached = Vec::new();
            let mut seen = FxHashSet::default();
            let mut stack = vec![enter];
            while let Some(u) = stack.pop() {
                for e in &out[u as usize] {
                    if self.flat[e.dst as usize].scope == si && seen.insert(e.dst) {
                        stack.push(e.dst);
                        // A loop's entry feeds its iterations; the loop's end stands for it.
                        if ops[e.dst as usize].kind != OpKind::LoopEnter {
                            reached.push(e.dst);
                        }
                    }
                }
            }
            for u in reached {
                add(&mut out, u, exit, false);
            }
        }
        let entries = match self.scopes[0].enter_exit {
            Some((enter, _)) => vec![enter], // a root loop: its entries were wired from its entry op
            None => self.names_to_ids(&doc.entries, "entry", true),
        };
        let exits = self.names_to_ids(&doc.exits, "exit", false);
        self.check_reachable(&out, &entries);
        if n > 0 && (entries.is_empty() || doc.entries.is_empty()) {
            self.problem(Problem::new(
                "no_entry",
                format!("graph '{}' has no entry op: wire one with START >> op", doc.name),
            ));
        }
        let mapped_any = ops.iter().any(|o| matches!(o.forward, Forward::Mapped(_)));
        if n > 0 && exits.is_empty() && !mapped_any {
            self.problem(Problem::new(
                "no_exit",
                format!("graph '{}' has no exit op: wire one with op >> END", doc.name),
            ));
        }
        // The edge pass counted predecessors over all edges (for the cycle check); the per-context
        // counts come from the placement, gates excluded.
        let placement = match self.check_cycles(&out, &hard_preds, &soft_preds) {
            Some(order) => {
                self.check_upstream(&out, &order);
                self.streams(&mut ops, &mut out, &order, &entries)
            }
            None => Placement::default(),
        };
        let Placement { counts: initial_counts, soft_counts: soft_preds, signals, gates: gate_lists, runnable } =
            placement;

        if !self.problems.is_empty() {
            return Err(EngineError::Invalid { graph: doc.name.clone(), problems: self.problems });
        }
        let mut gate_offsets = Vec::with_capacity(n + 1);
        let mut gates = Vec::new();
        let mut soft_gates = Vec::new();
        gate_offsets.push(0);
        for g in gate_lists {
            gates.extend(g.iter().map(|&(u, _)| u));
            soft_gates.extend(g.iter().map(|&(_, soft)| soft));
            gate_offsets.push(gates.len() as u32);
        }
        let mut succ_offsets = Vec::with_capacity(n + 1);
        let mut succ = Vec::with_capacity(doc.edges.len());
        succ_offsets.push(0);
        for edges in out {
            succ.extend(edges);
            succ_offsets.push(succ.len() as u32);
        }
        Ok(Plan {
            name: doc.name.clone(),
            full_name: self.graph_full,
            concurrency: doc.concurrency.filter(|c| *c > 0),
            ops,
            succ_offsets,
            succ,
            initial_counts,
            soft_preds,
            gate_offsets,
            soft_gates,
            gates,
            entries,
            vars: self.vars,
            consts: self.consts,
            graph_inputs: self.graph_inputs,
            graph_outputs: self.graph_outputs,
            root_loop: self.scopes[0].loop_doc.is_some(),
            signals,
            runnable,
        })
    }

    fn problem(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// The op an edge of scope `si` reaches (`into`) or leaves from, by short name.
    fn edge_end(&mut self, si: usize, name: &str, other: &str, into: bool) -> Option<OpId> {
        let scope = &self.scopes[si];
        let id = if into { scope.into.get(name) } else { scope.from.get(name) }.copied();
        if id.is_none() {
            let graph = scope.full.clone();
            self.problem(
                Problem::new("unknown_op", format!("an edge names op '{name}', which is not in graph '{graph}'"))
                    .op(other)
                    .target(name),
            );
        }
        id
    }

    /// The root graph's entry (`into`) or exit ops, by short name.
    fn names_to_ids(&mut self, names: &[String], what: &str, into: bool) -> Vec<OpId> {
        let mut ids = Vec::with_capacity(names.len());
        let mut seen = FxHashSet::default();
        for name in names {
            let scope = &self.scopes[0];
            match if into { scope.into.get(name.as_str()) } else { scope.from.get(name.as_str()) } {
                Some(&id) if seen.insert(id) => ids.push(id),
                Some(_) => {}
                None => self.problem(
                    Problem::new("unknown_op", format!("{what} op '{name}' is not in graph '{}'", self.doc.name))
                        .target(name),
                ),
            }
        }
        ids
    }
}
