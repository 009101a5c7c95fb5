//! The inline driver: Rust ops called one after the other on the caller's thread, in the order
//! the scheduler makes them ready. It only decides where and when a call runs; what the run
//! produces comes from [`crate::run::Run`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use serde_json::Value;

use crate::error::{panic_message, EngineError, Result};
use crate::ops::{Inputs, SharedOp};
use crate::plan::{OpId, Plan};
use crate::run::{Facts, Frame, OpFailure, Prepared, Run};
use crate::scheduler::contexts::render;
use crate::scheduler::ErrorMode;

use super::json::{Json, JsonRuntime};

/// What a run produced.
#[derive(Debug, Default)]
pub struct RunOutput {
    /// Frames grouped by key in frame order: one value stays a scalar, several become a list.
    pub outputs: serde_json::Map<String, Value>,
    /// Every frame in order.
    pub frames: Vec<Frame>,
    /// Errors of failed ops (with [`ErrorMode::Continue`] only).
    pub errors: Vec<EngineError>,
    /// Loops that stopped because they reached `max_iterations`: `(loop full name, context)`.
    pub loops_at_max: Vec<(String, Vec<String>)>,
}

/// Runs `plan` once over `inputs` (an object), calling `impls[op]` for each op.
pub fn run(
    plan: &Arc<Plan>,
    facts: &Arc<Facts>,
    impls: &[Option<SharedOp>],
    inputs: Value,
    mode: ErrorMode,
) -> Result<RunOutput> {
    let mut run: Run<Json> = Run::new(Arc::clone(plan), Arc::clone(facts), inputs, mode, true);
    let mut rt = JsonRuntime::new(plan);
    run.start();
    while let Some((op, ctx)) = run.pop_ready() {
        if let Prepared::Call(args) = run.prepare(&mut rt, op, ctx) {
            let result = call(plan, impls, op, args.into_vec());
            run.complete(&mut rt, op, ctx, result);
        }
        if run.is_over() {
            break;
        }
    }
    run.finish();
    if let Some(failure) = run.take_failure() {
        return Err(failure);
    }
    let outputs = match run.result(&mut rt) {
        Ok(Value::Object(map)) => map,
        Ok(_) => serde_json::Map::new(),
        Err(message) => return Err(EngineError::Usage(message)),
    };
    let frames = run
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
    let loops_at_max =
        run.loops_at_max().iter().map(|(op, path)| (plan.ops[*op as usize].full_name.clone(), render(path))).collect();
    Ok(RunOutput { outputs, frames, errors: run.take_errors(), loops_at_max })
}

/// Calls op `op`'s implementation; a returned error or a panic fails the op.
fn call(
    plan: &Plan,
    impls: &[Option<SharedOp>],
    op: OpId,
    args: Vec<Value>,
) -> std::result::Result<Value, OpFailure<String>> {
    let Some(f) = &impls[op as usize] else {
        return Err(OpFailure::Raised("no implementation".into()));
    };
    let names = plan.ops[op as usize].inputs.iter().map(|i| i.name.clone());
    let inputs = Inputs::new(names.zip(args).collect());
    match catch_unwind(AssertUnwindSafe(|| f.call(&inputs))) {
        Ok(Ok(outputs)) => Ok(Value::Object(outputs)),
        Ok(Err(message)) => Err(OpFailure::Raised(message)),
        Err(panic) => Err(OpFailure::Panicked(panic_message(&*panic))),
    }
}
