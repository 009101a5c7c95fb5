//! The ways into the tokio driver: a run awaited in place (its result, or everything it
//! produced), or a run spawned on the current runtime behind an [`ExecutionHandle`].

use std::sync::Arc;

use serde_json::Value;

use super::Driver;
use crate::drivers::inline::{output, RunOutput};
use crate::drivers::spare::Spare;
use crate::drivers::step::Stepper;
use crate::error::{OperonError, Result};
use crate::handle::shared::SharedRun;
use crate::handle::ExecutionHandle;
use crate::json::{JsonRuntime, RunValue};
use crate::ops::Implementation;
use crate::plan::{OpKind, Plan};
use crate::run::{Facts, Phase};
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
    /// A driver of a new run (a spawned run: its handle shares it for as long as it likes).
    fn driver(self) -> Driver {
        let run = self.spare.run(self.plan, self.facts, self.inputs, self.mode);
        let shared = SharedRun::new(Arc::clone(self.plan), run);
        Driver::new((shared, Box::default()), self.impls, self.tracers, self.ids)
    }

    /// A driver of a run awaited in place: the engine's spare run and stepper when it has them.
    fn driver_in_place(self) -> Driver {
        let parts = self.spare.shared(self.plan, self.facts, self.inputs, self.mode);
        Driver::new(parts, self.impls, self.tracers, self.ids)
    }
}

/// Runs `job` in place (nothing is spawned) and returns its result: the frames grouped by key,
/// one value as a scalar; the run's error if it failed.
#[doc = include_str!("../../../doc/drivers/tokio/entry/run_result.md")]
pub async fn run_result(job: Job<'_>) -> Result<Value> {
    let (spare, plan) = (job.spare, job.plan);
    let (shared, stepper) = run_in_place(job).await;
    let result = {
        let mut core = shared.lock();
        let run = core.run_mut();
        match (run.take_failure(), run.phase()) {
            (Some(e), _) => Err(e),
            (None, Phase::Cancelled) => Err(OperonError::Cancelled { graph: plan.name.clone() }),
            // the run is parked next: its one frame's data becomes the result without a copy
            (None, _) => {
                run.take_result(&mut JsonRuntime::new(plan)).map(RunValue::into_json).map_err(OperonError::Usage)
            }
        }
    };
    spare.offer_shared(shared, stepper);
    result
}

/// Drives `job` to its end in the calling task; returns its run (nothing else shares it) and
/// stepper, for the engine's next run.
async fn run_in_place(job: Job<'_>) -> (Arc<SharedRun>, Box<Stepper>) {
    let mut driver = job.driver_in_place();
    driver.drive().await;
    driver.into_parts()
}

/// Runs `job` in place and returns everything it produced (frames, grouped outputs, errors
/// listed with [`ErrorMode::Continue`]), or its error.
#[doc = include_str!("../../../doc/drivers/tokio/entry/run_output.md")]
pub async fn run_output(job: Job<'_>) -> Result<RunOutput> {
    let spare = job.spare;
    let (shared, stepper) = run_in_place(job).await;
    let out = output(shared.lock().run_mut());
    spare.offer_shared(shared, stepper);
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
