//! [`SharedRun`]: a run of the Rust API shared by its driver and its consumers (the streaming
//! handle and its watchers). One lock guards the run: the driver holds it while it steps the run,
//! a consumer while it checks for a frame and, finding none, registers its [`super::Signal`]. The run
//! fires signals under that lock, so no wake-up is lost.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use serde_json::Value;

use crate::error::OperonError;
use crate::json::{Json, JsonRuntime, RunValue};
use crate::plan::Plan;
use crate::run::{Phase, Run};

/// A run, its driver's waker and the ids it was started with, behind one lock.
#[doc = include_str!("../../doc/handle/shared/SharedRun.md")]
pub struct SharedRun {
    plan: Arc<Plan>,
    core: Mutex<Core>,
}

/// What the lock of a [`SharedRun`] guards.
#[doc = include_str!("../../doc/handle/shared/Core.md")]
pub struct Core {
    run: Box<Run<Json>>,
    /// The driver's task while it waits for its in-flight calls: woken by a cancel.
    driver: Option<Waker>,
}

impl SharedRun {
    /// Shares `run` (a run of `plan`).
    #[doc = include_str!("../../doc/handle/shared/SharedRun.new.md")]
    pub fn new(plan: Arc<Plan>, run: Box<Run<Json>>) -> Arc<Self> {
        Arc::new(SharedRun { plan, core: Mutex::new(Core { run, driver: None }) })
    }

    /// The run back, once nobody else shares it.
    #[doc = include_str!("../../doc/handle/shared/SharedRun.into_run.md")]
    pub fn into_run(this: Arc<Self>) -> Option<Box<Run<Json>>> {
        let shared = Arc::into_inner(this)?;
        Some(shared.core.into_inner().unwrap_or_else(PoisonError::into_inner).run)
    }

    /// The run, when nobody else shares it (no lock is taken), made a run of `plan` from now on
    /// (it is restarted next) and with no driver's waker.
    pub(crate) fn unshared_run<'a>(this: &'a mut Arc<Self>, plan: &Arc<Plan>) -> Option<&'a mut Run<Json>> {
        let shared = Arc::get_mut(this)?;
        if !Arc::ptr_eq(&shared.plan, plan) {
            shared.plan = Arc::clone(plan);
        }
        let core = shared.core.get_mut().unwrap_or_else(PoisonError::into_inner);
        core.driver = None;
        Some(&mut core.run)
    }

    /// The plan being run.
    #[doc = include_str!("../../doc/handle/shared/SharedRun.plan.md")]
    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// Takes the lock. A panic never happens while it is held (op calls are guarded), so a
    /// poisoned lock is taken as it is.
    #[doc = include_str!("../../doc/handle/shared/SharedRun.lock.md")]
    pub fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels the run unless it is over: nothing new starts, every consumer and the driver are
    /// woken (the driver then drops the calls in flight). Returns false when it was over.
    #[doc = include_str!("../../doc/handle/shared/SharedRun.cancel.md")]
    pub fn cancel(&self) -> bool {
        let mut core = self.lock();
        if !core.run.cancel() {
            return false;
        }
        core.wake_all(&self.plan);
        true
    }
}

impl Core {
    /// The run.
    #[doc = include_str!("../../doc/handle/shared/Core.run.md")]
    pub fn run(&self) -> &Run<Json> {
        &self.run
    }

    /// The run, to step it or to take frames.
    #[doc = include_str!("../../doc/handle/shared/Core.run_mut.md")]
    pub fn run_mut(&mut self) -> &mut Run<Json> {
        &mut self.run
    }

    /// Remembers the driver's task, woken when the run is cancelled.
    #[doc = include_str!("../../doc/handle/shared/Core.set_driver.md")]
    pub fn set_driver(&mut self, waker: &Waker) {
        match &mut self.driver {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    /// Ends a run with no work left (finished unless it failed or was cancelled) and wakes every
    /// consumer: they find the frames left, then the end.
    #[doc = include_str!("../../doc/handle/shared/Core.end.md")]
    pub fn end(&mut self, plan: &Plan) {
        self.run.finish();
        self.wake_all(plan);
    }

    /// Wakes every consumer and the driver.
    #[doc = include_str!("../../doc/handle/shared/Core.wake_all.md")]
    pub fn wake_all(&mut self, plan: &Plan) {
        // the Rust runtime's wake cannot fail
        let _ = self.run.wake_all(&mut JsonRuntime::new(plan));
        if let Some(w) = self.driver.take() {
            w.wake();
        }
    }

    /// The run's error once it is over: its failure, or [`OperonError::Cancelled`].
    #[doc = include_str!("../../doc/handle/shared/Core.error.md")]
    pub fn error(&self, plan: &Plan) -> Option<OperonError> {
        match self.run.phase() {
            Phase::Failed => self.run.failure().cloned(),
            Phase::Cancelled => Some(OperonError::Cancelled { graph: plan.name.clone() }),
            _ => None,
        }
    }

    /// The run's failure, if it failed (not when it was cancelled).
    #[doc = include_str!("../../doc/handle/shared/Core.failure.md")]
    pub fn failure(&self) -> Option<OperonError> {
        match self.run.phase() {
            Phase::Failed => self.run.failure().cloned(),
            _ => None,
        }
    }

    /// The data of a frame as a map (frames always carry a mapping).
    #[doc = include_str!("../../doc/handle/shared/Core.data_map.md")]
    pub fn data_map(data: &RunValue) -> serde_json::Map<String, Value> {
        data.clone().into_map()
    }
}
