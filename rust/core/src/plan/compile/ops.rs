//! Compiling one op of the flat plan: its kind, inputs, forwarding and what a built-in op does.

use serde_json::Value;

use super::{Compiler, Role};
use crate::error::Problem;
use crate::graph::schema::{OpDoc, ParamDoc};
use crate::graph::PARENT;
use crate::plan::types::{Binding, Builtin, CasePlan, Forward, InputPlan, OpId, OpKind, OpPlan};

impl<'d> Compiler<'d> {
    pub(super) fn op(&mut self, id: usize) -> OpPlan {
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
                let binding = self.binding(scope, id, name, pname, p);
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
            Role::Op(op) if kind == OpKind::Transform => self.textop(name, op),
            _ => Builtin::None,
        };
        let forward = if kind == OpKind::Transform { self.parser_forward(&builtin, forward) } else { forward };
        let callable = if kind.is_builtin() { None } else { op.callable.as_ref().map(|c| self.constant(c)) };
        let calls = match role {
            Role::Op(op) | Role::Enter(op) => self.calls(name, op, kind),
            _ => None,
        };
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
            calls,
        }
    }

    /// What input `pname` of op `name` is bound to: a ref, several (`refs`, any of them), a literal
    /// or nothing.
    fn binding(&mut self, scope: usize, id: usize, name: &str, pname: &str, p: &ParamDoc) -> Binding {
        if !p.refs.is_empty() {
            if p.reference.is_some() || !p.literal.is_null() {
                self.problem(
                    Problem::new(
                        "invalid",
                        format!("input '{pname}' of op '{name}' has `refs` and also a `ref` or a `literal`"),
                    )
                    .op(name),
                );
            }
            let refs: Vec<_> = p.refs.iter().filter_map(|r| self.reference(scope, id, r)).collect();
            return if refs.is_empty() { Binding::Unbound } else { Binding::AnyOf(refs) };
        }
        match (&p.reference, &p.literal) {
            (Some(r), _) => match self.reference(scope, id, r) {
                Some(r) => Binding::Ref(r),
                None => Binding::Unbound,
            },
            (None, Value::Null) => Binding::Unbound,
            (None, lit) => Binding::Literal(self.constant(lit)),
        }
    }

    /// The entry or end op of a root loop (the entry's inputs are set once the body is compiled).
    pub(super) fn root_loop_op(&mut self, id: usize) -> OpPlan {
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
            calls: None,
        }
    }

    pub(super) fn op_kind(&mut self, name: &str, op: &OpDoc) -> OpKind {
        match op.kind.as_str() {
            "code" => {}
            "branch" => return OpKind::Branch,
            "parser" | "prompt" => return OpKind::Transform,
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
        // a call that runs on an executor is, to the driver, an awaitable the executor returns
        let external = op.executor.is_some() || op.bound.as_deref() == Some("process");
        match (op.bound.as_deref(), op.is_async, op.is_generator) {
            (_, _, true) if external => OpKind::AsyncGen,
            _ if external => OpKind::Async,
            (_, true, true) => OpKind::AsyncGen,
            (_, false, true) => OpKind::SyncGen,
            (_, true, false) => OpKind::Async,
            (Some("cpu"), false, false) => OpKind::Cpu,
            (None | Some("sync") | Some("io"), false, false) => OpKind::Sync,
            (Some(other), _, _) => {
                self.problem(
                    Problem::new("invalid", format!("op '{name}' has bound '{other}'; use sync, io, cpu or process")).op(name),
                );
                OpKind::Sync
            }
        }
    }

    /// Which outputs of an op its graph forwards (for the root graph: frames and run outputs).
    pub(super) fn forward(&mut self, scope: usize, name: &str, op: &OpDoc) -> Forward {
        let scope_full = self.scopes[scope].full.clone();
        let root = scope == 0;
        let mut mapped = Vec::new();
        for (oname, p) in &op.outputs.0 {
            if let Some(r) = &p.reference {
                if r.source != scope_full && r.source != PARENT {
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
    pub(super) fn branch(&mut self, scope: usize, id: usize, name: &str, op: &OpDoc) -> Builtin {
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
            let condition = self.reference_or_self(scope, id, &case.condition);
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
        self.check_candidates(name, op);
        if let Some(d) = default {
            if !candidates.contains(&d) {
                candidates.push(d);
            }
        }
        Builtin::Branch { cases, default, candidates }
    }

    /// A published branch may list its `candidates`: exactly its cases' targets and its default.
    fn check_candidates(&mut self, name: &str, op: &OpDoc) {
        let Some(listed) = &op.candidates else {
            return;
        };
        let mut targets: Vec<&str> = op.cases.iter().map(|c| c.target.as_str()).chain(op.default_target.as_deref()).collect();
        let mut given: Vec<&str> = listed.iter().map(String::as_str).collect();
        for list in [&mut targets, &mut given] {
            list.sort_unstable();
            list.dedup();
        }
        if targets != given {
            self.problem(
                Problem::new(
                    "invalid",
                    format!(
                        "branch '{name}' lists candidates {given:?}, but its cases and default target {targets:?}; \
                         the candidates must be exactly those"
                    ),
                )
                .op(name),
            );
        }
    }
}
