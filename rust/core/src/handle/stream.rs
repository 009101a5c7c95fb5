//! [`ExecutionHandle`]: a run started with `Operon::start`, as a [`futures::Stream`] of its
//! frames, with `wait_for`, `collect`, `result` and `cancel`; [`Watcher`]: more consumers of the
//! same run, on other tasks.
//!
//! Every consumer checks the run and, finding nothing to take, registers a [`Signal`] in the same
//! hold of the run's lock (see [`super::shared`]): no wake-up is lost.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use serde_json::Value;

use super::event::FrameEvent;
use super::shared::SharedRun;
use crate::json::{Fired, Signal};
use crate::json::{JsonRuntime, RunValue};
use crate::error::OperonError;
use crate::middleware::MiddlewareContext;
use crate::run::group;
use crate::scheduler::contexts::render;
use crate::trace::RunIds;

/// How [`ExecutionHandle::collect`] gives the frames it takes.
#[doc = include_str!("../../doc/handle/stream/CollectMode.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CollectMode {
    /// An object of each key's values in frame order: a list per key, or with `unwrap` a key seen
    /// once keeps its value (frames of loop iterations that were not the last are left out).
    #[default]
    Group,
    /// The list of every frame's data, in order.
    Flat,
}

/// A run started with `Operon::start`: a stream of its frames (`while let Some(f) =
/// handle.next().await`), and the run's outcome. Dropping it cancels the run.
///
/// ```
/// use futures::StreamExt;
/// use operonx::{CollectMode, ExecutionHandle, Operon};
/// use serde_json::{json, Map, Value};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), operonx::OperonError> {
/// let doc = json!({
///     "schema_version": "1.0", "type": "graph", "name": "g",
///     "ops": {"inc": {"type": "code", "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}}},
///     "edges": [], "entries": ["inc"], "exits": ["inc"]
/// });
/// let engine = Operon::builder(doc.to_string())
///     .op("inc", |i: Map<String, Value>| Ok(json!({"y": i["x"].as_i64().unwrap_or(0) + 1})))
///     .build()?;
/// let mut handle = engine.start(Map::from_iter([("x".into(), json!(1))]), None, None, None, None)?;
/// while let Some(frame) = handle.next().await {
///     assert_eq!(frame?.data["y"], json!(2));
/// }
/// assert_eq!(handle.result(true).await?, json!({"y": 2}));
/// assert_eq!(ExecutionHandle::collect(&mut handle, CollectMode::Flat, false).await?, json!([]));
/// # Ok(())
/// # }
/// ```
pub struct ExecutionHandle {
    watcher: Watcher,
    /// What the stream waits on, when it waits.
    next: Option<Arc<Signal<Value>>>,
    /// The ids the run was started with, for [`ExecutionHandle::context`] (made when first asked
    /// for, unless the run needed them at its start).
    ids: RunIds,
    context: OnceLock<MiddlewareContext>,
}

/// Another consumer of a run: `wait_for`, `result`, `cancel` from any task. Cloning it is
/// cheap; dropping it does not cancel the run (dropping the [`ExecutionHandle`] does).
#[doc = include_str!("../../doc/handle/stream/Watcher.md")]
#[derive(Clone)]
pub struct Watcher {
    shared: Arc<SharedRun>,
}

impl ExecutionHandle {
    /// The handle of a run shared with its driver.
    pub(crate) fn new(shared: Arc<SharedRun>) -> Self {
        ExecutionHandle { watcher: Watcher { shared }, next: None, ids: RunIds::default(), context: OnceLock::new() }
    }

    /// The handle with the ids its run was started with, or the context made of them already.
    pub(crate) fn with_context(mut self, ids: RunIds, context: Option<MiddlewareContext>) -> Self {
        self.ids = ids;
        if let Some(context) = context {
            self.context = OnceLock::from(context);
        }
        self
    }

    /// The run's ids (as the published handle gives them): those given to `start`, each one not
    /// given made up (a UUID), the same as the run's trace has.
    #[doc = include_str!("../../doc/handle/stream/Watcher.context.md")]
    pub fn context(&self) -> &MiddlewareContext {
        self.context.get_or_init(|| MiddlewareContext::from_ids(self.ids.clone()))
    }

