//! The ways into the tokio driver: a run awaited in place (its result, or everything it
//! produced), or a run spawned on the current runtime behind an [`ExecutionHandle`].

use std::sync::Arc;

use serde_json::Value;

use super::Driver;
use crate::drivers::inline::{output, RunOutput};
use crate::json::{Json, JsonRuntime, RunValue};
use crate::drivers::spare::Spare;
use crate::error::{OperonError, Result};
use crate::handle::shared::SharedRun;
use crate::handle::ExecutionHandle;
use crate::ops::Implementation;
use crate::plan::{OpKind, Plan};
use crate::run::{Facts, Phase, Run};
use crate::scheduler::ErrorMode;
use crate::trace::{RunIds, Tracer};

/// One run to drive: the engine's compiled graph and ops, the run's inputs (an object) and how
/// it reports.
#[doc = include_str!("../../../doc/drivers/tokio/entry/Job.md")]
pub struct Job<'a> {
    /// The compiled graph.
    pub plan: &'a Arc<Plan>,
    /// Facts of the plan.
    pub facts: &'a Arc<Facts>,
    /// The implementation of each op (`None` for built-in ops).
    pub impls: &'a Arc<[Option<Implementation>]>,
    /// Where the run's buffers come from (and go back to, for a run awaited in place).
    pub spare: &'a Spare,
    /// The run's inputs: an object.
    pub inputs: Value,
    /// What an op failure does.
    pub mode: ErrorMode,
    /// The ids the run was started with.
    pub ids: RunIds,
    /// Who receives the run's trace (none: nothing is recorded).
    pub tracers: Vec<Arc<dyn Tracer>>,
}

impl Job<'_> {
    fn driver(self) -> Driver {
        let run = self.spare.run(self.plan, self.facts, self.inputs, self.mode);
        Driver::new(self.plan, run, self.impls, self.tracers, self.ids)
    }
}

/// Runs `job` in place (nothing is spawned) and returns its result: the frames grouped by key,
/// one value as a scalar; the run's error if it failed.
#[doc = include_str!("../../../doc/drivers/tokio/entry/run_result.md")]
pub async fn run_result(job: Job<'_>) -> Result<Value> {
    let (spare, plan) = (job.spare, job.plan);
    let mut run = run_in_place(job).await?;
    let result = match (run.take_failure(), run.phase()) {
        (Some(e), _) => Err(e),
        (None, Phase::Cancelled) => Err(OperonError::Cancelled { graph: plan.name.clone() }),
        // the run is parked next: its one frame's data becomes the result without a copy
        (None, _) => run.take_result(&mut JsonRuntime::new(plan)).map(RunValue::into_json).map_err(OperonError::Usage),
    };
    spare.offer(run);
    result
}

/// Drives `job` to its end in the calling task; returns the run (nothing else shares it).
async fn run_in_place(job: Job<'_>) -> Result<Box<Run<Json>>> {
    let mut driver = job.driver();
    driver.drive().await;
    let shared = Arc::clone(driver.shared());
    drop(driver);
    SharedRun::into_run(shared)
        .ok_or_else(|| OperonError::Internal("a run awaited in place was still shared at its end".into()))
}

/// Runs `job` in place and returns everything it produced (frames, grouped outputs, errors
/// listed with [`ErrorMode::Continue`]), or its error.
#[doc = include_str!("../../../doc/drivers/tokio/entry/run_output.md")]
pub async fn run_output(job: Job<'_>) -> Result<RunOutput> {
    let spare = job.spare;
    let mut run = run_in_place(job).await?;
    let out = output(&mut run);
    spare.offer(run);
    out
}

/// True when a run of the graph needs a tokio runtime: it has an async op, or a `bound="cpu"` op
/// (which runs on the blocking pool). The others run on any executor.
#[doc = include_str!("../../../doc/drivers/tokio/entry/needs_runtime.md")]
pub fn needs_runtime(plan: &Plan, impls: &[Option<Implementation>]) -> bool {
    impls.iter().zip(&plan.ops).any(|(i, op)| match i {
        Some(Implementation::Async(_)) => true,
        Some(Implementation::Op(_) | Implementation::Map(_)) => op.kind == OpKind::Cpu,
        _ => false,
    })
}

/// Runs `job` to its end on the calling thread, on a new current-thread tokio runtime when the
/// graph needs one, else on a plain executor (building a runtime costs more than a small run).
#[doc = include_str!("../../../doc/drivers/tokio/entry/block_on.md")]
pub fn block_on(job: Job<'_>) -> Result<Value> {
    if !needs_runtime(job.plan, job.impls) {
        return futures::executor::block_on(run_result(job));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| OperonError::Runtime(format!("could not start a tokio runtime: {e}")))?;
    runtime.block_on(run_result(job))
}

/// Spawns `job` on the current tokio runtime and returns its handle; outside a runtime, a
/// [`OperonError::Usage`] error.
#[doc = include_str!("../../../doc/drivers/tokio/entry/spawn.md")]
pub fn spawn(job: Job<'_>) -> Result<ExecutionHandle> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Err(OperonError::Usage(format!(
            "Operon::start on graph '{}' spawns the run on the current tokio runtime, and there is none: call it \
             inside a runtime (e.g. under #[tokio::main]), or use Operon::run_json to run it to its end",
            job.plan.name
        )));
    };
    let mut driver = job.driver().for_consumers();
    let shared = Arc::clone(driver.shared());
    runtime.spawn(async move { driver.drive().await });
    Ok(ExecutionHandle::new(shared))
}
