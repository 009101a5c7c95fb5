//! Compiling a graph document into a [`Plan`], collecting every problem found.

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;

use super::types::*;

/// A stream policy asked for by a ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Parallel(Option<u32>),
    Collect,
}
use crate::error::{EngineError, Problem, Result};
use crate::graph::schema::{GraphDoc, OpDoc};
use crate::graph::{RefDoc, TransformKind};

/// Compiles a parsed document. Validation is iterative (no recursion over the graph), so graphs of any
/// size compile; every problem found is reported in one [`EngineError::Invalid`].
pub fn compile(doc: &GraphDoc) -> Result<Plan> {
    Compiler::new(doc).run()
}

struct Compiler<'d> {
    doc: &'d GraphDoc,
    graph_full: String,
    problems: Vec<Problem>,
    ids: FxHashMap<&'d str, OpId>,
    full_ids: FxHashMap<String, OpId>,
    vars: Vec<String>,
    var_ids: FxHashMap<String, VarId>,
    consts: Vec<Const>,
    graph_inputs: Vec<VarId>,
    graph_outputs: Vec<VarId>,
    // Lookup sets, so that graphs with many ops, exits or graph variables compile in linear time.
    exit_names: FxHashSet<&'d str>,
    graph_inputs_seen: FxHashSet<VarId>,
    graph_outputs_seen: FxHashSet<VarId>,
}

impl<'d> Compiler<'d> {
    fn new(doc: &'d GraphDoc) -> Self {
        let graph_full = doc.full_name().to_string();
        let mut ids = FxHashMap::default();
        let mut full_ids = FxHashMap::default();
        for (i, (name, op)) in doc.ops.0.iter().enumerate() {
            ids.insert(name.as_str(), i as OpId);
            full_ids.insert(op_full_name(&graph_full, name, op), i as OpId);
        }
        Compiler {
            doc,
            graph_full,
            problems: Vec::new(),
            ids,
            full_ids,
            vars: Vec::new(),
            var_ids: FxHashMap::default(),
            consts: Vec::new(),
            graph_inputs: Vec::new(),
            graph_outputs: Vec::new(),
            exit_names: doc.exits.iter().map(String::as_str).collect(),
            graph_inputs_seen: FxHashSet::default(),
            graph_outputs_seen: FxHashSet::default(),
        }
    }

