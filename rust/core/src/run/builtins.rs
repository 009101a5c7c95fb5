//! Built-in ops, run by the semantics layer itself: a nested graph's entry and end, a loop's
//! entry (a root loop's variables include every run input), and a branch (its conditions are
//! evaluated once, here).

use smallvec::SmallVec;

use crate::plan::{Builtin, OpId, OpKind};
use crate::scheduler::{CtxId, ROOT};

use super::eval::choose_branch;

use super::record::forward_into;
use super::scope::Scope;
use super::{Key, Model, OpFailure, Run, Runtime};

impl<M: Model> Run<M> {
    /// Runs built-in op `op` in `ctx` with its resolved inputs.
    pub(super) fn builtin<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        args: &[M::Value],
    ) -> Result<(), OpFailure<M::Error>> {
        let plan = self.plan_arc();
        let p = &plan.ops[op as usize];
        let mut record = rt.record(op, args).map_err(OpFailure::Raised)?;
        if p.kind == OpKind::LoopEnter {
            let vars = if plan.root_loop && op == 0 {
                // Every run input is a variable of a root loop; given ones override initial values.
                let mut vars = rt.map();
                rt.update(&mut vars, self.inputs(), false).map_err(OpFailure::Raised)?;
                rt.update(&mut vars, &record, false).map_err(OpFailure::Raised)?;
                vars
            } else {
                record
            };
            self.start_iteration(rt, op, ctx, 0, vars);
            return Ok(());
        }
        if let Some(out) = self.text_outputs(rt, &p.builtin, &record) {
            self.complete(rt, op, ctx, out);
            return Ok(());
        }
        match &p.builtin {
            Builtin::Exit(sources) => self.gather(rt, op, ctx, sources, &mut record).map_err(OpFailure::Raised)?,
            Builtin::Branch { cases, default, .. } => return self.branch(rt, op, ctx, cases, *default, record),
            _ => {}
        }
        self.complete(rt, op, ctx, Ok(record));
        Ok(())
    }

    /// A nested graph's end: what the inner ops forwarded, in the order it arrived (a later
    /// forward of a key wins).
    fn gather<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        exit: OpId,
        ctx: CtxId,
        sources: &[(OpId, crate::plan::Forward)],
        record: &mut M::Value,
    ) -> Result<(), M::Error> {
        let depth = self.plan().ops[exit as usize].depth;
        let src_ctx = if ctx == ROOT { ROOT } else { self.state.contexts().ancestor(ctx, depth).unwrap_or(ctx) };
        let mut arrived: SmallVec<[(u64, usize); 8]> = sources
            .iter()
            .enumerate()
            .filter(|(_, (src, _))| self.values.get(*src, src_ctx).is_some())
            .map(|(i, (src, _))| (self.values.arrival(*src, src_ctx), i))
            .collect();
        arrived.sort_unstable();
        for (_, i) in arrived {
            let (src, forward) = &sources[i];
            if let Some(out) = self.values.get(*src, src_ctx) {
                forward_into(rt, forward, out, record)?;
            }
        }
        Ok(())
    }

    /// The target a truthy `anchor` input of branch `op` forces (the short name of one of its
    /// targets); `None` without one.
    fn anchor<R: Runtime<M>>(
        &self,
        rt: &mut R,
        op: OpId,
        record: &M::Value,
    ) -> Result<Option<OpId>, OpFailure<M::Error>> {
        let plan = self.plan();
        let p = &plan.ops[op as usize];
        let Builtin::Branch { candidates, .. } = &p.builtin else { return Ok(None) };
        if !p.inputs.iter().any(|i| i.name == "anchor") {
            return Ok(None);
        }
        let Some(anchor) = rt.get_known(record, Key::Anchor).map_err(OpFailure::Raised)? else { return Ok(None) };
        if !rt.truthy(&anchor).map_err(OpFailure::Raised)? {
            return Ok(None);
        }
        let name = rt.text_of(&anchor);
        let found = candidates.iter().copied().find(|&t| Some(&plan.ops[t as usize].name) == name.as_ref());
        match found {
            Some(target) => Ok(Some(target)),
            None => {
                let targets: Vec<&str> = candidates.iter().map(|&t| plan.ops[t as usize].name.as_str()).collect();
                Err(OpFailure::BadReturn(format!(
                    "its anchor input names {}, which is not one of its targets ({})",
                    name.map(|n| format!("{n:?}")).unwrap_or_else(|| "something that is not an op name".into()),
                    targets.join(", ")
                )))
            }
        }
    }

    /// A branch: picks its target (conditions read the branch's inputs from its own record),
    /// records `target` and `matched`, and tells the scheduler which way to go.
    fn branch<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        cases: &[crate::plan::CasePlan],
        default: Option<OpId>,
        mut record: M::Value,
    ) -> Result<(), OpFailure<M::Error>> {
        let plan = self.plan_arc();
        let (own, last) = (rt.copy(&record), rt.copy(&record));
        self.values.put(op, ctx, own, last);
        let anchored = self.anchor(rt, op, &record)?;
        let (chosen, matched) = match anchored {
            Some(target) => (Some(target), Some("anchor")),
            None => {
                let mut scope = Scope { rt: &mut *rt, run: self, ctx };
                choose_branch(&mut scope, cases, default)
            }
        };
        let target = match chosen {
            Some(t) => rt.op_name(t),
            None => rt.none(),
        };
        let matched = match matched {
            Some(m) => rt.text(m),
            None => rt.none(),
        };
        rt.set_known(&mut record, Key::Target, target).map_err(OpFailure::Raised)?;
        rt.set_known(&mut record, Key::Matched, matched).map_err(OpFailure::Raised)?;
        // a branch's record is always kept (never moved into a frame: only code ops are)
        if let Some(out) = self.record(rt, op, ctx, record)? {
            if rt.keeps_last() {
                let last = rt.copy(&out);
                self.values.put_last(op, last);
            }
            self.values.set(op, ctx, out);
            if self.facts().feeds_exit[op as usize] {
                self.values.stamp(op, ctx);
            }
        }
        self.state.finish_branch(&plan, op, ctx, chosen);
        self.free_contexts();
        Ok(())
    }
}
