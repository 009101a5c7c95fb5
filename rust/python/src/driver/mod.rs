//! The driver that steps a run's scheduler on the thread running the caller's asyncio loop.
//!
//! Sync ops are called inline with vectorcall. Async ops become loop tasks whose done-callback
//! ([`OpDone`]) re-enters the driver on the same thread; `bound="cpu"` ops go to worker threads
//! ([`crate::workers`]) and come back through `call_soon_threadsafe`. Sync generators are pulled
//! in batches that start at one item and grow, and the driver yields to the loop between batches so
//! frames reach consumers while the generator runs; async generators are pumped by one task each.
//!
//! This module holds a run's state; `step` the stepping loop, `callbacks` how control comes back to it,
//! `generators` sync generators and items, `outputs` built-in ops, outputs and frames, `loops` loop
//! iterations, `failure` failed and cancelled runs, `host` input resolution.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use operonx::plan::{Builtin, Forward, OpId, OpKind, Plan, RefSource, VarId};
use operonx::scheduler::{choose_branch, resolve_input, CtxId, ErrorMode, Host, Outcome, Resolved, RunState, ROOT};
use operonx::EngineError;
use pyo3::exceptions::{PyException, PyKeyError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::call::call_with_kwnames;
use crate::engine::PyEngine;
use crate::errors::{exceptions, new_error, to_pyerr};
use crate::frames::{resolve, Frame, FrameBuffer};
use crate::state::RunStateView;
use crate::value::apply_transform;
use crate::values::Values;
use crate::workers;

mod callbacks;
mod failure;
mod generators;
mod host;
mod loops;
mod outputs;
mod step;

use callbacks::*;
use generators::*;
use host::*;
use loops::Loops;
pub(crate) use outputs::{forward_into, lookup};
pub(crate) use step::{drive, ensure_started, settle, start};
use step::{from_callback, resume};

/// Arguments of one op call.
type Args<'py> = SmallVec<[Bound<'py, PyAny>; 8]>;

/// Unconsumed frames above which generators stop being pulled when frames are not retained.
pub(crate) const HIGH_WATER: usize = 1024;
/// Unconsumed frames below which paused generators resume.
pub(crate) const LOW_WATER: usize = 256;
/// Largest batch a sync generator is pulled in before the driver yields to the loop.
const MAX_BATCH: u32 = 256;

/// One run of an engine. Owned by the loop thread; its callbacks hold it alive until it ends.
#[pyclass(frozen, module = "operonx._core", name = "Run")]
pub struct Run {
    pub(crate) engine: Py<PyEngine>,
    pub(crate) core: Mutex<RunCore>,
    /// Set by a handle dropped while the run was being stepped (its lock held): the driver
    /// cancels the run at its next step.
    cancel_requested: AtomicBool,
}

