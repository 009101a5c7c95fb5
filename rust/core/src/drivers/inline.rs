//! The inline driver: Rust ops called one after the other on the caller's thread, in the order
//! the scheduler makes them ready. It only decides where and when a call runs; what the run
//! produces comes from [`crate::run::Run`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use serde_json::Value;

use crate::error::{panic_message, OperonError, Result};
use crate::ops::{Implementation, Inputs, Items};
use crate::plan::{OpId, Plan};
use crate::run::{Args, Facts, Frame, OpFailure, Run};
use crate::scheduler::contexts::render;
use crate::scheduler::{CtxId, ErrorMode};

use super::json::{Json, JsonRuntime};

/// What a run produced.
#[derive(Debug, Default)]
pub struct RunOutput {
    /// Frames grouped by key in frame order: one value stays a scalar, several become a list.
    pub outputs: serde_json::Map<String, Value>,
    /// Every frame in order.
    pub frames: Vec<Frame>,
    /// Errors of failed ops (with [`ErrorMode::Continue`] only).
    pub errors: Vec<OperonError>,
    /// Loops that stopped because they reached `max_iterations`: `(loop full name, context)`.
    pub loops_at_max: Vec<(String, Vec<String>)>,
    /// How many times ops ran (every loop iteration's and stream item's runs counted).
    pub op_runs: u64,
}

/// A generator op being pulled: its stream, where it runs, and its next item's index.
struct Streaming {
    op: OpId,
    ctx: CtxId,
    items: Items,
    index: u32,
}

/// One run on the inline driver: ready ops run in order; while a generator streams, only the work
/// of its items runs between two of its items (other work waits until it ends).
struct Inline<'a> {
    plan: &'a Arc<Plan>,
    impls: &'a [Option<Implementation>],
    run: Run<Json>,
    rt: JsonRuntime<'a>,
    streams: Vec<Streaming>,
    deferred: Vec<(OpId, CtxId)>,
}

/// Runs `plan` once over `inputs` (an object), calling `impls[op]` for each op.
pub fn run(
    plan: &Arc<Plan>,
    facts: &Arc<Facts>,
    impls: &[Option<Implementation>],
    inputs: Value,
    mode: ErrorMode,
) -> Result<RunOutput> {
    let run = Run::new(Arc::clone(plan), Arc::clone(facts), inputs, mode, true);
    let mut inline = Inline { plan, impls, run, rt: JsonRuntime::new(plan), streams: Vec::new(), deferred: Vec::new() };
    inline.run.start();
    inline.drive();
    inline.run.finish();
    inline.output()
}

