//! What an op's outputs become: checked, their tags kept, their frame emitted (to whoever waits
//! for it), and what they forward to a loop's iteration gathered.

use super::buffer::Frame;
use crate::plan::{Forward, OpId};
use crate::scheduler::CtxId;

use super::{Key, Model, OpFailure, Run, Runtime};

/// Adds the outputs `forward` passes on from `out` to `data`, under their graph-output names.
pub(super) fn forward_into<M: Model, R: Runtime<M>>(
    rt: &mut R,
    forward: &Forward,
    out: &M::Value,
    data: &mut M::Value,
) -> Result<(), M::Error> {
    match forward {
        Forward::Nothing => {}
        Forward::All => rt.update(data, out, true)?,
        Forward::Mapped(pairs) => {
            for &(from, to) in pairs {
                if let Some(v) = rt.get(out, from)? {
                    rt.set(data, to, v)?;
                }
            }
        }
    }
    Ok(())
}

impl<M: Model> Run<M> {
    /// Checks an op's outputs, keeps its tags and emits its frame. Returns the outputs to store,
    /// or `None` when they became the frame's data as they were (nothing else reads them).
    pub(super) fn record<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        out: M::Value,
    ) -> Result<Option<M::Value>, OpFailure<M::Error>> {
        // the usual outputs (a small mapping, no tags) are kept as they are: nothing to check
        let out = if rt.plain_outputs(&out) { out } else { self.checked(rt, op, out)? };
        let forward = &self.plan.ops[op as usize].forward;
        let out = if forward.emits() {
            // outputs nothing else reads become the frame's data as they are, when that is what
            // the forward would copy out of them
            let whole = if !rt.keeps_last() && self.facts.unread(op) { rt.forward_whole(forward, out) } else { Err(out) };
            let (data, out) = match whole {
                Ok(data) => (data, None),
                Err(out) => {
                    let mut data = rt.map();
                    forward_into(rt, forward, &out, &mut data).map_err(OpFailure::Raised)?;
                    (data, Some(out))
                }
            };
            self.emit(rt, op, ctx, data).map_err(OpFailure::Raised)?;
            out
        } else {
            Some(out)
        };
        if let Some(o) = &out {
            self.forward_to_loop(rt, op, ctx, o).map_err(OpFailure::Raised)?;
        }
        Ok(out)
    }

    /// What an op returned, checked as its outputs (a mapping), its tags kept.
    #[inline]
    fn checked<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, out: M::Value) -> Result<M::Value, OpFailure<M::Error>> {
        let out = rt.outputs(out).map_err(|ty| {
            let gen = self.plan.ops[op as usize].is_gen();
            let (did, must) = if gen { ("yielded", "yield") } else { ("returned", "return") };
            OpFailure::BadReturn(format!("it {did} a value of type {ty}; an op must {must} a mapping (e.g. a dict) of its outputs"))
        })?;
        self.keep_tags(rt, &out).map_err(OpFailure::Raised)?;
        Ok(out)
    }

    fn keep_tags<R: Runtime<M>>(&mut self, rt: &mut R, out: &M::Value) -> Result<(), M::Error> {
        let Some(tags) = rt.get_known(out, Key::Tags)? else {
            return Ok(());
        };
        for tag in rt.iterate(&tags)? {
            if !self.tags.iter().any(|t| rt.same(t, &tag)) {
                self.tags.push(tag);
            }
        }
        Ok(())
    }

    /// Adds a frame and hands it to whoever waits for it.
    pub(super) fn emit<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        data: M::Value,
    ) -> Result<(), M::Error> {
        if self.waiters.wants_values() {
            let plan = self.plan_arc();
            for w in self.waiters.take_values_of(&plan.ops[op as usize].name) {
                match rt.get_str(&data, &w.var)? {
                    Some(v) => rt.wake(w.waker, Some(v))?,
                    None => self.waiters.put_back(w),
                }
            }
        }
        let path = self.state.contexts().path(ctx);
        self.frames.push(Frame { op, path, data, superseded: false });
        if self.waiters.wants_next() {
            for w in self.waiters.take_next() {
                rt.wake(w, None)?;
            }
        }
        Ok(())
    }
}

impl<M: Model> Run<M> {
    /// Item `index` of generator `gen` running in `ctx`: checked, emitted, and run through the
    /// generator's per-item successors.
    #[doc = include_str!("../../doc/run/record/Run.item.md")]
    pub fn item<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        gen: OpId,
        ctx: CtxId,
        index: u32,
        item: M::Value,
    ) -> Result<(), OpFailure<M::Error>> {
        self.trace_item(rt, gen, ctx, &item);
        let item_ctx = self.state.open_item(gen, ctx, index);
        let out = match self.record(rt, gen, item_ctx, item) {
            Ok(Some(out)) => out,
            Ok(None) => {
                // the item became its frame's data: nothing reads it
                self.state.close_item(&self.plan, gen, item_ctx);
                self.free_contexts();
                return Ok(());
            }
            Err(e) => {
                self.state.close_item(&self.plan, gen, item_ctx);
                return Err(e);
            }
        };
        if self.facts.collects[gen as usize] {
            let kept = rt.copy(&out);
            self.values.collect(gen, ctx, kept);
        }
        if self.facts.item_readers[gen as usize] {
            if rt.keeps_last() {
                let last = rt.copy(&out);
                self.values.put(gen, item_ctx, out, last);
            } else {
                self.values.set(gen, item_ctx, out);
            }
        } else if rt.keeps_last() {
            self.values.put_last(gen, out);
        }
        self.state.close_item(&self.plan, gen, item_ctx);
        self.free_contexts();
        Ok(())
    }
}

impl<M: Model> Run<M> {
    /// Stores an op's checked outputs in `ctx`.
    pub(super) fn store<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, out: M::Value) {
        if rt.keeps_last() {
            let last = rt.copy(&out);
            self.values.put(op, ctx, out, last);
        } else {
            self.values.set(op, ctx, out);
        }
        if self.facts.feeds_exit[op as usize] {
            self.values.stamp(op, ctx);
        }
    }

    #[inline(never)]
    pub(super) fn free_freed(&mut self) {
        for ctx in self.state.drain_freed() {
            self.values.free(ctx);
        }
    }
}
