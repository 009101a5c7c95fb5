//! Reading values from one op instance's context: the evaluator's [`Host`] over a run's store.

use crate::plan::{ConstId, OpId, RefSource, TransformPlan, VarId};
use crate::scheduler::{CtxId, ROOT};

use super::eval::Host;

use super::{Model, Run, Runtime};

/// A run's values as seen from context `ctx`, with the runtime that reads them.
pub(super) struct Scope<'a, M: Model, R> {
    pub rt: &'a mut R,
    pub run: &'a Run<M>,
    pub ctx: CtxId,
}

/// The outputs of `op` visible from context `ctx` of `run`.
#[inline]
pub(super) fn outputs_of<M: Model>(run: &Run<M>, ctx: CtxId, op: OpId) -> Option<&M::Value> {
    let depth = run.plan().ops[op as usize].value_depth();
    let ctx = if ctx == ROOT { ROOT } else { run.state().contexts().ancestor(ctx, depth)? };
    run.values().get(op, ctx)
}

impl<'a, M: Model, R: Runtime<M>> Scope<'a, M, R> {
    #[inline]
    fn outputs_of(&self, op: OpId) -> Option<&'a M::Value> {
        outputs_of(self.run, self.ctx, op)
    }

    /// A collected read: every item of a generator, or the one value of a per-item op.
    fn collected(&mut self, op: OpId, var: VarId) -> Result<Option<M::Value>, M::Error> {
        let run = self.run;
        let p = &run.plan().ops[op as usize];
        let mut items = Vec::new();
        if p.is_gen() {
            let Some(gctx) = run.state().contexts().ancestor(self.ctx, p.depth) else {
                return Ok(None);
            };
            for item in run.values().collected(op, gctx) {
                let v = self.rt.get(item, var)?;
                items.push(v.unwrap_or_else(|| self.rt.none()));
            }
        } else if let Some(out) = self.outputs_of(op) {
            let v = self.rt.get(out, var)?;
            items.push(v.unwrap_or_else(|| self.rt.none()));
        }
        self.rt.list(items).map(Some)
    }
}

impl<'a, M: Model, R: Runtime<M>> Host for Scope<'a, M, R> {
    type Value = M::Value;
    type Error = M::Error;

    #[inline(always)]
    fn read(&mut self, source: RefSource, var: VarId, collect: bool) -> Result<Option<M::Value>, M::Error> {
        match source {
            RefSource::Parent => {
                let run = self.run;
                self.rt.get(run.inputs(), var)
            }
            RefSource::Op(op) if collect => self.collected(op, var),
            RefSource::Op(op) => match self.outputs_of(op) {
                Some(record) => self.rt.get(record, var),
                None => Ok(None),
            },
        }
    }

    fn keys(&mut self, source: RefSource) -> Vec<String> {
        let record = match source {
            RefSource::Parent => Some(self.run.inputs() as &'a M::Value),
            RefSource::Op(op) => self.outputs_of(op),
        };
        match record {
            Some(r) => self.rt.keys(r),
            None => Vec::new(),
        }
    }

    #[inline]
    fn constant(&mut self, c: ConstId) -> M::Value {
        self.rt.constant(c)
    }

    fn none(&mut self) -> M::Value {
        self.rt.none()
    }

    #[inline]
    fn is_none(&self, v: &M::Value) -> bool {
        self.rt.is_none(v)
    }

    fn truthy(&self, v: &M::Value) -> Result<bool, M::Error> {
        self.rt.truthy(v)
    }

    fn transform(
        &mut self,
        t: &TransformPlan,
        value: M::Value,
        args: Vec<M::Value>,
        kwargs: Vec<(&str, M::Value)>,
    ) -> Result<M::Value, M::Error> {
        self.rt.transform(t, value, args, kwargs)
    }
}
