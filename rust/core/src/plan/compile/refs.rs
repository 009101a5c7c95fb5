//! Compiling refs: where they read, their transforms and operands; variable names and constants.

use serde_json::Value;

use super::Compiler;
use crate::error::Problem;
use crate::graph::{RefDoc, TransformKind, PARENT};
use crate::plan::types::{Const, ConstId, OpId, Operand, RefPlan, RefSource, TransformPlan, VarId};
use crate::plan::until;

impl<'d> Compiler<'d> {
    pub(super) fn intern(&mut self, name: &str) -> VarId {
        if let Some(&id) = self.var_ids.get(name) {
            return id;
        }
        let id = self.vars.len() as VarId;
        self.vars.push(name.to_string());
        self.var_ids.insert(name.to_string(), id);
        id
    }

    /// A constant: a JSON value, or `{"$host": i}`, the index of a host object given with the
    /// document. An index that is not a whole number from 0 to 2^32 - 1 is a problem, never read
    /// as a plain value or truncated.
    pub(super) fn constant(&mut self, v: &Value) -> ConstId {
        let c = match v.as_object().and_then(|o| o.get("$host")) {
            None => Const::Json(v.clone()),
            Some(index) => match index.as_u64().and_then(|i| u32::try_from(i).ok()) {
                Some(i) => Const::Host(i),
                None => {
                    self.problem(Problem::new(
                        "invalid",
                        format!("host object index {index} is not a whole number from 0 to {}", u32::MAX),
                    ));
                    Const::Json(Value::Null)
                }
            },
        };
        self.consts.push(c);
        (self.consts.len() - 1) as ConstId
    }

    /// A ref of a branch condition: its own full name means its inputs.
    pub(super) fn reference_or_self(&mut self, scope: usize, id: usize, r: &RefDoc) -> Option<RefPlan> {
        if r.source == self.flat[id].full {
            let mut plan =
                self.reference(scope, id, &RefDoc { source: self.scopes[scope].full.clone(), ..r.clone() })?;
            plan.source = RefSource::Op(id as OpId);
            return Some(plan);
        }
        self.reference(scope, id, r)
    }

    /// Compiles a ref read by op `reader` (of graph `scope`). A ref to another op of the graph is
    /// remembered, so that [`Compiler::check_upstream`] can check that the op is upstream of its reader.
    pub(super) fn reference(&mut self, scope: usize, reader: usize, r: &RefDoc) -> Option<RefPlan> {
        let op = self.flat[reader].name;
        let scope_full = &self.scopes[scope].full;
        // the op of this graph the ref reads (not the graph's inputs, read through its entry op)
        let mut of_op = None;
        let source = if r.source == PARENT || &r.source == scope_full {
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
            of_op = Some(id);
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
        if let Some(id) = of_op.filter(|&id| id as usize != reader) {
            self.op_reads.push((reader as OpId, id, var));
        }
        let mut transforms = Vec::with_capacity(r.transforms.len());
        for (kind_name, args) in &r.transforms {
            let Some(kind) = TransformKind::parse(kind_name) else {
                self.problem(Problem::new("invalid", format!("op '{op}' uses unknown transform '{kind_name}'")).op(op));
                continue;
            };
            let (args, kwargs) = if kind == TransformKind::Call {
                let pos = args.first().and_then(Value::as_array).cloned().unwrap_or_default();
                let kw = args.get(1).and_then(Value::as_object).cloned().unwrap_or_default();
                let pos = pos.iter().filter_map(|a| self.operand(scope, reader, a)).collect();
                let kw = kw.iter().filter_map(|(k, a)| Some((k.clone(), self.operand(scope, reader, a)?))).collect();
                (pos, kw)
            } else {
                (args.iter().filter_map(|a| self.operand(scope, reader, a)).collect(), Vec::new())
            };
            transforms.push(TransformPlan { kind, args, kwargs });
        }
        let collect = r.policy.as_deref() == Some("collect");
        Some(RefPlan { source, collect, var, transforms })
    }

    /// A transform's operand: a constant, or a ref read by the same op.
    pub(super) fn operand(&mut self, scope: usize, reader: usize, v: &Value) -> Option<Operand> {
        match v.as_object().and_then(|o| o.get("__ref__")) {
            Some(inner) => match serde_json::from_value::<RefDoc>(inner.clone()) {
                Ok(r) => self.reference(scope, reader, &r).map(|r| Operand::Ref(Box::new(r))),
                Err(e) => {
                    let op = self.flat[reader].name;
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

    fn constant(&mut self, value: Const) -> ConstId {
        self.consts.push(value);
        (self.consts.len() - 1) as ConstId
    }
}
