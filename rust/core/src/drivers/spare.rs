//! [`Spare`]: the buffers of an engine's last run, kept for its next one. A run of a small plan
//! spends as much time allocating and freeing its state as running its ops; a parked run
//! restarted keeps its buffers (see [`Run::restart`]).

use std::sync::{Arc, Mutex};

use serde_json::Value;

#[cfg(feature = "tokio")]
use super::step::Stepper;
#[cfg(feature = "tokio")]
use crate::handle::shared::SharedRun;
use crate::json::{Json, RunValue};
use crate::plan::Plan;
use crate::run::{Facts, Run};
use crate::scheduler::ErrorMode;

/// Plans of at most this many ops keep a spare run (larger runs cost little to make next to
/// running them, and a parked one would hold its memory).
#[doc = include_str!("../../doc/drivers/spare/SPARE_MAX_OPS.md")]
pub const SPARE_MAX_OPS: usize = 256;

/// One parked run of an engine, taken by its next run.
#[doc = include_str!("../../doc/drivers/spare/Spare.md")]
#[derive(Default)]
pub struct Spare {
    slot: Mutex<Option<Box<Run<Json>>>>,
    /// The tokio driver's: the run inside its shared cell, and the driver's stepper (a run
    /// awaited in place then allocates neither).
    #[cfg(feature = "tokio")]
    shared: Mutex<Option<(Arc<SharedRun>, Box<Stepper>)>>,
}

impl Spare {
    /// A run of `plan` over `inputs` (an object) that keeps its frames: the spare one restarted
    /// when there is one, else a new one.
    #[doc = include_str!("../../doc/drivers/spare/Spare.run.md")]
    pub fn run(&self, plan: &Arc<Plan>, facts: &Arc<Facts>, inputs: Value, mode: ErrorMode) -> Box<Run<Json>> {
        let spare = self.slot.try_lock().ok().and_then(|mut slot| slot.take());
        match spare {
            Some(mut run) => {
                run.restart(plan, facts, RunValue::Json(inputs), mode, true);
                run
            }
            None => Box::new(Run::new(Arc::clone(plan), Arc::clone(facts), RunValue::Json(inputs), mode, true)),
        }
    }

    /// Parks a run that is over and keeps it for the next run (plans of at most
    /// [`SPARE_MAX_OPS`] ops; never waits for another thread).
    #[doc = include_str!("../../doc/drivers/spare/Spare.offer.md")]
    pub fn offer(&self, mut run: Box<Run<Json>>) {
        if run.plan().ops.len() > SPARE_MAX_OPS {
            return;
        }
        run.park(RunValue::Json(Value::Null));
        if let Ok(mut slot) = self.slot.try_lock() {
            *slot = Some(run);
        }
    }

    /// A run of `plan` over `inputs` for the tokio driver, shared, and a stepper for it: the
    /// spare ones when there are (the run restarted), else new ones.
    #[cfg(feature = "tokio")]
    pub(crate) fn shared(
        &self,
        plan: &Arc<Plan>,
        facts: &Arc<Facts>,
        inputs: Value,
        mode: ErrorMode,
    ) -> (Arc<SharedRun>, Box<Stepper>) {
        let spare = self.shared.try_lock().ok().and_then(|mut slot| slot.take());
        if let Some((mut shared, stepper)) = spare {
            if let Some(run) = SharedRun::unshared_run(&mut shared, plan) {
                run.restart(plan, facts, RunValue::Json(inputs), mode, true);
                return (shared, stepper);
            }
        }
        (SharedRun::new(Arc::clone(plan), self.run(plan, facts, inputs, mode)), Box::default())
    }

    /// Parks a shared run that is over and keeps it, with its stepper, for the next run awaited in
    /// place (when nothing else shares it, of a plan of at most [`SPARE_MAX_OPS`] ops).
    #[cfg(feature = "tokio")]
    pub(crate) fn offer_shared(&self, mut shared: Arc<SharedRun>, stepper: Box<Stepper>) {
        let plan = Arc::clone(shared.plan());
        let Some(run) = SharedRun::unshared_run(&mut shared, &plan) else { return };
        if run.plan().ops.len() > SPARE_MAX_OPS {
            return;
        }
        run.park(RunValue::Json(Value::Null));
        if let Ok(mut slot) = self.shared.try_lock() {
            *slot = Some((shared, stepper));
        }
    }
}