    /// A consumer of the same run for another task (a `wait_for` while this handle streams).
    #[doc = include_str!("../../doc/handle/stream/Watcher.watcher.md")]
    pub fn watcher(&self) -> Watcher {
        self.watcher.clone()
    }

    /// Frames emitted so far.
    #[doc = include_str!("../../doc/handle/stream/ExecutionHandle.frame_count.md")]
    pub fn frame_count(&self) -> usize {
        self.watcher.frame_count()
    }

    /// True once the run is over (finished, failed or cancelled).
    #[doc = include_str!("../../doc/handle/stream/ExecutionHandle.is_done.md")]
    pub fn is_done(&self) -> bool {
        self.watcher.is_done()
    }

    /// The value of `var` in the frames of op `op` (its short or full name): the last one emitted
    /// so far, else the first to arrive; `None` once the run ended without one. The run's error if
    /// it failed without one; an op the graph does not have is a [`OperonError::Usage`] error.
    #[doc = include_str!("../../doc/handle/stream/ExecutionHandle.wait_for.md")]
    pub async fn wait_for(&self, op: &str, var: &str) -> Result<Option<Value>, OperonError> {
        self.watcher.wait_for(op, var).await
    }

    /// Waits for the end of the run and returns its result: every frame that is part of it (not
    /// one of a loop iteration that was not the last) grouped by key, with `unwrap` a key seen
    /// once as its value, else every key as a list. The run's error if it failed;
    /// [`OperonError::Cancelled`] if it was cancelled. Frames the stream took are included.
    #[doc = include_str!("../../doc/handle/stream/ExecutionHandle.result.md")]
    pub async fn result(&self, unwrap: bool) -> Result<Value, OperonError> {
        self.watcher.result(unwrap).await
    }

    /// Waits for the end of the run and takes the frames the stream has not delivered (the
    /// stream then ends), grouped ([`CollectMode::Group`]) or as a list of their data
    /// ([`CollectMode::Flat`]). The run's error if it failed; after a cancel, what arrived.
    ///
    /// `futures::StreamExt` has a `collect` too: with it in scope, call this one as
    /// `ExecutionHandle::collect(&mut handle, mode, unwrap)`.
    #[doc = include_str!("../../doc/handle/stream/Watcher.collect.md")]
    pub async fn collect(&mut self, mode: CollectMode, unwrap: bool) -> Result<Value, OperonError> {
        self.next = None;
        let shared = &self.watcher.shared;
        self.watcher.wait_done().await;
        let plan = shared.plan();
        let mut core = shared.lock();
        let mut rest = Vec::new();
        if !core.run().frames().is_drained() {
            while let Some(f) = core.run_mut().frames_mut().next(RunValue::clone) {
                rest.push(f);
            }
            core.run_mut().frames_mut().drain();
        }
        if let Some(e) = core.failure() {
            return Err(e);
        }
        match mode {
            CollectMode::Flat => Ok(Value::Array(rest.into_iter().map(|f| f.data.into_json()).collect())),
            CollectMode::Group => {
                let kept = rest.iter().filter(|f| !f.superseded).map(|f| &f.data);
                group(&mut JsonRuntime::new(plan), kept, unwrap).map(RunValue::into_json).map_err(OperonError::Usage)
            }
        }
    }

    /// Cancels the run: nothing new starts, async ops in flight are dropped, and consumers see the
    /// frames that arrived, then the end.
    #[doc = include_str!("../../doc/handle/stream/ExecutionHandle.cancel.md")]
    pub fn cancel(&self) {
        self.watcher.cancel();
    }

    /// The errors of the ops that failed, with `ErrorMode::Continue` (the run goes on past them).
    #[doc = include_str!("../../doc/handle/stream/ExecutionHandle.errors.md")]
    pub fn errors(&self) -> Vec<OperonError> {
        self.watcher.errors()
    }
}

impl Drop for ExecutionHandle {
    /// Cancels the run (nothing happens to a run that is over).
    fn drop(&mut self) {
        self.watcher.shared.cancel();
    }
}

impl futures::Stream for ExecutionHandle {
    type Item = Result<FrameEvent, OperonError>;

