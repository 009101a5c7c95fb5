//! The driver that steps a run on the thread running the caller's asyncio loop.
//!
//! What a run produces is decided by the core ([`operonx::run::Run`] over [`PyRuntime`]); this
//! driver decides only where and when each op's call runs. Sync ops are called inline with
//! vectorcall. Async ops become loop tasks whose done-callback ([`callbacks::PyOpDone`]) re-enters
//! the driver on the same thread; `bound="cpu"` ops go to worker threads ([`crate::workers`]) with
//! the run's cancel token and come back through `call_soon_threadsafe`. Sync generators are pulled
//! in batches that start at one item and grow, the driver yielding to the loop between batches so
//! frames reach consumers while the generator runs; async generators are pumped by one task each.
//!
//! This module holds a run's driver state; `step` the stepping loop, `callbacks` how control comes
//! back to it and how concurrent ops are launched, `generators` sync generators, `outcome` the
//! result dict and the end of a run.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use operonx::plan::OpId;
use operonx::run::Run;
use operonx::scheduler::{CtxId, ErrorMode};
use operonx::OperonError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use rustc_hash::FxHashMap;

use crate::compiled::Compiled;
use crate::errors::{to_pyerr, usage_error};
use crate::runtime::{PyModel, PyRuntime};

mod attempts;
pub(crate) mod cache;
mod callbacks;
mod generators;
mod outcome;
mod pump;
mod run_log;
mod run_view;
mod step;

use run_log::RunLog;

use callbacks::{PyResume, PyRunFutureDone};
pub(crate) use run_view::PyRunView;
pub(crate) use step::{drive, ensure_started, settle, start};

/// Largest batch a sync generator is pulled in before the driver yields to the loop.
const MAX_BATCH: u32 = 256;

/// One run of an engine. Owned by the loop thread; its callbacks hold it alive until it ends.
#[pyclass(frozen, module = "operonx._core", name = "Run")]
pub struct PyRun {
    compiled: Arc<Compiled>,
    /// The run's state. Only `Drop` takes it out (to park the run for the engine's next one).
    core: ManuallyDrop<Mutex<RunCore>>,
    /// Set by a handle dropped while the run was being stepped (its lock held): the driver
    /// cancels the run at its next step.
    cancel_requested: AtomicBool,
}

impl Drop for PyRun {
    /// Parks the run for the engine's next run (plans of up to `SPARE_MAX_OPS` ops). A run is
    /// dropped when Python frees it, with the GIL held, so its values are released here; nothing
    /// here can fail.
    fn drop(&mut self) {
        // SAFETY: this is the run's drop; `core` is not used after it is taken here.
        let core = unsafe { ManuallyDrop::take(&mut self.core) };
        let RunCore { mut run, .. } = core.into_inner().unwrap_or_else(PoisonError::into_inner);
        if self.compiled.keeps_spares() {
            run.park(Python::attach(|py| py.None()));
            self.compiled.offer_spare(run);
        }
    }
}

impl PyRun {
    /// The compiled graph this run runs.
    pub(crate) fn engine(&self) -> &Compiled {
        &self.compiled
    }

    /// Asks the driver to cancel the run at its next step (for code that cannot take the lock).
    pub(crate) fn request_cancel(&self) {
        self.cancel_requested.store(true, Ordering::Release);
    }

    /// Cancels the run now if a cancel was requested while it was busy.
    fn take_cancel_request(&self, py: Python<'_>, core: &mut RunCore) {
        if self.cancel_requested.load(Ordering::Acquire) {
            self.cancel_requested.store(false, Ordering::Relaxed);
            core.cancel(py);
        }
    }

