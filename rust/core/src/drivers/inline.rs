//! The inline driver: Rust ops called one after the other on the caller's thread, in the order
//! the scheduler makes them ready. It only decides where and when a call runs; what the run
//! produces comes from [`crate::run::Run`].

use std::sync::Arc;

use serde_json::Value;

use crate::error::{OperonError, Result};
use crate::ops::Implementation;
use crate::plan::Plan;
use crate::run::{Facts, Frame, Run};
use crate::scheduler::contexts::render;
use crate::scheduler::ErrorMode;
use crate::trace::{deliver, RunIds, Tracer};

use crate::json::{Json, JsonRuntime};
use super::spare::Spare;
use super::step::Stepper;

/// What a run produced.
#[doc = include_str!("../../doc/drivers/inline/RunOutput.md")]
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

/// One run on the inline driver: ready ops run in order; while a generator streams, only the work
/// of its items runs between two of its items (other work waits until it ends).
struct Inline<'a> {
    impls: &'a [Option<Implementation>],
    run: Box<Run<Json>>,
    rt: JsonRuntime<'a>,
    stepper: Stepper,
}

/// Runs `plan` once over `inputs` (an object), calling `impls[op]` for each op; the run's buffers
/// come from `spare` and go back to it. `tracers` receive the run's trace (with ids made up).
#[doc = include_str!("../../doc/drivers/inline/run.md")]
pub fn run(
    spare: &Spare,
    (plan, facts): (&Arc<Plan>, &Arc<Facts>),
    impls: &[Option<Implementation>],
    inputs: Value,
    mode: ErrorMode,
    tracers: &[Arc<dyn Tracer>],
) -> Result<RunOutput> {
    let run = spare.run(plan, facts, inputs, mode);
    let mut inline = Inline { impls, run, rt: JsonRuntime::new(plan), stepper: Stepper::default() };
    if !tracers.is_empty() {
        inline.run.record_spans(Box::default());
    }
    inline.run.start();
    inline.drive();
    inline.run.finish();
    if let Some(spans) = inline.run.take_spans() {
        let error = inline.run.failure().map(ToString::to_string);
        deliver(tracers.to_vec(), inline.run.finished(RunIds::default().filled(), spans, error));
    }
    let out = output(&mut inline.run);
    spare.offer(inline.run);
    out
}

impl Inline<'_> {
    /// Runs ready ops, and pulls streaming generators one item at a time, until nothing is left.
    fn drive(&mut self) {
        while !self.run.is_over() {
            match self.stepper.next_ready(&mut self.run) {
                Some(instance) => {
                    // nothing is offloaded: an async op fails, a cpu op runs here
                    self.stepper.step(&mut self.run, &mut self.rt, self.impls, instance, false);
                }
                None if !self.stepper.is_streaming() => return,
                None => self.stepper.pull(&mut self.run, &mut self.rt),
            }
        }
    }
}

/// What a run that is over produced, or its error (frames and values are copied out; the run
/// keeps its own).
#[doc = include_str!("../../doc/drivers/inline/output.md")]
pub fn output(run: &mut Run<Json>) -> Result<RunOutput> {
    if let Some(failure) = run.take_failure() {
        return Err(failure);
    }
    let plan = Arc::clone(run.plan_shared());
    let outputs = match run.result(&mut JsonRuntime::new(&plan)) {
        Ok(result) => result.into_map(),
        Err(message) => return Err(OperonError::Usage(message)),
    };
    let frames = run
        .frames()
        .all()
        .map(|f| Frame {
            op: plan.ops[f.op as usize].name.clone(),
            context: render(&f.path),
            data: f.data.clone().into_map(),
        })
        .collect();
    let loops_at_max =
        run.loops_at_max().iter().map(|(op, path)| (plan.ops[*op as usize].full_name.clone(), render(path))).collect();
    let op_runs = run.op_runs();
    Ok(RunOutput { outputs, frames, errors: run.take_errors(), loops_at_max, op_runs })
}
