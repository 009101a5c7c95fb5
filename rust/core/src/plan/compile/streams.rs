//! The order of the plan and where every op runs: the cycle check, then the depth of each op's contexts
//! (below generators, collects and loop iterations) and the kind of each edge.

use super::{Compiler, Placement, Policy, Role};
use crate::error::Problem;
use crate::plan::types::{Builtin, Edge, EdgeKind, OpId, OpKind, OpPlan};

impl<'d> Compiler<'d> {
    /// Kahn's algorithm over all edges; ops left with predecessors are on (or behind) a cycle.
    /// Returns a topological order when there is no cycle.
    pub(super) fn check_cycles(&mut self, out: &[Vec<Edge>], hard: &[u32], soft: &[u32]) -> Option<Vec<usize>> {
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
    /// items reach it, below each collect, and below each loop's entry), the kind of each edge, and the
    /// per-op counts. Edges from an outer level become gates. Every op's same-level predecessors must
    /// share one stream.
    ///
    /// An op runs only if an entry reaches it, each of its hard predecessors (gates included) can run,
    /// and one of its soft predecessors, if it has any, can. One that cannot run places nothing, is
    /// never signalled, and counts in no successor's predecessors: a soft group is made of the members
    /// that can run, and a nested graph ends once the inner ops that can run have settled. (A hard
    /// edge from it never lets its successor run, which then cannot run either.)
    pub(super) fn streams(
        &mut self,
        ops: &mut [OpPlan],
        out: &mut [Vec<Edge>],
        order: &[usize],
        entries: &[OpId],
    ) -> Placement {
        let n = ops.len();
        let mut placement = Placement {
            counts: vec![0; n],
            soft_counts: vec![0; n],
            signals: vec![0; n],
            gates: vec![Vec::new(); n],
            runnable: vec![false; n],
        };
        let inn = incoming(out);
        let mut is_entry = vec![false; n];
        for &e in entries {
            is_entry[e as usize] = true;
        }
        let mut key: Vec<StreamKey> = vec![ROOT_STREAM; n];
        for &v in order {
            let runs = &mut placement.runnable;
            runs[v] = if inn[v].is_empty() { is_entry[v] } else { can_run(ops, out, &inn[v], runs, v) };
            let cands = self.candidates(ops, out, &inn[v], runs, &key, v);
            let (depth, vkey) = deepest(&cands);
            ops[v].depth = depth;
            key[v] = vkey;
            ops[v].item_cap = self.place_edges(v, depth, vkey, cands, out, &mut placement);
        }
        placement
    }

    /// What each edge into `v` from an op that can run would make of it: its kind, the depth and the
    /// stream it puts `v` in, and the policy `v` asks for on it.
    fn candidates(
        &self,
        ops: &[OpPlan],
        out: &[Vec<Edge>],
        inn: &[(usize, usize)],
        runs: &[bool],
        key: &[StreamKey],
        v: usize,
    ) -> Vec<Candidate> {
        let mut cands = Vec::with_capacity(inn.len());
        for &(u, k) in inn {
            if !runs[u] {
                continue; // never signals: places and counts nothing
            }
            let policy = self.edge_policy(u, v).or_else(|| self.exit_policy(ops, out, u, v));
            let (kind, depth, key) = if ops[u].kind == OpKind::LoopEnter && v == u + 1 {
                (EdgeKind::Loop, ops[u].depth, key[u])
            } else if policy == Some(Policy::Collect) {
                (EdgeKind::Collect, ops[u].depth + 1, (2, u as OpId))
            } else if ops[u].opens_contexts() {
                (EdgeKind::Item, ops[u].depth + 1, (1, u as OpId))
            } else {
                (EdgeKind::Same, ops[u].depth, key[u])
            };
            cands.push(Candidate { u, k, kind, depth, key, policy });
        }
        cands
    }

    /// Sets the kind of each edge into `v` and counts it in `v`'s placement: an edge from a shallower
    /// level becomes a gate, one from another stream than `v`'s is a problem. Returns `v`'s item cap.
    fn place_edges(
        &mut self,
        v: usize,
        depth: u16,
        vkey: StreamKey,
        cands: Vec<Candidate>,
        out: &mut [Vec<Edge>],
        placement: &mut Placement,
    ) -> Option<u32> {
        let mut cap = Some(1);
        let mut parallel = false;
        for Candidate { u, k, kind, depth: d, key, policy } in cands {
            let e = &mut out[u][k];
            if d < depth {
                e.kind = EdgeKind::Gate;
                placement.gates[v].push((u as OpId, e.soft));
                continue;
            }
            if key != vkey {
                self.two_streams(u, v);
            }
            e.kind = kind;
            if kind == EdgeKind::Loop {
                continue; // orders the loop's entry and end, counts nothing
            }
            placement.signals[v] += 1;
            if e.soft {
                placement.soft_counts[v] += 1;
            } else {
                placement.counts[v] += 1;
            }
            if let Some(Policy::Parallel(max)) = policy {
                parallel = true;
                cap = max;
            }
        }
        if placement.soft_counts[v] > 0 {
            placement.counts[v] += 1;
        }
        if depth == 0 {
            None
        } else if parallel {
            cap
        } else {
            Some(1)
        }
    }

    /// Reports that op `v` receives items of another stream through `u` than through its other edges.
    fn two_streams(&mut self, u: usize, v: usize) {
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

    /// The policy of the edge from a generator `u` of a nested graph to the graph's end `v`, which only
    /// makes the end wait for it: when `u` forwards nothing and every other op it feeds collects its
    /// items, the end waits for it like them, once after its last item (else it runs once per item).
    fn exit_policy(&self, ops: &[OpPlan], out: &[Vec<Edge>], u: usize, v: usize) -> Option<Policy> {
        if ops[v].kind != OpKind::GraphExit || !ops[u].is_gen() {
            return None;
        }
        let forwards = matches!(&ops[v].builtin, Builtin::Exit(sources) if sources.iter().any(|s| s.0 as usize == u));
        let mut others = out[u].iter().map(|e| e.dst as usize).filter(|&w| w != v).peekable();
        let collected = others.peek().is_some() && others.all(|w| self.edge_policy(u, w) == Some(Policy::Collect));
        (collected && !forwards).then_some(Policy::Collect)
    }

    /// The stream policy that op `v`'s inputs ask for on the edge from op `u`.
    pub(super) fn edge_policy(&self, u: usize, v: usize) -> Option<Policy> {
        let src = &self.flat[u].full;
        let inputs = match self.flat[v].role {
            Role::Op(doc) | Role::Enter(doc) => &doc.inputs.0,
            Role::Exit(_) | Role::RootEnter | Role::RootExit => return None,
        };
        for (_, p) in inputs {
            for r in p.reference.iter().chain(&p.refs) {
                if &r.source != src {
                    continue;
                }
                match r.policy.as_deref() {
                    Some("collect") => return Some(Policy::Collect),
                    Some("parallel") => return Some(Policy::Parallel(r.max.filter(|m| *m > 0))),
                    _ => {}
                }
            }
        }
        None
    }
}

/// The stream an op's same-level work comes from: (kind, op), where kind is 1 for a generator's items
/// and 2 for a collect.
type StreamKey = (u8, OpId);

/// The stream of the root context.
const ROOT_STREAM: StreamKey = (0, OpId::MAX);

/// An edge `out[u][k]` into an op, from an op that can run, with what it makes of the op.
struct Candidate {
    u: usize,
    k: usize,
    kind: EdgeKind,
    /// The depth the edge puts the op at.
    depth: u16,
    /// The stream the edge puts the op in.
    key: StreamKey,
    policy: Option<Policy>,
}

/// Per op: its incoming edges, as `(u, k)` for the edge `out[u][k]`.
fn incoming(out: &[Vec<Edge>]) -> Vec<Vec<(usize, usize)>> {
    let mut inn = vec![Vec::new(); out.len()];
    for (u, edges) in out.iter().enumerate() {
        for (k, e) in edges.iter().enumerate() {
            inn[e.dst as usize].push((u, k));
        }
    }
    inn
}

/// Whether op `v`, which has predecessors, can run: each hard one can, and one soft one if it has any.
/// A nested graph's end needs only its own entry (the inner ops that cannot run are not waited for).
fn can_run(ops: &[OpPlan], out: &[Vec<Edge>], inn: &[(usize, usize)], runs: &[bool], v: usize) -> bool {
    let end = ops[v].kind == OpKind::GraphExit;
    let (mut hard_ok, mut soft_any, mut soft_ok) = (true, false, false);
    for &(u, k) in inn {
        if out[u][k].soft {
            soft_any = true;
            soft_ok |= runs[u];
        } else if !end || u + 1 == v {
            hard_ok &= runs[u];
        }
    }
    hard_ok && (!soft_any || soft_ok)
}

/// The depth and stream of the deepest candidate (the first of them), or the root's.
fn deepest(cands: &[Candidate]) -> (u16, StreamKey) {
    let mut best: Option<(u16, StreamKey)> = None;
    for c in cands {
        if best.is_none_or(|(d, _)| c.depth > d) {
            best = Some((c.depth, c.key));
        }
    }
    best.unwrap_or((0, ROOT_STREAM))
}