impl Run {
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

/// The mutable state of a run.
pub(crate) struct RunCore {
    pub(crate) state: RunState,
    mode: ErrorMode,
    pub(crate) inputs: Py<PyAny>,
    pub(crate) values: Values,
    pub(crate) frames: FrameBuffer,
    errors: Vec<Py<PyAny>>,
    pub(crate) tags: Vec<Py<PyAny>>,
    tasks: FxHashMap<(OpId, CtxId), Py<PyAny>>,
    sync_gens: Vec<SyncGen>,
    deferred: Vec<(OpId, CtxId)>,
    item_counters: FxHashMap<(OpId, CtxId), u32>,
    pub(crate) event_loop: Option<Py<PyAny>>,
    future: Option<Py<PyAny>>,
    pub(crate) done_waiters: Vec<Py<PyAny>>,
    pub(crate) resume_waiter: Option<Py<PyAny>>,
    paused: bool,
    resume_scheduled: bool,
    pub(crate) failure: Option<PyErr>,
    pub(crate) finished: bool,
    pub(crate) cancelled: bool,
    pub(crate) started: bool,
    pub(crate) ids: [Option<Py<PyAny>>; 3],
    pub(crate) loops: Loops,
    /// Set when the run stops (failed or cancelled): worker jobs of the run not yet started are
    /// dropped, and a running one's result is discarded. Made with the run's first worker job.
    stop_token: Option<Arc<AtomicBool>>,
}

/// Why an op did not produce outputs.
pub(crate) enum OpFailure {
    /// The op raised.
    Raised(PyErr),
    /// The op returned (or yielded) something that is not a mapping.
    BadReturn(String),
    /// A required input has no value (with a key of its source that looks like a typo of it).
    Missing(String, Option<String>),
    /// Evaluating an input's ref raised.
    Input(String, PyErr),
    /// A loop's `until` could not be evaluated (with what it raised, if anything).
    Until(String, Option<PyErr>),
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PUMP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub(crate) fn lock(run: &Run) -> PyResult<MutexGuard<'_, RunCore>> {
    match run.core.try_lock() {
        Ok(g) => Ok(g),
        Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
        Err(TryLockError::WouldBlock) => Python::attach(|py| {
            Err(new_error(
                py,
                &exceptions(py).usage,
                "this run is already being stepped (an op called back into its own run)",
                &[],
            ))
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
            Err(to_pyerr(py, &EngineError::Usage(msg)))
        }
    }
}

/// The inputs of a run of `eng`: a mapping (`None` is an empty dict), else an `InputError`. The one
/// check of run inputs, made before middleware sees them too.
pub(crate) fn checked_inputs<'py>(
    py: Python<'py>,
    eng: &PyEngine,
    inputs: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(i) = inputs.filter(|i| !i.is_none()) else {
        return Ok(PyDict::new(py).into_any());
    };
    if i.cast::<PyDict>().is_ok() || i.hasattr(pyo3::intern!(py, "keys"))? {
        return Ok(i);
    }
    let found = i.get_type().name()?.to_string();
    Err(to_pyerr(py, &EngineError::RunInputs { graph: eng.plan.name.clone(), found }))
}

/// Creates a run of `engine` (not started).
pub(crate) fn new_run<'py>(
    engine: &Bound<'py, PyEngine>,
    inputs: Option<Bound<'py, PyAny>>,
    mode: ErrorMode,
    retain: bool,
    ids: [Option<Bound<'py, PyAny>>; 3],
) -> PyResult<Bound<'py, Run>> {
    let py = engine.py();
    let eng = engine.get();
    let inputs = checked_inputs(py, eng, inputs)?;
    let core = RunCore {
        state: RunState::new(&eng.plan),
        mode,
        inputs: inputs.unbind(),
        values: Values::new(eng.plan.ops.len()),
        frames: FrameBuffer::new(retain),
        errors: Vec::new(),
        tags: Vec::new(),
        tasks: FxHashMap::default(),
        sync_gens: Vec::new(),
        deferred: Vec::new(),
        item_counters: FxHashMap::default(),
        event_loop: None,
        future: None,
        done_waiters: Vec::new(),
        resume_waiter: None,
        paused: false,
        resume_scheduled: false,
        failure: None,
        finished: false,
        cancelled: false,
        started: false,
        ids: ids.map(|i| i.map(Bound::unbind)),
        loops: Default::default(),
        stop_token: None,
    };
    Bound::new(
        py,
        Run { engine: engine.clone().unbind(), core: Mutex::new(core), cancel_requested: AtomicBool::new(false) },
    )
}

impl RunCore {
    /// The errors listed by a run with `errors="continue"`.
    pub(crate) fn listed_errors(&self) -> &[Py<PyAny>] {
        &self.errors
    }

    /// True when failed ops are listed and the run goes on (`errors="continue"`).
    pub(crate) fn lists_errors(&self) -> bool {
        self.mode == ErrorMode::Continue
    }

    /// The token worker jobs of this run watch: set once the run stops.
    pub(crate) fn stop_token(&mut self) -> Arc<AtomicBool> {
        let stopped = self.finished;
        self.stop_token.get_or_insert_with(|| Arc::new(AtomicBool::new(stopped))).clone()
    }

    /// True when no work is left.
    pub(crate) fn is_over(&self) -> bool {
        self.state.is_idle() && self.sync_gens.is_empty()
    }