    /// Tries to take the run's lock without waiting: `None` when it is held (the run is being stepped).
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, RunCore>> {
        match self.core.try_lock() {
            Ok(core) => Some(core),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// A sync generator being pulled.
struct SyncGen {
    op: OpId,
    ctx: CtxId,
    iter: Py<PyAny>,
    index: u32,
    batch: u32,
    /// Set when the generator is exhausted (`Ok`) or raised: it ends once its items' work is done.
    ended: Option<Result<(), PyErr>>,
}

/// The state of a run: the core's run, and where its calls are.
pub(crate) struct RunCore {
    run: Box<Run<PyModel>>,
    tasks: FxHashMap<(OpId, CtxId), Py<PyAny>>,
    sync_gens: Vec<SyncGen>,
    deferred: Vec<(OpId, CtxId)>,
    item_counters: FxHashMap<(OpId, CtxId), u32>,
    event_loop: Option<Py<PyAny>>,
    future: Option<Py<PyAny>>,
    resume_waiter: Option<Py<PyAny>>,
    paused: bool,
    resume_scheduled: bool,
    ids: [Option<Py<PyAny>>; 3],
    /// Set while the run logs at DEBUG (see [`crate::log`]); taken when its end is logged.
    log: Option<Box<RunLog>>,
    /// Set when the run is traced; taken when its trace is handed over, at its end.
    trace: Option<Box<crate::trace::TraceRun>>,
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Takes the run's lock; an op calling back into its own run gets a `UsageError`.
pub(crate) fn lock(run: &PyRun) -> PyResult<MutexGuard<'_, RunCore>> {
    match run.core.try_lock() {
        Ok(g) => Ok(g),
        Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
        Err(TryLockError::WouldBlock) => Python::attach(|py| {
            Err(usage_error(py, "this run is already being stepped (an op called back into its own run)"))
        }),
    }
}

/// Reads `errors=`.
pub(crate) fn error_mode(py: Python<'_>, errors: &str) -> PyResult<ErrorMode> {
    match errors {
        "raise" => Ok(ErrorMode::Raise),
        "continue" => Ok(ErrorMode::Continue),
        other => {
            let msg = format!("errors={other:?} is not valid; use errors=\"raise\" or errors=\"continue\"");
            Err(to_pyerr(py, &OperonError::Usage(msg)))
        }
    }
}

/// The inputs of a run of `eng`: a mapping (`None` is an empty dict), else an `InputError`. The one
/// check of run inputs, made before middleware sees them too.
pub(crate) fn checked_inputs<'py>(
    py: Python<'py>,
    eng: &Compiled,
    inputs: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(i) = inputs.filter(|i| !i.is_none()) else {
        return Ok(PyDict::new(py).into_any());
    };
    if i.cast::<PyDict>().is_ok() || i.hasattr(pyo3::intern!(py, "keys"))? {
        return Ok(i);
    }
    let found = i.get_type().name()?.to_string();
    Err(to_pyerr(py, &OperonError::RunInputs { graph: eng.plan().name.clone(), found }))
}

/// Creates a run of `engine` (not started).
pub(crate) fn new_run<'py>(
    py: Python<'py>,
    eng: &Arc<Compiled>,
    inputs: Option<Bound<'py, PyAny>>,
    mode: ErrorMode,
    retain: bool,
    ids: [Option<Bound<'py, PyAny>>; 3],
) -> PyResult<Bound<'py, PyRun>> {
    let inputs = checked_inputs(py, eng, inputs)?;
    let run = match eng.take_spare() {
        Some(mut run) => {
            run.restart(eng.plan(), eng.facts(), inputs.unbind(), mode, retain);
            run
        }
        None => {
            let (plan, facts) = (Arc::clone(eng.plan()), Arc::clone(eng.facts()));
            Box::new(Run::new(plan, facts, inputs.unbind(), mode, retain))
        }
    };
    let mut run = run;
    let log = if eng.debug_enabled(py) { Some(RunLog::begin(py, &mut run, ids[0].as_ref())) } else { None };
    let core = RunCore {
        run,
        tasks: FxHashMap::default(),
        sync_gens: Vec::new(),
        deferred: Vec::new(),
        item_counters: FxHashMap::default(),
        event_loop: None,
        future: None,
        resume_waiter: None,
        paused: false,
        resume_scheduled: false,
        ids: ids.map(|i| i.map(Bound::unbind)),
        log,
        trace: None,
    };
    Bound::new(
        py,
        PyRun {
            compiled: Arc::clone(eng),
            core: ManuallyDrop::new(Mutex::new(core)),
            cancel_requested: AtomicBool::new(false),
        },
    )
}

impl RunCore {
    /// The core's run: its values, frames, errors and phase.
    pub(crate) fn run(&self) -> &Run<PyModel> {
        &self.run
    }

    /// The core's run, for consumers (frame cursor, waiters).
    pub(crate) fn run_mut(&mut self) -> &mut Run<PyModel> {
        &mut self.run
    }

    /// Traces the run to `sinks` (before it starts).
    pub(crate) fn trace_with(
        &mut self,
        py: Python<'_>,
        sinks: &crate::trace::Sinks,
        engine: &Arc<crate::trace::EngineTrace>,
        compiled: &Arc<Compiled>,
    ) -> PyResult<()> {
        let (trace, log) = crate::trace::TraceRun::begin(py, sinks, engine, compiled)?;
        self.run.record_spans(log);
        self.trace = Some(trace);
        Ok(())
    }