impl Inline<'_> {
    /// Runs ready ops, and pulls streaming generators one item at a time, until nothing is left.
    fn drive(&mut self) {
        while !self.run.is_over() {
            match self.next_ready() {
                Some((op, ctx)) => self.step(op, ctx),
                None if self.streams.is_empty() => return,
                None => self.pull(),
            }
        }
    }

    /// Prepares a ready op instance and calls it.
    fn step(&mut self, op: OpId, ctx: CtxId) {
        let mut args = Args::new();
        if !self.run.prepare(&mut self.rt, op, ctx, &mut args) {
            return;
        }
        let names = self.plan.ops[op as usize].inputs.iter().map(|i| i.name.clone());
        let inputs = Inputs::new(names.zip(args).collect());
        match &self.impls[op as usize] {
            Some(Implementation::Op(f)) => {
                let result = guarded(|| f.call(&inputs).map(Value::Object));
                self.run.complete(&mut self.rt, op, ctx, result);
            }
            Some(Implementation::Map(f)) => {
                let map = inputs.into_map();
                let result = guarded(|| f.call(map).map_err(|e| e.to_string()));
                self.run.complete(&mut self.rt, op, ctx, result);
            }
            Some(Implementation::Async(_)) => {
                let message = "an async op runs only on the tokio driver (Operon::run_json_async or Operon::start)";
                self.run.fail_op(&mut self.rt, op, ctx, OpFailure::Raised(message.into()));
            }
            Some(Implementation::Gen(g)) => match guarded(|| g.call(&inputs)) {
                Ok(items) => {
                    self.run.state_mut().begin_generator();
                    self.streams.push(Streaming { op, ctx, items, index: 0 });
                }
                Err(failure) => self.run.fail_op(&mut self.rt, op, ctx, failure),
            },
            None => self.run.fail_op(&mut self.rt, op, ctx, OpFailure::Raised("no implementation".into())),
        }
    }

    /// Pulls the next item of the innermost streaming generator (or ends it).
    fn pull(&mut self) {
        let Some(top) = self.streams.last_mut() else { return };
        let (op, ctx, index) = (top.op, top.ctx, top.index);
        top.index += 1;
        let next = guarded(|| Ok(top.items.next()));
        let failure = match next {
            Ok(Some(Ok(item))) => match self.run.item(&mut self.rt, op, ctx, index, Value::Object(item)) {
                Ok(()) => return,
                Err(failure) => Some(failure),
            },
            Ok(Some(Err(message))) => Some(OpFailure::Raised(message)),
            Ok(None) => None,
            Err(failure) => Some(failure),
        };
        self.streams.pop();
        self.run.state_mut().end_generator();
        let deferred = std::mem::take(&mut self.deferred);
        self.run.state_mut().unpop(deferred.into_iter());
        match failure {
            None => self.run.complete(&mut self.rt, op, ctx, Ok(Value::Null)),
            Some(failure) => self.run.fail_op(&mut self.rt, op, ctx, failure),
        }
    }

    /// The next ready instance; while a generator streams, work outside its items waits.
    fn next_ready(&mut self) -> Option<(OpId, CtxId)> {
        let Some(top) = self.streams.last() else {
            return self.run.pop_ready();
        };
        let (gen, gctx) = (top.op, top.ctx);
        let depth = self.run.state().contexts().depth(gctx) + 1;
        while let Some((op, ctx)) = self.run.pop_ready() {
            let contexts = self.run.state().contexts();
            let under =
                contexts.ancestor(ctx, depth).is_some_and(|a| contexts.parent(a) == gctx && contexts.origin(a) == gen);
            if under {
                return Some((op, ctx));
            }
            self.deferred.push((op, ctx));
        }
        None
    }

    /// What the run produced, or its error.
    fn output(mut self) -> Result<RunOutput> {
        if let Some(failure) = self.run.take_failure() {
            return Err(failure);
        }
        let plan = self.plan;
        let outputs = match self.run.result(&mut self.rt) {
            Ok(Value::Object(map)) => map,
            Ok(_) => serde_json::Map::new(),
            Err(message) => return Err(OperonError::Usage(message)),
        };
        let frames = self
            .run
            .frames()
            .all()
            .map(|f| Frame {
                op: plan.ops[f.op as usize].name.clone(),
                context: render(&f.path),
                data: match &f.data {
                    Value::Object(map) => map.clone(),
                    _ => serde_json::Map::new(),
                },
            })
            .collect();
        let loops_at_max = self
            .run
            .loops_at_max()
            .iter()
            .map(|(op, path)| (plan.ops[*op as usize].full_name.clone(), render(path)))
            .collect();
        let op_runs = self.run.op_runs();
        Ok(RunOutput { outputs, frames, errors: self.run.take_errors(), loops_at_max, op_runs })
    }
}

/// Runs an op's code; a returned error or a panic fails the op.
fn guarded<T>(f: impl FnOnce() -> std::result::Result<T, String>) -> std::result::Result<T, OpFailure<String>> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(message)) => Err(OpFailure::Raised(message)),
        Err(panic) => Err(OpFailure::Panicked(panic_message(&*panic))),
    }
}
