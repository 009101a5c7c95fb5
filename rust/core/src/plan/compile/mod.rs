//! Compiling a graph document into a [`Plan`], collecting every problem found.
//!
//! This module lays the document tree out flat and assembles the plan; `edges` wires the edges, `ops`
//! compiles each op, `refs` its refs, `scopes` what nested graphs and loops add, `streams` the order and
//! the contexts ops run in; `reach` checks that START reaches every op, `upstream` that every ref reads an op upstream of it.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{OperonError, Problem, Result};
use crate::graph::schema::{GraphDoc, LoopDoc, OpDoc};
use crate::graph::EdgeOrigin;
use crate::plan::types::{Const, Edge, Forward, OpId, OpPlan, Plan, VarId};

mod adjacency;
mod calls;
mod edges;
mod ops;
mod reach;
mod refs;
mod scopes;
mod streams;
mod textops;
mod upstream;

use edges::EdgeLists;

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
/// size compile; every problem found is reported in one [`OperonError::Invalid`].
#[doc = include_str!("../../../doc/plan/compile/compile.md")]
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
            let n = doc.ops.0.len();
            let mut into = FxHashMap::with_capacity_and_hasher(n, Default::default());
            let mut from = FxHashMap::with_capacity_and_hasher(n, Default::default());
            let mut reads = FxHashMap::with_capacity_and_hasher(n, Default::default());
            self.flat.reserve(n);
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
        self.route_nested_forwarding(&mut ops);
        self.loop_bodies(&mut ops);
        if self.scopes[0].loop_doc.is_some() {
            ops[0].inputs = self.root_loop_inputs();
        }
        let EdgeLists { mut out, hard_preds, soft_preds, .. } = self.edges(&ops);
        self.check_adjacency();
        let entries = match self.scopes[0].enter_exit {
            Some((enter, _)) => vec![enter], // a root loop: its entries were wired from its entry op
            None => self.names_to_ids(&doc.entries, "entry", true),
        };
        let exits = self.names_to_ids(&doc.exits, "exit", false);
        self.check_reachable(&out, &entries);
        self.check_entry_and_exit(&ops, &entries, &exits);
        // The edge pass counted predecessors over all edges (for the cycle check); the per-context
        // counts come from the placement, gates excluded.
        let placement = match self.check_cycles(&out, &hard_preds, &soft_preds) {
            Some(order) => {
                self.check_upstream(&out, &order);
                self.streams(&mut ops, &mut out, &order, &entries)
            }
            None => Placement::default(),
        };
        if !self.problems.is_empty() {
            return Err(OperonError::Invalid { graph: doc.name.clone(), problems: self.problems });
        }
        Ok(self.into_plan(ops, out, placement, entries))
    }

    /// A graph with ops needs an entry, and an exit unless a nested graph maps its outputs.
    fn check_entry_and_exit(&mut self, ops: &[OpPlan], entries: &[OpId], exits: &[OpId]) {
        let doc = self.doc;
        if ops.is_empty() {
            return;
        }
        if entries.is_empty() || doc.entries.is_empty() {
            self.problem(Problem::new(
                "no_entry",
                format!("graph '{}' has no entry op: wire one with START >> op", doc.name),
            ));
        }
        let mapped_any = ops.iter().any(|o| matches!(o.forward, Forward::Mapped(_)));
        if exits.is_empty() && !mapped_any {
            self.problem(Problem::new(
                "no_exit",
                format!("graph '{}' has no exit op: wire one with op >> END", doc.name),
            ));
        }
    }

    /// The plan of a document found valid: the edges and gates laid out as CSR lists.
    fn into_plan(self, ops: Vec<OpPlan>, out: Vec<Vec<Edge>>, placement: Placement, entries: Vec<OpId>) -> Plan {
        let doc = self.doc;
        let Placement { counts: initial_counts, soft_counts: soft_preds, signals, gates, runnable } = placement;
        let (gate_offsets, gates) = csr(gates);
        let (gates, soft_gates) = gates.into_iter().unzip();
        let (succ_offsets, succ) = csr(out);
        let mut plan = Plan {
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
            plain_settle: Vec::new(),
        };
        plan.plain_settle = plan.plain_settles();
        plan
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
            let edge = match scope.doc.edge_origin {
                EdgeOrigin::CompiledAdj => "a compiled_adj link",
                _ => "an edge",
            };
            self.problem(
                Problem::new("unknown_op", format!("{edge} names op '{name}', which is not in graph '{graph}'"))
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

/// Per-op lists laid out flat: the items of op `i` are `items[offsets[i]..offsets[i + 1]]`.
fn csr<T>(lists: Vec<Vec<T>>) -> (Vec<u32>, Vec<T>) {
    let mut offsets = Vec::with_capacity(lists.len() + 1);
    let mut items = Vec::new();
    offsets.push(0);
    for list in lists {
        items.extend(list);
        offsets.push(items.len() as u32);
    }
    (offsets, items)
}