    fn run(mut self) -> Result<Plan> {
        let doc = self.doc;
        if doc.ops.0.is_empty() {
            self.problem(Problem::new("empty", format!("graph '{}' has no ops", doc.name)));
        }
        let ops: Vec<OpPlan> = doc.ops.0.iter().map(|(name, op)| self.op(name, op)).collect();
        let n = ops.len();

        // Edges: successor lists in declaration order, counts of hard and soft predecessors.
        let mut out: Vec<Vec<Edge>> = vec![Vec::new(); n];
        let mut hard_preds = vec![0u32; n];
        let mut soft_preds = vec![0u32; n];
        let mut seen_edges = FxHashSet::default();
        for e in &doc.edges {
            let (Some(from), Some(to)) = (self.lookup_edge_end(&e.from, &e.to), self.lookup_edge_end(&e.to, &e.from))
            else {
                continue;
            };
            if !seen_edges.insert((from, to, e.soft)) {
                continue; // a repeated edge changes nothing
            }
            out[from as usize].push(Edge { dst: to, soft: e.soft, kind: EdgeKind::Same });
            if e.soft {
                soft_preds[to as usize] += 1;
            } else {
                hard_preds[to as usize] += 1;
            }
        }
        let entries = self.names_to_ids(&doc.entries, "entry");
        let exits = self.names_to_ids(&doc.exits, "exit");
        if n > 0 && entries.is_empty() {
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
        let mut ops = ops;
        let mut initial_counts = vec![0u32; n];
        let mut gate_lists: Vec<Vec<OpId>> = vec![Vec::new(); n];
        if let Some(order) = self.check_cycles(&out, &hard_preds, &soft_preds) {
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

    fn lookup_edge_end(&mut self, name: &str, other: &str) -> Option<OpId> {
        let id = self.ids.get(name).copied();
        if id.is_none() {
            self.problem(
                Problem::new("unknown_op", format!("an edge names op '{name}', which is not in graph '{}'", self.doc.name))
                    .op(other)
                    .target(name),
            );
        }
        id
    }

    fn names_to_ids(&mut self, names: &[String], what: &str) -> Vec<OpId> {
        let mut ids = Vec::with_capacity(names.len());
        let mut seen = FxHashSet::default();
        for name in names {
            match self.ids.get(name.as_str()) {
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
            let names: Vec<&str> =
                (0..n).filter(|&i| indeg[i] > 0).map(|i| self.doc.ops.0[i].0.as_str()).collect();
            let first = names[0].to_string();
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
                let (kind, depth, k_key) = if policy == Some(Policy::Collect) {
                    (EdgeKind::Collect, ops[u].depth + 1, (2, u as OpId))
                } else if ops[u].is_gen() {
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
                    let (a, b) = (self.doc.ops.0[u].0.clone(), self.doc.ops.0[v].0.clone());
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
            ops[v].item_cap = if depth == 0 { None } else if parallel { cap } else { Some(1) };
        }
    }

    /// The stream policy that op `v`'s inputs ask for on the edge from op `u`.
    fn edge_policy(&self, u: usize, v: usize) -> Option<Policy> {
        let src = op_full_name(&self.graph_full, &self.doc.ops.0[u].0, &self.doc.ops.0[u].1);
        self.doc.ops.0[v].1.inputs.0.iter().find_map(|(_, p)| {
            let r = p.reference.as_ref().filter(|r| r.source == src)?;
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

    fn op(&mut self, name: &str, op: &OpDoc) -> OpPlan {
        let full_name = op_full_name(&self.graph_full, name, op);
        if op.kind != "code" {
            self.problem(
                Problem::new("unsupported", format!("op '{name}' has type '{}', which this engine does not run yet", op.kind))
                    .op(name),
            );
        }
        let kind = match (op.bound.as_deref(), op.is_async, op.is_generator) {
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
        };
        let mut inputs = Vec::with_capacity(op.inputs.0.len());
        for (pname, p) in &op.inputs.0 {
            let binding = match (&p.reference, &p.literal) {
                (Some(r), _) => match self.reference(name, r) {
                    Some(r) => Binding::Ref(r),
                    None => Binding::Unbound,
                },
                (None, Value::Null) => Binding::Unbound,
                (None, lit) => Binding::Literal(self.constant(lit)),
            };
            let default = if p.required { None } else { Some(self.constant(&p.default)) };
            inputs.push(InputPlan { name: pname.clone(), binding, default });
        }
        let mut mapped = Vec::new();
        for (oname, p) in &op.outputs.0 {
            if let Some(r) = &p.reference {
                if r.source != self.graph_full {
                    self.problem(
                        Problem::new(
                            "unknown_ref",
                            format!("output '{oname}' of op '{name}' is mapped to '{}', which is not graph '{}'", r.source, self.graph_full),
                        )
                        .op(name)
                        .target(&r.source),
                    );
                    continue;
                }
                let from = self.intern(oname);
                let to = self.intern(&r.var);
                if self.graph_outputs_seen.insert(to) {
                    self.graph_outputs.push(to);
                }
                mapped.push((from, to));
            }
        }
        let forward = if !mapped.is_empty() {
            Forward::Mapped(mapped)
        } else if op.forward_all.unwrap_or_else(|| self.exit_names.contains(name)) {
            for k in op.outputs.keys() {
                let v = self.intern(k);
                if self.graph_outputs_seen.insert(v) {
                    self.graph_outputs.push(v);
                }
            }
            Forward::All
        } else {
            Forward::Nothing
        };
        let callable = op.callable.as_ref().map(|c| self.constant(c));
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
        }
    }

    fn reference(&mut self, op: &str, r: &RefDoc) -> Option<RefPlan> {
        let source = if r.source == self.graph_full {
            let v = self.intern(&r.var);
            if self.graph_inputs_seen.insert(v) {
                self.graph_inputs.push(v);
            }
            RefSource::Parent
        } else if let Some(&id) = self.full_ids.get(&r.source) {
            RefSource::Op(id)
        } else {
            self.problem(
                Problem::new(
                    "unknown_ref",
                    format!(
                        "op '{op}' reads '{}' from '{}', which is neither graph '{}' nor one of its ops",
                        r.var, r.source, self.graph_full
                    ),
                )
                .op(op)
                .target(&r.source),
            );
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
                let pos = pos.iter().filter_map(|a| self.operand(op, a)).collect();
                let kw = kw.iter().filter_map(|(k, a)| Some((k.clone(), self.operand(op, a)?))).collect();
                (pos, kw)
            } else {
                (args.iter().filter_map(|a| self.operand(op, a)).collect(), Vec::new())
            };
            transforms.push(TransformPlan { kind, args, kwargs });
        }
        let collect = r.policy.as_deref() == Some("collect");
        Some(RefPlan { source, collect, var, transforms })
    }

    fn operand(&mut self, op: &str, v: &Value) -> Option<Operand> {
        match v.as_object().and_then(|o| o.get("__ref__")) {
            Some(inner) => match serde_json::from_value::<RefDoc>(inner.clone()) {
                Ok(r) => self.reference(op, &r).map(|r| Operand::Ref(Box::new(r))),
                Err(e) => {
                    self.problem(Problem::new("invalid", format!("op '{op}' has a malformed ref argument: {e}")).op(op));
                    None
                }
            },
            None => Some(Operand::Const(self.constant(v))),
        }
    }
}

fn op_full_name(graph_full: &str, name: &str, op: &OpDoc) -> String {
    op.full_name.clone().unwrap_or_else(|| format!("{graph_full}.{name}"))
}
