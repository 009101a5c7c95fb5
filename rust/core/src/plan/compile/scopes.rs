//! Nested graphs and loops in the flat plan: where inner ops forward, which ops a loop holds, a root
//! loop's variables, and a loop's stop condition and cap.

use rustc_hash::FxHashSet;
use serde_json::Value;

use super::{Compiler, Role};
use crate::error::Problem;
use crate::graph::schema::LoopDoc;
use crate::plan::types::{Binding, Builtin, Forward, InputPlan, LoopPlan, OpId, OpPlan, RefPlan, RefSource, Until};
use crate::plan::until;

impl<'d> Compiler<'d> {
    /// Ops inside a nested graph forward to the nested graph's end op, never as frames: the nested
    /// graph emits one frame of its own. The ops of a root loop forward to its end and still emit
    /// their frames (tagged with their iteration).
    pub(super) fn route_nested_forwarding(&mut self, ops: &mut [OpPlan]) {
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
    pub(super) fn loop_bodies(&mut self, ops: &mut [OpPlan]) {
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
    pub(super) fn root_loop_inputs(&mut self) -> Vec<InputPlan> {
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
    pub(super) fn loop_plan(&mut self, name: &str, doc: &LoopDoc) -> LoopPlan {
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
}
