//! Running an engine on tokio: async ops, `bound="cpu"` ops on the blocking pool, streaming
//! handles ([`crate::drivers::tokio`]), middleware around `run_json` and `run_json_async`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{run_inputs, Operon, RunOutput};
use crate::drivers::tokio::Job;
use crate::error::{OperonError, Result};
use crate::handle::ExecutionHandle;
use crate::middleware::MiddlewareContext;
use crate::scheduler::ErrorMode;
use crate::trace::{RunIds, Tracer};

impl Operon {
    fn job(&self, inputs: Value, mode: ErrorMode, ids: RunIds, tracers: Vec<Arc<dyn Tracer>>) -> Job<'_> {
        Job { plan: &self.plan, facts: &self.facts, impls: &self.impls, spare: &self.spare, inputs, mode, ids, tracers }
    }

    /// The tracers of a run started with `ids` and the ids its trace gets (all set); none (and
    /// no id made up) when the engine has no tracer.
    #[inline]
    fn traced(&self, ids: RunIds) -> (RunIds, Vec<Arc<dyn Tracer>>) {
        if self.tracers.is_empty() {
            (RunIds::default(), Vec::new())
        } else {
            (ids.filled(), self.tracers.clone())
        }
    }

    /// Starts a run on the current tokio runtime and returns its streaming handle (dropping the
    /// handle cancels the run). The ids are those of [`ExecutionHandle::context`] and of the
    /// run's trace; `tracer_override`, when given, replaces the engine's tracers for this run
    /// (`Some(vec![])`: none). Middleware does not apply (as in the published crate: it wraps
    /// [`Operon::run_json_async`]). Outside a tokio runtime, a [`OperonError::Usage`] error.
    #[doc = include_str!("../../doc/engine/run_async/Operon.start.md")]
    pub fn start(
        &self,
        inputs: Map<String, Value>,
        user_id: Option<String>,
        session_id: Option<String>,
        request_id: Option<String>,
        tracer_override: Option<Vec<Arc<dyn Tracer>>>,
    ) -> Result<ExecutionHandle> {
        let ids = RunIds { user_id, session_id, request_id };
        let tracers = tracer_override.unwrap_or_else(|| self.tracers.clone());
        if tracers.is_empty() {
            let job = self.job(Value::Object(inputs), ErrorMode::Raise, RunIds::default(), tracers);
            return crate::drivers::tokio::spawn(job).map(|h| h.with_context(ids, None));
        }
        let context = MiddlewareContext::from_ids(ids);
        let job = self.job(Value::Object(inputs), ErrorMode::Raise, context.ids(), tracers);
        crate::drivers::tokio::spawn(job).map(|h| h.with_context(RunIds::default(), Some(context)))
    }

    /// [`Operon::start`] with inputs as a JSON value (an object) and an error mode.
    #[doc = include_str!("../../doc/engine/run_async/Operon.start_with.md")]
    pub fn start_with(&self, inputs: Value, mode: ErrorMode) -> Result<ExecutionHandle> {
        let inputs = run_inputs(&self.plan, inputs)?;
        let (ids, tracers) = self.traced(RunIds::default());
        let context = (!tracers.is_empty()).then(|| MiddlewareContext::from_ids(ids.clone()));
        crate::drivers::tokio::spawn(self.job(inputs, mode, ids, tracers))
            .map(|h| h.with_context(RunIds::default(), context))
    }

    /// Runs the graph once in the calling task and returns its result: the frames grouped by key,
    /// a key seen once as its value, several as a list. The first op error fails the run. A graph
    /// of sync ops runs to its end in the first poll (nothing is spawned).
    ///
    /// With middleware, the run is wrapped in its chain ([`crate::middleware`]); with none, there
    /// is no chain at all.
    #[doc = include_str!("../../doc/engine/run_async/Operon.run_json_async.md")]
    pub async fn run_json_async(
        &self,
        inputs: Map<String, Value>,
        user_id: Option<String>,
        session_id: Option<String>,
        request_id: Option<String>,
    ) -> Result<Value> {
        let ids = RunIds { user_id, session_id, request_id };
        if self.middleware.is_empty() {
            let (ids, tracers) = self.traced(ids);
            return crate::drivers::tokio::run_result(self.job(Value::Object(inputs), ErrorMode::Raise, ids, tracers))
                .await;
        }
        let ctx = MiddlewareContext::from_ids(ids);
        // boxed: the chain's state does not weigh on the future of a run without middleware
        Box::pin(crate::middleware::around(&self.middleware, inputs, &ctx, |inputs| {
            let (ids, tracers) = if self.tracers.is_empty() {
                (RunIds::default(), Vec::new())
            } else {
                (ctx.ids(), self.tracers.clone())
            };
            crate::drivers::tokio::run_result(self.job(Value::Object(inputs), ErrorMode::Raise, ids, tracers))
        }))
        .await
    }

    /// [`Operon::run_json_async`] with inputs as a JSON value and an error mode, returning
    /// everything the run produced (as [`Operon::run_with`] does). Middleware does not apply.
    #[doc = include_str!("../../doc/engine/run_async/Operon.run_async_with.md")]
    pub async fn run_async_with(&self, inputs: Value, mode: ErrorMode) -> Result<RunOutput> {
        let inputs = run_inputs(&self.plan, inputs)?;
        let (ids, tracers) = self.traced(RunIds::default());
        crate::drivers::tokio::run_output(self.job(inputs, mode, ids, tracers)).await
    }

    /// [`Operon::run_json_async`], blocking the calling thread (on a new current-thread tokio
    /// runtime when the graph has async or cpu ops, or the engine has middleware). Called inside
    /// a tokio runtime (where blocking would stall it) it is a [`OperonError::Usage`] error: await
    /// `run_json_async` there.
    #[doc = include_str!("../../doc/engine/run_async/Operon.run_json.md")]
    pub fn run_json(
        &self,
        inputs: Map<String, Value>,
        user_id: Option<String>,
        session_id: Option<String>,
        request_id: Option<String>,
    ) -> Result<Value> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(OperonError::Usage(format!(
                "Operon::run_json on graph '{}' blocks the thread, and it was called inside a tokio runtime: use \
                 `engine.run_json_async(inputs, user_id, session_id, request_id).await` there",
                self.plan.name
            )));
        }
        if !self.middleware.is_empty() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| OperonError::Runtime(format!("could not start a tokio runtime: {e}")))?;
            return runtime.block_on(self.run_json_async(inputs, user_id, session_id, request_id));
        }
        let (ids, tracers) = self.traced(RunIds { user_id, session_id, request_id });
        crate::drivers::tokio::block_on(self.job(Value::Object(inputs), ErrorMode::Raise, ids, tracers))
    }
}