    /// The next frame; after the last one, the run's error if it failed, then the end.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let shared = Arc::clone(&this.watcher.shared);
        let mut core = shared.lock();
        if let Some(f) = core.run_mut().frames_mut().next(RunValue::clone) {
            let plan = shared.plan();
            let data = f.data.into_map();
            let event =
                FrameEvent { op: plan.ops[f.op as usize].name.clone(), context: render(&f.path).into(), data };
            return Poll::Ready(Some(Ok(event)));
        }
        if core.run().frames().is_drained() {
            return Poll::Ready(None);
        }
        if core.run().is_over() {
            core.run_mut().frames_mut().drain();
            return Poll::Ready(core.failure().map(Err));
        }
        if let Some(signal) = &this.next {
            if signal.poll_fired(cx).is_pending() {
                return Poll::Pending; // still registered: its waker is updated
            }
        }
        let signal = Signal::new();
        let _ = signal.poll_fired(cx);
        core.run_mut().waiters_mut().add_next(Arc::clone(&signal), Signal::is_abandoned);
        this.next = Some(signal);
        Poll::Pending
    }
}

impl Watcher {
    /// Frames emitted so far.
    #[doc = include_str!("../../doc/handle/stream/Watcher.frame_count.md")]
    pub fn frame_count(&self) -> usize {
        self.shared.lock().run().frames().total()
    }

    /// True once the run is over (finished, failed or cancelled).
    #[doc = include_str!("../../doc/handle/stream/Watcher.is_done.md")]
    pub fn is_done(&self) -> bool {
        self.shared.lock().run().is_over()
    }

    /// Cancels the run (see [`ExecutionHandle::cancel`]).
    #[doc = include_str!("../../doc/handle/stream/Watcher.cancel.md")]
    pub fn cancel(&self) {
        self.shared.cancel();
    }

    /// The errors of the ops that failed, with `ErrorMode::Continue`.
    #[doc = include_str!("../../doc/handle/stream/Watcher.errors.md")]
    pub fn errors(&self) -> Vec<OperonError> {
        self.shared.lock().run().errors().to_vec()
    }

    /// See [`ExecutionHandle::wait_for`].
    #[doc = include_str!("../../doc/handle/stream/Watcher.wait_for.md")]
    pub async fn wait_for(&self, op: &str, var: &str) -> Result<Option<Value>, OperonError> {
        let plan = self.shared.plan();
        let Some(id) = plan.find_op(op) else {
            return Err(OperonError::Usage(format!(
                "wait_for('{op}', '{var}'): graph '{}' has no op named '{op}'",
                plan.name
            )));
        };
        let name = plan.ops[id as usize].name.as_str();
        let signal = {
            let mut core = self.shared.lock();
            let latest = core.run().frames().all().rev().find_map(|f| {
                (plan.ops[f.op as usize].name == name).then(|| f.data.get(var).cloned()).flatten()
            });
            if latest.is_some() {
                return Ok(latest);
            }
            if core.run().is_over() {
                return core.failure().map_or(Ok(None), Err);
            }
            let signal = Signal::new();
            core.run_mut().waiters_mut().add_value(name, var, Arc::clone(&signal), Signal::is_abandoned);
            signal
        };
        match Fired(signal).await {
            Some(v) => Ok(Some(v)),
            // woken by the end of the run
            None => self.shared.lock().failure().map_or(Ok(None), Err),
        }
    }

    /// See [`ExecutionHandle::result`].
    #[doc = include_str!("../../doc/handle/stream/Watcher.result.md")]
    pub async fn result(&self, unwrap: bool) -> Result<Value, OperonError> {
        self.wait_done().await;
        let plan = self.shared.plan();
        let core = self.shared.lock();
        if let Some(e) = core.error(plan) {
            return Err(e);
        }
        let kept = core.run().frames().kept().map(|f| &f.data);
        group(&mut JsonRuntime::new(plan), kept, unwrap).map(RunValue::into_json).map_err(OperonError::Usage)
    }

    /// Waits until the run is over.
    async fn wait_done(&self) {
        loop {
            let signal = {
                let mut core = self.shared.lock();
                if core.run().is_over() {
                    return;
                }
                let signal = Signal::new();
                core.run_mut().waiters_mut().add_done(Arc::clone(&signal), Signal::is_abandoned);
                signal
            };
            Fired(signal).await;
        }
    }
}