    /// The run's request, session or user id.
    pub(crate) fn id(&self, i: usize) -> Option<&Py<PyAny>> {
        self.ids[i].as_ref()
    }

    /// Marks the run as started; false when it already was.
    pub(crate) fn mark_started(&mut self) -> bool {
        let fresh = !self.run.is_started();
        self.run.start();
        fresh
    }

    /// Marks the run as started by a loop turn already scheduled on `event_loop`.
    pub(crate) fn start_on(
        &mut self,
        py: Python<'_>,
        event_loop: &Bound<'_, PyAny>,
        run: &Bound<'_, PyRun>,
    ) -> PyResult<()> {
        self.event_loop = Some(event_loop.clone().unbind());
        self.schedule_resume(py, event_loop, run)?;
        self.run.start();
        Ok(())
    }

    /// True when no work is left.
    fn no_work_left(&self) -> bool {
        self.run.state().is_idle() && self.sync_gens.is_empty()
    }

    /// The next ready instance; while a sync generator streams, work outside its items waits.
    fn next_ready(&mut self) -> Option<(OpId, CtxId)> {
        let Some(top) = self.sync_gens.last() else {
            return self.run.pop_ready();
        };
        let (gen, gctx) = (top.op, top.ctx);
        let depth = self.run.state().contexts().depth(gctx) + 1;
        let mut set_aside = Vec::new();
        let found = loop {
            match self.run.pop_ready() {
                None => break None,
                Some((op, ctx)) => {
                    let contexts = self.run.state().contexts();
                    let under = contexts
                        .ancestor(ctx, depth)
                        .is_some_and(|a| contexts.parent(a) == gctx && contexts.origin(a) == gen);
                    if under {
                        break Some((op, ctx));
                    }
                    set_aside.push((op, ctx));
                }
            }
        };
        self.deferred.extend(set_aside);
        found
    }

    fn restore_deferred(&mut self) {
        let deferred = std::mem::take(&mut self.deferred);
        self.run.state_mut().unpop(deferred.into_iter());
    }

    /// The running event loop (remembered once found); a `UsageError` when there is none.
    pub(crate) fn ensure_loop(&mut self, py: Python<'_>, eng: &Compiled) -> PyResult<Py<PyAny>> {
        if let Some(l) = &self.event_loop {
            return Ok(l.clone_ref(py));
        }
        let get = GET_RUNNING_LOOP
            .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind()))?;
        let event_loop = get.bind(py).call0().map_err(|_| {
            let msg = format!(
                "graph '{}' has async, cpu or streaming ops and needs a running event loop: use `await engine.run(...)`, \
                 or `engine.run_sync(...)` from code with no running loop",
                eng.plan().name
            );
            to_pyerr(py, &OperonError::Usage(msg))
        })?;
        self.event_loop = Some(event_loop.clone().unbind());
        Ok(event_loop.unbind())
    }

    /// Schedules one step of the run on the next loop turn (at most one at a time).
    pub(crate) fn schedule_resume(
        &mut self,
        py: Python<'_>,
        event_loop: &Bound<'_, PyAny>,
        run: &Bound<'_, PyRun>,
    ) -> PyResult<()> {
        if self.resume_scheduled {
            return Ok(());
        }
        self.resume_scheduled = true;
        event_loop.call_method1(pyo3::intern!(py, "call_soon"), (PyResume::new(run.clone().unbind()),))?;
        Ok(())
    }

    /// True when the run waits only for a scheduled loop turn (between generator batches).
    pub(crate) fn resume_pending(&self) -> bool {
        self.resume_scheduled && !self.paused
    }

    /// A consumer took frames: resume a stream paused for backpressure once it has room.
    pub(crate) fn after_consume(&mut self, py: Python<'_>, run: &Bound<'_, PyRun>) -> PyResult<()> {
        if self.run.frames().pending() > operonx::handle::LOW_WATER {
            return Ok(());
        }
        if let Some(w) = self.resume_waiter.take() {
            crate::frames::resolve(py, w.bind(py), py.None().into_bound(py))?;
        }
        if self.paused {
            self.paused = false;
            if let Some(l) = self.event_loop.as_ref().map(|l| l.clone_ref(py)) {
                self.schedule_resume(py, l.bind(py), run)?;
            }
        }
        Ok(())
    }

    /// The run's runtime with `eng`'s values.
    fn runtime<'a, 'py>(py: Python<'py>, eng: &'a Compiled) -> PyRuntime<'a, 'py> {
        PyRuntime::new(py, eng)
    }
}
