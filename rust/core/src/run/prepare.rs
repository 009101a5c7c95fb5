//! Preparing a ready op instance: a disabled op is skipped, its inputs are resolved, a built-in op
//! runs here; whatever is left is handed back to the driver to call.

use crate::plan::{Binding, InputPlan, OpId, OpKind, Plan};
use crate::scheduler::{CtxId, Outcome};

use super::eval::{resolve_input, suggest_key, Host, Resolved};
use super::scope::Scope;
use super::step::Args;
use super::{Model, OpFailure, Run, Runtime};

impl<M: Model> Run<M> {
    /// Prepares a ready op instance: a disabled op is skipped, its inputs are resolved into `args`
    /// (a failure fails the op), and a built-in op runs here. Returns true when the driver is to
    /// call the op with `args`; else there is nothing to call and `args` is left empty. The
    /// driver owns the buffer, so a step moves no argument list around.
    #[doc = include_str!("../../doc/run/prepare/Run.prepare.md")]
    #[inline]
    pub fn prepare<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, args: &mut Args<M::Value>) -> bool {
        let p = &self.plan.ops[op as usize];
        if !p.enabled || p.kind.is_builtin() {
            return self.prepare_builtin(rt, op, ctx, args);
        }
        match self.resolve_into(rt, op, ctx, args) {
            Ok(()) => {
                self.op_runs += 1;
                self.trace_begin(rt, op, ctx, args);
                true
            }
            Err(failure) => {
                self.input_failed(rt, op, ctx, args, failure);
                false
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn input_failed<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        args: &mut Args<M::Value>,
        failure: OpFailure<M::Error>,
    ) {
        args.clear();
        self.fail_op(rt, op, ctx, failure);
    }

    /// [`Run::prepare`] for a disabled op or a built-in one: nothing is left to call.
    #[inline(never)]
    fn prepare_builtin<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, args: &mut Args<M::Value>) -> bool {
        let (enabled, kind) = {
            let p = &self.plan.ops[op as usize];
            (p.enabled, p.kind)
        };
        if !enabled {
            self.state.note_skip(op, ctx);
            self.state.finish(&self.plan, op, ctx, Outcome::Skipped);
            return false;
        }
        if let Err(failure) = self.resolve_into(rt, op, ctx, args) {
            self.input_failed(rt, op, ctx, args, failure);
            return false;
        }
        if matches!(kind, OpKind::Branch | OpKind::Transform) {
            self.op_runs += 1;
        }
        let done =
            if kind == OpKind::LoopExit { self.end_iteration(rt, op, ctx) } else { self.builtin(rt, op, ctx, args) };
        args.clear();
        if let Err(failure) = done {
            self.fail_op(rt, op, ctx, failure);
        }
        false
    }

    /// Op `op`, called in `ctx` with its inputs resolved, was their only reader: the outputs it
    /// alone reads ([`crate::run::Facts::sole_reads`]) are dropped now rather than with the run, so
    /// a run holds only what is still to be read. A driver calls it once the call is made (not
    /// when an instance resolved its inputs only to wait for a slot, since it resolves them again).
    #[doc = include_str!("../../doc/run/prepare/Run.release_reads.md")]
    #[inline]
    pub fn release_reads(&mut self, op: OpId, ctx: CtxId) {
        for &src in self.facts.sole_reads(op) {
            self.values.remove(src, ctx);
        }
    }

    /// Resolves the arguments of op `op` in `ctx`.
    #[doc = include_str!("../../doc/run/prepare/Run.resolve.md")]
    pub fn resolve<R: Runtime<M>>(
        &self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
    ) -> Result<Args<M::Value>, OpFailure<M::Error>> {
        let mut args = Args::new();
        self.resolve_into(rt, op, ctx, &mut args)?;
        Ok(args)
    }

    /// Resolves the arguments of op `op` in `ctx` into `args` (empty on entry).
    #[doc = include_str!("../../doc/run/prepare/Run.resolve_into.md")]
    #[inline]
    pub fn resolve_into<R: Runtime<M>>(
        &self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        args: &mut Args<M::Value>,
    ) -> Result<(), OpFailure<M::Error>> {
        debug_assert!(args.is_empty(), "resolve_into takes an empty buffer");
        let p = &self.plan.ops[op as usize];
        // one allocation for an op of more inputs than the buffer holds inline (a join), not one per
        // doubling; the usual op pays one comparison
        if p.inputs.len() > args.inline_size() {
            args.reserve(p.inputs.len());
        }
        let mut scope = Scope { rt, run: self, ctx };
        for input in &p.inputs {
            // The usual binding, one ref read as it is, when it has a value: what the general path
            // below gives, without its layers.
            if let Binding::Ref(r) = &input.binding {
                if r.transforms.is_empty() && !r.collect {
                    match scope.read(r.source, r.var, false) {
                        Ok(Some(v)) if !scope.is_none(&v) => {
                            args.push(v);
                            continue;
                        }
                        Err(e) => return Err(OpFailure::Input(input.name.clone(), e)),
                        _ => {} // absent or none: the default, or missing
                    }
                }
            }
            match resolve_input(&mut scope, input) {
                Ok(Resolved::Value(v)) => args.push(v),
                Ok(Resolved::Missing) => return Err(missing(&mut scope, &self.plan, &p.inputs, input)),
                Err(e) => return Err(OpFailure::Input(input.name.clone(), e)),
            }
        }
        Ok(())
    }
}

/// The failure of a required input with no value, naming a key that looks like a typo of it.
#[cold]
#[inline(never)]
fn missing<H: Host>(host: &mut H, plan: &Plan, inputs: &[InputPlan], input: &InputPlan) -> OpFailure<H::Error> {
    OpFailure::Missing(input.name.clone(), suggest_key(host, plan, inputs, input))
}
