//! Compiling a graph document into a [`Plan`], collecting every problem found.

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;

use super::types::*;
use super::until;

/// A stream policy asked for by a ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Parallel(Option<u32>),
    Collect,
}
use crate::error::{EngineError, Problem, Result};
use crate::graph::schema::{GraphDoc, LoopDoc, OpDoc};
use crate::graph::{RefDoc, TransformKind};

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
        let mut initial_counts = vec![0u32; n];
        let mut gate_lists: Vec<Vec<OpId>> = vec![Vec::new(); n];
        if let Some(order) = self.check_cycles(&out, &hard_preds, &soft_preds) {
            // The edge pass counted soft predecessors over all edges (for the cycle check); the
            // per-context counts start again from zero, gates excluded.
            soft_preds = vec![0; n];
            self.streams(&mut ops, &mut out, &order, &mut initial_counts, &mut soft_preds, &mut gate_lists);
        }

        if !self.problems.is_empty() {
            return Err(EngineError::Invalid { graph: doc.name.clone(), problems: self.problems });
        }
        let mut gate_offsets = Vec::with_capacity(n + 1);
        let mut gates = Vec::new();
        gate_offsets.push(0);
        for g in gate_lists {
            gates.extend(g);
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
            gates,
            entries,
            vars: self.vars,
            consts: self.consts,
            graph_inputs: self.graph_inputs,
            graph_outputs: self.graph_outputs,
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

    /// Ops inside a nested graph forward to the nested graph's end op, never as frames: the nested
    /// graph emits one frame of its own. The ops of a root loop forward to its end and still emit
    /// their frames (tagged with their iteration).
    fn route_nested_forwarding(&mut self, ops: &mut [OpPlan]) {
        for i in 0..ops.len() {
            let scope = self.flat[i].scope;
            let Some((_, exit)) = self.scopes[scope].enter_exit else {
                continue;
            };
            if !ops[i].forward.emits() || matches!(self.flat[i].role, Role::RootEnter | Role::RootExit) {
                continue;
            }
            let forward = if scope == 0 {
                ops[i].forward.clone()
            } else {
                std::mem::replace(&mut ops[i].forward, Forward::Nothing)
            };
            match &mut ops[exit as usize].builtin {
                Builtin::Exit(sources) => sources.push((i as OpId, forward)),
                Builtin::Loop(lp) => lp.sources.push((i as OpId, forward)),
                _ => {}
            }
        }
    }

    /// Lists, on each loop's end op, every op inside the loop (nested graphs included).
    fn loop_bodies(&mut self, ops: &mut [OpPlan]) {
        if self.scopes.iter().all(|s| s.loop_doc.is_none()) {
            return;
        }
        for i in 0..ops.len() {
            if matches!(self.flat[i].role, Role::RootEnter | Role::RootExit) {
                continue;
            }
            let mut scope = Some(self.flat[i].scope);
            while let Some(si) = scope {
                if let (Some(_), Some((_, exit))) = (self.scopes[si].loop_doc, self.scopes[si].enter_exit) {
                    if let Builtin::Loop(lp) = &mut ops[exit as usize].builtin {
                        lp.body.push(i as OpId);
                    }
                }
                scope = self.scopes[si].parent;
            }
        }
    }

    /// The inputs of a root loop's entry: every loop variable, from the run inputs, else its
    /// initial value (the document's input literal), else `None`.
    fn root_loop_inputs(&mut self) -> Vec<InputPlan> {
        let doc = self.doc;
        let mut inputs = Vec::new();
        let mut seen = FxHashSet::default();
        let mut add = |c: &mut Self, name: &str, initial: &Value| {
            let var = c.intern(name);
            if !seen.insert(var) {
                return;
            }
            if c.graph_inputs_seen.insert(var) {
                c.graph_inputs.push(var);
            }
            let read = RefPlan { source: RefSource::Parent, collect: false, var, transforms: Vec::new() };
            let default = Some(c.constant(initial));
            inputs.push(InputPlan { name: name.to_string(), binding: Binding::Ref(read), default });
        };
        for (name, p) in &doc.inputs.0 {
            add(self, name, &p.literal);
        }
        for var in std::mem::take(&mut self.root_loop_reads) {
            let name = self.vars[var as usize].clone();
            add(self, &name, &Value::Null);
        }
        inputs
    }

    /// A loop's stop condition and cap, checked.
    fn loop_plan(&mut self, name: &str, doc: &LoopDoc) -> LoopPlan {
        let until = match &doc.until {
            Value::Null => Until::Never,
            Value::String(text) => match until::parse(text, self) {
                Ok(cond) => {
                    let names = cond.names();
                    Until::Expr { cond, text: text.clone(), names }
                }
                Err(why) => {
                    self.problem(
                        Problem::new(
                            "invalid",
                            format!("loop '{name}' has until {text:?}, which cannot be read: {why}"),
                        )
                        .op(name),
                    );
                    Until::Never
                }
            },
            v if v.get("$host").is_some() => Until::Host(self.constant(v)),
            other => {
                self.problem(
                    Problem::new(
                        "invalid",
                        format!("loop '{name}' has until {other}; use an expression (text), a callable or null"),
                    )
                    .op(name),
                );
                Until::Never
            }
        };
        let max_iterations = match doc.max_iterations.as_u64() {
            Some(m) if (1..=u64::from(u32::MAX)).contains(&m) => m as u32,
            _ => {
                self.problem(
                    Problem::new(
                        "invalid",
                        format!(
                            "loop '{name}' has max_iterations {}; it must be a whole number of at least 1",
                            doc.max_iterations
                        ),
                    )
                    .op(name),
                );
                1
            }
        };
        LoopPlan { until, max_iterations, sources: Vec::new(), body: Vec::new() }
    }

    /// Kahn's algorithm over all edges; ops left with predecessors are on (or behind) a cycle.
    /// Returns a topological order when there is no cycle.
    fn check_cycles(&mut self, out: &[Vec<Edge>], hard: &[u32], soft: &[u32]) -> Option<Vec<usize>> {
        let n = out.len();
        let mut indeg: Vec<u32> = (0..n).map(|i| hard[i] + soft[i]).collect();
        let mut stack: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(u) = stack.pop() {
            order.push(u);
            for e in &out[u] {
                let v = e.dst as usize;
                indeg[v] -= 1;
                if indeg[v] == 0 {
                    stack.push(v);
                }
            }
        }
        if order.len() == n {
            return Some(order);
        }
        {
            let names: Vec<&str> = (0..n).filter(|&i| indeg[i] > 0).map(|i| self.flat[i].full.as_str()).collect();
            let first = (0..n).find(|&i| indeg[i] > 0).map(|i| self.flat[i].name.to_string()).unwrap_or_default();
            self.problem(
                Problem::new(
                    "cycle",
                    format!("graph '{}' has a cycle through ops {}", self.doc.name, names.join(", ")),
                )
                .op(&first),
            );
        }
        None
    }

    /// Decides where every op runs: the depth of its contexts (one level below each generator whose
    /// items reach it, and below each collect), the kind of each edge, and the per-op counts. Edges
    /// from an outer level become gates. Every op's same-level predecessors must share one stream.
    fn streams(
        &mut self,
        ops: &mut [OpPlan],
        out: &mut [Vec<Edge>],
        order: &[usize],
        counts: &mut [u32],
        soft_counts: &mut [u32],
        gates: &mut [Vec<OpId>],
    ) {
        let n = ops.len();
        let mut inn: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        for (u, edges) in out.iter().enumerate() {
            for (k, e) in edges.iter().enumerate() {
                inn[e.dst as usize].push((u, k));
            }
        }
        // The stream an op's same-level work comes from: (kind, op); (0, MAX) is the root.
        let mut key: Vec<(u8, OpId)> = vec![(0, OpId::MAX); n];
        for &v in order {
            let mut best: Option<(u16, (u8, OpId))> = None;
            let mut cands = Vec::with_capacity(inn[v].len());
            for &(u, k) in &inn[v] {
                let policy = self.edge_policy(u, v);
                let (kind, depth, k_key) = if ops[u].kind == OpKind::LoopEnter && v == u + 1 {
                    (EdgeKind::Loop, ops[u].depth, key[u])
                } else if policy == Some(Policy::Collect) {
                    (EdgeKind::Collect, ops[u].depth + 1, (2, u as OpId))
                } else if ops[u].opens_contexts() {
                    (EdgeKind::Item, ops[u].depth + 1, (1, u as OpId))
                } else {
                    (EdgeKind::Same, ops[u].depth, key[u])
                };
                cands.push((u, k, kind, depth, k_key, policy));
                if best.is_none_or(|(d, _)| depth > d) {
                    best = Some((depth, k_key));
                }
            }
            let (depth, vkey) = best.unwrap_or((0, (0, OpId::MAX)));
            ops[v].depth = depth;
            key[v] = vkey;
            let mut cap = Some(1);
            let mut parallel = false;
            for (u, k, kind, d, k_key, policy) in cands {
                let e = &mut out[u][k];
                if d < depth {
                    e.kind = EdgeKind::Gate;
                    gates[v].push(u as OpId);
                    continue;
                }
                if k_key != vkey {
                    let (a, b) = (self.flat[u].name.to_string(), self.flat[v].name.to_string());
                    self.problem(
                        Problem::new(
                            "stream",
                            format!("op '{b}' receives items of two different streams (one through '{a}'); collect one of them with .collect()"),
                        )
                        .op(&b)
                        .target(&a),
                    );
                }
                e.kind = kind;
                if kind == EdgeKind::Loop {
                    continue; // orders the loop's entry and end, counts nothing
                }
                if e.soft {
                    soft_counts[v] += 1;
                } else {
                    counts[v] += 1;
                }
                if let Some(Policy::Parallel(max)) = policy {
                    parallel = true;
                    cap = max;
                }
            }
            if soft_counts[v] > 0 {
                counts[v] += 1;
            }
            ops[v].item_cap = if depth == 0 {
                None
            } else if parallel {
                cap
            } else {
                Some(1)
            };
        }
    }

    /// The stream policy that op `v`'s inputs ask for on the edge from op `u`.
    fn edge_policy(&self, u: usize, v: usize) -> Option<Policy> {
        let src = &self.flat[u].full;
        let inputs = match self.flat[v].role {
            Role::Op(doc) | Role::Enter(doc) => &doc.inputs.0,
            Role::Exit(_) | Role::RootEnter | Role::RootExit => return None,
        };
        inputs.iter().find_map(|(_, p)| {
            let r = p.reference.as_ref().filter(|r| &r.source == src)?;
            match r.policy.as_deref() {
                Some("collect") => Some(Policy::Collect),
                Some("parallel") => Some(Policy::Parallel(r.max.filter(|m| *m > 0))),
                _ => None,
            }
        })
    }

    fn intern(&mut self, name: &str) -> VarId {
        if let Some(&id) = self.var_ids.get(name) {
            return id;
        }
        let id = self.vars.len() as VarId;
        self.vars.push(name.to_string());
        self.var_ids.insert(name.to_string(), id);
        id
    }

    fn constant(&mut self, v: &Value) -> ConstId {
        let c = match v.as_object().and_then(|o| o.get("$host")).and_then(Value::as_u64) {
            Some(i) => Const::Host(i as u32),
            None => Const::Json(v.clone()),
        };
        self.consts.push(c);
        (self.consts.len() - 1) as ConstId
    }

    fn op(&mut self, id: usize) -> OpPlan {
        let (name, full_name, scope, role) = {
            let f = &self.flat[id];
            (f.name, f.full.clone(), f.scope, f.role)
        };
        let op = match role {
            Role::Op(op) | Role::Enter(op) | Role::Exit(op) => op,
            Role::RootEnter | Role::RootExit => return self.root_loop_op(id),
        };
        let kind = match role {
            Role::Enter(op) if op.loop_config.is_some() => OpKind::LoopEnter,
            Role::Exit(op) if op.loop_config.is_some() => OpKind::LoopExit,
            Role::Enter(_) => OpKind::GraphEnter,
            Role::Exit(_) => OpKind::GraphExit,
            Role::Op(op) => self.op_kind(name, op),
            Role::RootEnter => OpKind::LoopEnter,
            Role::RootExit => OpKind::LoopExit,
        };
        let mut inputs = Vec::new();
        if !matches!(role, Role::Exit(_)) {
            for (pname, p) in &op.inputs.0 {
                let binding = match (&p.reference, &p.literal) {
                    (Some(r), _) => match self.reference(scope, name, r) {
                        Some(r) => Binding::Ref(r),
                        None => Binding::Unbound,
                    },
                    (None, Value::Null) => Binding::Unbound,
                    (None, lit) => Binding::Literal(self.constant(lit)),
                };
                let default = if p.required { None } else { Some(self.constant(&p.default)) };
                inputs.push(InputPlan { name: pname.clone(), binding, default });
            }
        }
        let forward = if matches!(role, Role::Enter(_)) { Forward::Nothing } else { self.forward(scope, name, op) };
        let builtin = match role {
            Role::Exit(op) => match &op.loop_config {
                Some(lp) => Builtin::Loop(self.loop_plan(name, lp)),
                None => Builtin::Exit(Vec::new()),
            },
            Role::Op(op) if kind == OpKind::Branch => self.branch(scope, id, name, op),
            _ => Builtin::None,
        };
        let callable = if kind.is_builtin() { None } else { op.callable.as_ref().map(|c| self.constant(c)) };
        OpPlan {
            name: name.to_string(),
            full_name,
            func_name: op.func_name.clone().unwrap_or_else(|| name.to_string()),
            kind,
            enabled: op.enabled,
            inputs,
            forward,
            callable,
            depth: 0,
            item_cap: None,
            builtin,
        }
    }

    /// The entry or end op of a root loop (the entry's inputs are set once the body is compiled).
    fn root_loop_op(&mut self, id: usize) -> OpPlan {
        let doc = self.doc;
        let enter = matches!(self.flat[id].role, Role::RootEnter);
        let builtin = match (&doc.loop_config, enter) {
            (Some(lp), false) => Builtin::Loop(self.loop_plan(&doc.name, lp)),
            _ => Builtin::None,
        };
        OpPlan {
            name: doc.name.clone(),
            full_name: self.graph_full.clone(),
            func_name: doc.name.clone(),
            kind: if enter { OpKind::LoopEnter } else { OpKind::LoopExit },
            enabled: true,
            inputs: Vec::new(),
            forward: Forward::Nothing,
            callable: None,
            depth: 0,
            item_cap: None,
            builtin,
        }
    }

    fn op_kind(&mut self, name: &str, op: &OpDoc) -> OpKind {
        match op.kind.as_str() {
            "code" => {}
            "branch" => return OpKind::Branch,
            other => {
                self.problem(
                    Problem::new(
                        "unsupported",
                        format!("op '{name}' has type '{other}', which this engine does not run yet"),
                    )
                    .op(name),
                );
            }
        }
        match (op.bound.as_deref(), op.is_async, op.is_generator) {
            (_, true, true) => OpKind::AsyncGen,
            (_, false, true) => OpKind::SyncGen,
            (_, true, false) => OpKind::Async,
            (Some("cpu"), false, false) => OpKind::Cpu,
            (None | Some("sync") | Some("io"), false, false) => OpKind::Sync,
            (Some(other), _, _) => {
                self.problem(
                    Problem::new("invalid", format!("op '{name}' has bound '{other}'; use sync, io or cpu")).op(name),
                );
                OpKind::Sync
            }
        }
    }

    /// Which outputs of an op its graph forwards (for the root graph: frames and run outputs).
    fn forward(&mut self, scope: usize, name: &str, op: &OpDoc) -> Forward {
        let scope_full = self.scopes[scope].full.clone();
        let root = scope == 0;
        let mut mapped = Vec::new();
        for (oname, p) in &op.outputs.0 {
            if let Some(r) = &p.reference {
                if r.source != scope_full {
                    self.problem(
                        Problem::new(
                            "unknown_ref",
                            format!(
                                "output '{oname}' of op '{name}' is mapped to '{}', which is not graph '{scope_full}'",
                                r.source
                            ),
                        )
                        .op(name)
                        .target(&r.source),
                    );
                    continue;
                }
                let from = self.intern(oname);
                let to = self.intern(&r.var);
                if root && self.graph_outputs_seen.insert(to) {
                    self.graph_outputs.push(to);
                }
                mapped.push((from, to));
            }
        }
        let is_exit = || self.scopes[scope].doc.exits.iter().any(|e| e == name);
        if !mapped.is_empty() {
            Forward::Mapped(mapped)
        } else if op.forward_all.unwrap_or_else(is_exit) {
            if root {
                for k in op.outputs.keys() {
                    let v = self.intern(k);
                    if self.graph_outputs_seen.insert(v) {
                        self.graph_outputs.push(v);
                    }
                }
            }
            Forward::All
        } else {
            Forward::Nothing
        }
    }

    /// A branch's cases: conditions resolved in its graph (a condition reading the branch's own full
    /// name reads the branch's inputs), targets by name.
    fn branch(&mut self, scope: usize, id: usize, name: &str, op: &OpDoc) -> Builtin {
        let mut cases = Vec::with_capacity(op.cases.len());
        let mut candidates = Vec::new();
        let target_of = |c: &mut Self, target: &str| -> Option<OpId> {
            let t = c.scopes[scope].into.get(target).copied();
            if t.is_none() {
                let graph = c.scopes[scope].full.clone();
                c.problem(
                    Problem::new(
                        "unknown_op",
                        format!("branch '{name}' targets '{target}', which is not an op of graph '{graph}'"),
                    )
                    .op(name)
                    .target(target),
                );
            }
            t
        };
        for case in &op.cases {
            let condition = self.reference_or_self(scope, id, name, &case.condition);
            let target = target_of(self, &case.target);
            if let (Some(condition), Some(target)) = (condition, target) {
                if !candidates.contains(&target) {
                    candidates.push(target);
                }
                let text = case.text.clone().unwrap_or_else(|| format!("case {}", cases.len()));
                cases.push(CasePlan { condition, target, text });
            }
        }
        let default = op.default_target.as_deref().and_then(|t| target_of(self, t));
        if let Some(d) = default {
            if !candidates.contains(&d) {
                candidates.push(d);
            }
        }
        Builtin::Branch { cases, default, candidates }
    }

    /// A ref of a branch condition: its own full name means its inputs.
    fn reference_or_self(&mut self, scope: usize, id: usize, name: &str, r: &RefDoc) -> Option<RefPlan> {
        if r.source == self.flat[id].full {
            let mut plan =
                self.reference(scope, name, &RefDoc { source: self.scopes[scope].full.clone(), ..r.clone() })?;
            plan.source = RefSource::Op(id as OpId);
            return Some(plan);
        }
        self.reference(scope, name, r)
    }

    fn reference(&mut self, scope: usize, op: &str, r: &RefDoc) -> Option<RefPlan> {
        let scope_full = &self.scopes[scope].full;
        let source = if &r.source == scope_full {
            match self.scopes[scope].enter_exit {
                Some((enter, _)) => {
                    if scope == 0 {
                        let v = self.intern(&r.var);
                        if !self.root_loop_reads.contains(&v) {
                            self.root_loop_reads.push(v);
                        }
                    }
                    RefSource::Op(enter)
                }
                None => {
                    let v = self.intern(&r.var);
                    if self.graph_inputs_seen.insert(v) {
                        self.graph_inputs.push(v);
                    }
                    RefSource::Parent
                }
            }
        } else if let Some(&id) = self.scopes[scope].reads.get(&r.source) {
            RefSource::Op(id)
        } else {
            let outside = self.flat.iter().any(|f| f.full == r.source);
            let message = if outside {
                format!(
                    "op '{op}' of graph '{scope_full}' reads '{}' from op '{}', which is outside that graph; \
                     pass the value in through the nested graph's inputs and read it with PARENT",
                    r.var, r.source
                )
            } else {
                format!(
                    "op '{op}' reads '{}' from '{}', which is neither graph '{scope_full}' nor one of its ops",
                    r.var, r.source
                )
            };
            self.problem(Problem::new("unknown_ref", message).op(op).target(&r.source));
            return None;
        };
        let var = self.intern(&r.var);
        let mut transforms = Vec::with_capacity(r.transforms.len());
        for (kind_name, args) in &r.transforms {
            let Some(kind) = TransformKind::parse(kind_name) else {
                self.problem(Problem::new("invalid", format!("op '{op}' uses unknown transform '{kind_name}'")).op(op));
                continue;
            };
            let (args, kwargs) = if kind == TransformKind::Call {
                let pos = args.first().and_then(Value::as_array).cloned().unwrap_or_default();
                let kw = args.get(1).and_then(Value::as_object).cloned().unwrap_or_default();
                let pos = pos.iter().filter_map(|a| self.operand(scope, op, a)).collect();
                let kw = kw.iter().filter_map(|(k, a)| Some((k.clone(), self.operand(scope, op, a)?))).collect();
                (pos, kw)
            } else {
                (args.iter().filter_map(|a| self.operand(scope, op, a)).collect(), Vec::new())
            };
            transforms.push(TransformPlan { kind, args, kwargs });
        }
        let collect = r.policy.as_deref() == Some("collect");
        Some(RefPlan { source, collect, var, transforms })
    }

    fn operand(&mut self, scope: usize, op: &str, v: &Value) -> Option<Operand> {
        match v.as_object().and_then(|o| o.get("__ref__")) {
            Some(inner) => match serde_json::from_value::<RefDoc>(inner.clone()) {
                Ok(r) => self.reference(scope, op, &r).map(|r| Operand::Ref(Box::new(r))),
                Err(e) => {
                    self.problem(
                        Problem::new("invalid", format!("op '{op}' has a malformed ref argument: {e}")).op(op),
                    );
                    None
                }
            },
            None => Some(Operand::Const(self.constant(v))),
        }
    }
}

impl until::Sink for Compiler<'_> {
    fn var(&mut self, name: &str) -> VarId {
        self.intern(name)
    }

    fn constant(&mut self, value: Value) -> ConstId {
        self.consts.push(Const::Json(value));
        (self.consts.len() - 1) as ConstId
    }
}