    /// The next ready instance; while a sync generator streams, work outside its items waits.
    fn next_ready(&mut self) -> Option<(OpId, CtxId)> {
        let Some(top) = self.sync_gens.last() else {
            return self.state.pop_ready();
        };
        let (gen, gctx) = (top.op, top.ctx);
        let contexts = self.state.contexts();
        let depth = contexts.depth(gctx) + 1;
        let mut set_aside = Vec::new();
        let found = loop {
            match self.state.pop_ready() {
                None => break None,
                Some((op, ctx)) => {
                    let contexts = self.state.contexts();
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
        self.state.unpop(deferred.into_iter());
    }

    pub(crate) fn ensure_loop(&mut self, py: Python<'_>, eng: &PyEngine) -> PyResult<Py<PyAny>> {
        if let Some(l) = &self.event_loop {
            return Ok(l.clone_ref(py));
        }
        let get = GET_RUNNING_LOOP
            .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind()))?;
        let event_loop = get.bind(py).call0().map_err(|_| {
            let msg = format!(
                "graph '{}' has async, cpu or streaming ops and needs a running event loop: use `await engine.run(...)`, \
                 or `engine.run_sync(...)` from code with no running loop",
                eng.plan.name
            );
            to_pyerr(py, &EngineError::Usage(msg))
        })?;
        self.event_loop = Some(event_loop.clone().unbind());
        Ok(event_loop.unbind())
    }

    /// The future `run()` returns when it has to wait.
    fn run_future<'py>(
        &mut self,
        py: Python<'py>,
        event_loop: &Py<PyAny>,
        run: &Bound<'py, Run>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(f) = &self.future {
            return Ok(f.bind(py).clone());
        }
        let future = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
        future.call_method1(pyo3::intern!(py, "add_done_callback"), (RunFutureDone { run: run.clone().unbind() },))?;
        self.future = Some(future.clone().unbind());
        Ok(future)
    }

    pub(crate) fn schedule_resume(
        &mut self,
        py: Python<'_>,
        event_loop: &Bound<'_, PyAny>,
        run: &Bound<'_, Run>,
    ) -> PyResult<()> {
        if self.resume_scheduled {
            return Ok(());
        }
        self.resume_scheduled = true;
        event_loop.call_method1(pyo3::intern!(py, "call_soon"), (Resume { run: run.clone().unbind() },))?;
        Ok(())
    }

    /// True when the run waits only for a scheduled loop turn (between generator batches).
    pub(crate) fn resume_pending(&self) -> bool {
        self.resume_scheduled && !self.paused
    }

    /// A consumer took frames: resume a stream paused for backpressure once it has room.
    pub(crate) fn after_consume(&mut self, py: Python<'_>, run: &Bound<'_, Run>) -> PyResult<()> {
        if self.frames.pending() > LOW_WATER {
            return Ok(());
        }
        if let Some(w) = self.resume_waiter.take() {
            let w = w.bind(py);
            if !w.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
                w.call_method1(pyo3::intern!(py, "set_result"), (py.None(),))?;
            }
        }
        if self.paused {
            self.paused = false;
            if let Some(l) = self.event_loop.as_ref().map(|l| l.clone_ref(py)) {
                self.schedule_resume(py, l.bind(py), run)?;
            }
        }
        Ok(())
    }

    pub(crate) fn free_contexts(&mut self) {
        for ctx in self.state.drain_freed() {
            self.values.free(ctx);
        }
    }

    /// Records an op's return value, or its failure.
    fn complete(&mut self, py: Python<'_>, eng: &PyEngine, op: OpId, ctx: CtxId, result: PyResult<Bound<'_, PyAny>>) {
        let plan = &eng.plan;
        match result {
            Ok(_) if plan.ops[op as usize].is_gen() => self.state.finish(plan, op, ctx, Outcome::Done),
            Ok(out) => match self.record(py, eng, op, ctx, out) {
                Ok(out) => {
                    self.values.put(py, op, ctx, out);
                    if eng.feeds_exit[op as usize] {
                        self.values.stamp(op, ctx);
                    }
                    self.state.finish(plan, op, ctx, Outcome::Done);
                }
                Err(failure) => self.fail_op(py, eng, op, ctx, failure),
            },
            Err(e) => self.fail_op(py, eng, op, ctx, OpFailure::Raised(e)),
        }
        self.free_contexts();
    }
}
