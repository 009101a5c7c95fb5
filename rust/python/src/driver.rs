//! The driver that steps a run's scheduler on the thread running the caller's asyncio loop.
//!
//! Sync ops are called inline with vectorcall. Async ops become loop tasks whose done-callback
//! ([`OpDone`]) re-enters the driver on the same thread; `bound="cpu"` ops go to worker threads
//! ([`crate::workers`]) and come back through `call_soon_threadsafe`. Sync generators are pulled
//! in batches that start at one item and grow, and the driver yields to the loop between batches so
//! frames reach consumers while the generator runs; async generators are pumped by one task each.

use std::sync::{Mutex, MutexGuard, TryLockError};

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
use crate::frames::{Frame, FrameBuffer};
use crate::state::RunStateView;
use crate::value::apply_transform;
use crate::values::Values;
use crate::workers;

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
    pub(crate) loops: crate::loops::Loops,
}

/// Why an op did not produce outputs.
pub(crate) enum OpFailure {
    /// The op raised.
    Raised(PyErr),
    /// The op returned (or yielded) something that is not a mapping.
    BadReturn(String),
    /// A required input has no value.
    Missing(String),
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
    let inputs = match inputs {
        None => PyDict::new(py).into_any(),
        Some(i) if i.is_none() => PyDict::new(py).into_any(),
        Some(i) if i.cast::<PyDict>().is_ok() || i.hasattr(pyo3::intern!(py, "keys"))? => i,
        Some(i) => {
            let msg =
                format!("run inputs of graph '{}' must be a mapping, not {}", eng.plan.name, i.get_type().name()?);
            return Err(to_pyerr(py, &EngineError::Usage(msg)));
        }
    };
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
    };
    Bound::new(py, Run { engine: engine.clone().unbind(), core: Mutex::new(core) })
}

/// `engine.run()`: starts a run and steps it as far as it goes without waiting. Returns the result
/// dict when it is over, else a loop future resolved with it.
pub fn start(
    engine: &Bound<'_, PyEngine>,
    inputs: Option<Bound<'_, PyAny>>,
    errors: &str,
    ids: [Option<Bound<'_, PyAny>>; 3],
) -> PyResult<Py<PyAny>> {
    let py = engine.py();
    let mode = error_mode(py, errors)?;
    let run = new_run(engine, inputs, mode, true, ids)?;
    lock(run.get())?.started = true;
    drive(&run)?;
    let mut core = lock(run.get())?;
    if let Some(err) = core.failure.take() {
        core.finished = true;
        return Err(err);
    }
    if core.is_over() {
        core.finished = true;
        return Ok(core.result(py, &run)?.into_any().unbind());
    }
    let event_loop = core.ensure_loop(py, engine.get())?;
    Ok(core.run_future(py, &event_loop, &run)?.unbind())
}

/// Starts a run created by [`new_run`] if nothing has started it yet.
pub(crate) fn ensure_started(run: &Bound<'_, Run>) -> PyResult<()> {
    {
        let mut core = lock(run.get())?;
        if core.started {
            return Ok(());
        }
        core.started = true;
    }
    drive(run)?;
    settle(run)
}

/// Runs ready ops until none is left; pulls sync generators in batches.
pub(crate) fn drive(run: &Bound<'_, Run>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let plan: &Plan = &eng.plan;
    loop {
        let mut core = lock(r)?;
        if core.finished {
            return Ok(());
        }
        let Some((op, ctx)) = core.next_ready() else {
            if core.sync_gens.is_empty() {
                return Ok(());
            }
            match pull_batch(run, core)? {
                Pull::More => {
                    if yield_to_loop(run)? {
                        return Ok(());
                    }
                    continue;
                }
                Pull::Ended => continue,
                Pull::Paused => return Ok(()),
            }
        };
        let p = &plan.ops[op as usize];
        if !p.enabled {
            core.state.finish(plan, op, ctx, Outcome::Skipped);
            continue;
        }
        let args = match resolve_args(py, eng, &core, op, ctx) {
            Ok(args) => args,
            Err(failure) => {
                core.fail_op(py, eng, op, ctx, failure);
                continue;
            }
        };
        match p.kind {
            OpKind::LoopExit => {
                if let Err(failure) = core.end_iteration(py, eng, op, ctx) {
                    core.fail_op(py, eng, op, ctx, failure);
                }
            }
            OpKind::Branch | OpKind::GraphEnter | OpKind::GraphExit | OpKind::LoopEnter => {
                let result = core.builtin(py, eng, op, ctx, &args);
                if let Err(e) = result {
                    core.fail_op(py, eng, op, ctx, OpFailure::Raised(e));
                }
            }
            OpKind::Sync => {
                drop(core);
                let f = eng.callables[op as usize].bind(py);
                let result = call_with_kwnames(py, f, &args, eng.kwnames[op as usize].bind(py));
                lock(r)?.complete(py, eng, op, ctx, result);
            }
            OpKind::SyncGen => {
                drop(core);
                let f = eng.callables[op as usize].bind(py);
                let started = call_with_kwnames(py, f, &args, eng.kwnames[op as usize].bind(py))
                    .and_then(|g| g.try_iter().map(|i| i.into_any()));
                let mut core = lock(r)?;
                match started {
                    Ok(iter) => {
                        core.state.begin_generator();
                        core.sync_gens.push(SyncGen { op, ctx, iter: iter.unbind(), index: 0, batch: 1, ended: None });
                    }
                    Err(e) => core.fail_op(py, eng, op, ctx, OpFailure::Raised(e)),
                }
            }
            _ => {
                if !core.state.begin_concurrent(op, ctx) {
                    continue; // queued behind the graph's concurrency cap
                }
                drop(core);
                launch(run, op, ctx, args)?;
            }
        }
    }
}

enum Pull {
    More,
    Ended,
    Paused,
}

/// Pulls the next batch of the innermost streaming sync generator.
fn pull_batch(run: &Bound<'_, Run>, mut core: MutexGuard<'_, RunCore>) -> PyResult<Pull> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let Some(top) = core.sync_gens.last_mut() else {
        return Ok(Pull::Ended);
    };
    let (op, ctx, batch) = (top.op, top.ctx, top.batch);
    if let Some(ended) = top.ended.take() {
        core.sync_gens.pop();
        core.state.end_generator();
        core.restore_deferred();
        match ended {
            Ok(()) => core.state.finish(&eng.plan, op, ctx, Outcome::Done),
            Err(e) => core.fail_op(py, eng, op, ctx, OpFailure::Raised(e)),
        }
        core.free_contexts();
        return Ok(Pull::Ended);
    }
    top.batch = (batch * 4).min(MAX_BATCH);
    let iter = top.iter.clone_ref(py);
    drop(core);
    for _ in 0..batch {
        {
            let mut core = lock(r)?;
            if core.finished {
                return Ok(Pull::Ended);
            }
            if !core.frames.retain && core.frames.pending() >= HIGH_WATER {
                core.paused = true;
                return Ok(Pull::Paused);
            }
        }
        // SAFETY: `iter` is a live iterator object; PyIter_Next returns a new reference, or NULL
        // with or without an exception set (exhausted).
        let next = unsafe { pyo3::ffi::PyIter_Next(iter.as_ptr()) };
        let mut core = lock(r)?;
        if next.is_null() {
            let ended = match PyErr::take(py) {
                None => Ok(()),
                Some(e) => Err(e),
            };
            if let Some(top) = core.sync_gens.last_mut() {
                top.ended = Some(ended);
            }
            return Ok(Pull::Ended);
        }
        // SAFETY: `next` is a new, non-null reference.
        let item = unsafe { Bound::from_owned_ptr(py, next) };
        let index = match core.sync_gens.last_mut() {
            Some(g) => {
                g.index += 1;
                g.index - 1
            }
            None => return Ok(Pull::Ended),
        };
        if let Err(failure) = core.on_item(py, eng, op, ctx, index, item) {
            if let Some(g) = core.sync_gens.pop() {
                let _ = g.iter.bind(py).call_method0(pyo3::intern!(py, "close"));
            }
            core.state.end_generator();
            core.restore_deferred();
            core.fail_op(py, eng, op, ctx, failure);
            return Ok(Pull::Ended);
        }
    }
    Ok(Pull::More)
}

/// Between two batches of a sync generator: lets the loop run (so consumers see the frames) when
/// the run has one. Returns false when there is no running loop (a sync caller): go on inline.
fn yield_to_loop(run: &Bound<'_, Run>) -> PyResult<bool> {
    let py = run.py();
    let mut core = lock(run.get())?;
    let eng = run.get().engine.get();
    let Ok(event_loop) = core.ensure_loop(py, eng) else {
        return Ok(false);
    };
    core.schedule_resume(py, event_loop.bind(py), run)?;
    Ok(true)
}

/// Starts an async op or async generator as a loop task, or a cpu op on a worker thread.
fn launch<'py>(run: &Bound<'py, Run>, op: OpId, ctx: CtxId, args: Args<'py>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let event_loop = {
        let mut core = lock(r)?;
        match core.ensure_loop(py, eng) {
            Ok(l) => l,
            Err(e) => {
                core.fail(py, e);
                return Ok(());
            }
        }
    };
    let f = eng.callables[op as usize].bind(py);
    let kwnames = eng.kwnames[op as usize].bind(py);
    let kind = eng.plan.ops[op as usize].kind;
    if kind == OpKind::Cpu {
        let done = Py::new(py, OpDone { run: run.clone().unbind(), op, ctx })?;
        workers::submit(workers::Job {
            func: f.clone().unbind(),
            kwnames: kwnames.clone().unbind(),
            args: args.into_iter().map(Bound::unbind).collect(),
            event_loop: event_loop.clone_ref(py),
            done: done.into_any(),
        });
        return Ok(());
    }
    let started = call_with_kwnames(py, f, &args, kwnames).and_then(|made| {
        let awaitable = if kind == OpKind::AsyncGen {
            let pump =
                PUMP.get_or_try_init(py, || Ok::<_, PyErr>(py.import("operonx._pump")?.getattr("pump")?.unbind()))?;
            let sink = ItemSink { run: run.clone().unbind(), op, ctx };
            pump.bind(py).call1((&made, sink))?
        } else {
            made.clone()
        };
        let task = event_loop.bind(py).call_method1(pyo3::intern!(py, "create_task"), (&awaitable,));
        if task.is_err() {
            let _ = awaitable.call_method0(pyo3::intern!(py, "close"));
        }
        task
    });
    let task = match started {
        Ok(task) => task,
        Err(e) => {
            let next = {
                let mut core = lock(r)?;
                let next = core.state.end_concurrent();
                core.complete(py, eng, op, ctx, Err(e));
                next
            };
            return launch_waiting(run, next);
        }
    };
    task.call_method1(pyo3::intern!(py, "add_done_callback"), (OpDone { run: run.clone().unbind(), op, ctx },))?;
    lock(r)?.tasks.insert((op, ctx), task.unbind());
    Ok(())
}

/// Launches an op that waited for the concurrency cap (already counted as started).
fn launch_waiting(run: &Bound<'_, Run>, next: Option<(OpId, CtxId)>) -> PyResult<()> {
    let Some((op, ctx)) = next else { return Ok(()) };
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let args = {
        let mut core = lock(r)?;
        match resolve_args(py, eng, &core, op, ctx) {
            Ok(args) => args,
            Err(failure) => {
                let next = core.state.end_concurrent();
                core.fail_op(py, eng, op, ctx, failure);
                drop(core);
                return launch_waiting(run, next);
            }
        }
    };
    launch(run, op, ctx, args)
}

/// Completes whatever waits on a run that is over: the `run()` future, the handle's consumers.
pub(crate) fn settle(run: &Bound<'_, Run>) -> PyResult<()> {
    let py = run.py();
    let mut core = lock(run.get())?;
    if !core.finished && core.is_over() {
        core.finished = true;
    }
    if !core.finished {
        return Ok(());
    }
    core.wake_consumers(py)?;
    if let Some(future) = core.future.take() {
        let future = future.bind(py);
        if !future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
            match core.failure.as_ref() {
                Some(err) => {
                    future.call_method1(pyo3::intern!(py, "set_exception"), (err.clone_ref(py).into_value(py),))?;
                }
                None => {
                    let result = core.result(py, run)?;
                    future.call_method1(pyo3::intern!(py, "set_result"), (result,))?;
                }
            }
        }
    }
    Ok(())
}

/// Continues a run after one of its concurrent ops finished.
fn resume(run: &Bound<'_, Run>, op: OpId, ctx: CtxId, outcome: PyResult<Bound<'_, PyAny>>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let next = {
        let mut core = lock(r)?;
        core.tasks.remove(&(op, ctx));
        let next = core.state.end_concurrent();
        if core.finished {
            return Ok(());
        }
        core.complete(py, eng, op, ctx, outcome);
        next
    };
    launch_waiting(run, next)?;
    drive(run)?;
    settle(run)
}

/// Fails a run from a callback whose own code went wrong, so that the run never hangs.
pub(crate) fn fail_from_callback(run: &Bound<'_, Run>, err: PyErr) -> PyResult<()> {
    let py = run.py();
    if let Ok(mut core) = lock(run.get()) {
        core.fail(py, err);
    }
    settle(run)
}

/// Runs `f` on a run from a loop callback: a panic or an internal error fails the run (so nothing
/// waits forever) instead of escaping into the loop's exception handler.
fn from_callback(run: &Bound<'_, Run>, f: impl FnOnce() -> PyResult<()>) -> PyResult<()> {
    match crate::guard(run.py(), f) {
        Ok(()) => Ok(()),
        Err(e) => fail_from_callback(run, e),
    }
}

/// Done-callback of an op's task (`__call__(task)`) or of a worker-thread job (`__call__(ok, value)`).
#[pyclass(frozen, module = "operonx._core", name = "OpDone")]
pub struct OpDone {
    run: Py<Run>,
    op: OpId,
    ctx: CtxId,
}

#[pymethods]
impl OpDone {
    #[pyo3(signature = (task_or_ok, value = None))]
    fn __call__(&self, py: Python<'_>, task_or_ok: Bound<'_, PyAny>, value: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let run = self.run.bind(py);
        from_callback(run, || {
            let outcome = match value {
                Some(v) if task_or_ok.is_truthy()? => Ok(v),
                Some(v) => Err(PyErr::from_value(v)),
                None => task_outcome(py, &task_or_ok),
            };
            resume(run, self.op, self.ctx, outcome)
        })
    }
}

/// Continues a run on the next loop iteration (between batches of a sync generator, or when a
/// paused stream may go on).
#[pyclass(frozen, module = "operonx._core", name = "Resume")]
pub struct Resume {
    run: Py<Run>,
}

#[pymethods]
impl Resume {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let run = self.run.bind(py);
        from_callback(run, || {
            lock(run.get())?.resume_scheduled = false;
            drive(run)?;
            settle(run)
        })
    }
}

/// Receives the items of an async generator from its pump task.
#[pyclass(frozen, module = "operonx._core", name = "ItemSink")]
pub struct ItemSink {
    run: Py<Run>,
    op: OpId,
    ctx: CtxId,
}

#[pymethods]
impl ItemSink {
    /// Takes one item; returns an awaitable when the consumer is behind (`retain_frames=False`).
    fn __call__(&self, py: Python<'_>, item: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let run = self.run.bind(py);
        let r = run.get();
        let eng = r.engine.get();
        {
            let mut core = lock(r)?;
            if core.finished {
                return Err(pyo3::exceptions::asyncio::CancelledError::new_err("the run is over"));
            }
            let index = {
                let n = core.item_counters.entry((self.op, self.ctx)).or_insert(0);
                *n += 1;
                *n - 1
            };
            if let Err(failure) = core.on_item(py, eng, self.op, self.ctx, index, item) {
                core.fail_op(py, eng, self.op, self.ctx, failure);
                return Err(pyo3::exceptions::asyncio::CancelledError::new_err("the stream failed"));
            }
        }
        from_callback(run, || drive(run))?;
        let mut core = lock(r)?;
        if !core.frames.retain && core.frames.pending() >= HIGH_WATER {
            let event_loop = core.ensure_loop(py, eng)?;
            let waiter = event_loop.bind(py).call_method0(pyo3::intern!(py, "create_future"))?;
            core.resume_waiter = Some(waiter.clone().unbind());
            return Ok(waiter.unbind());
        }
        Ok(py.None())
    }
}

fn task_outcome<'py>(py: Python<'py>, task: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if task.call_method0(pyo3::intern!(py, "cancelled"))?.is_truthy()? {
        return Err(pyo3::exceptions::asyncio::CancelledError::new_err("the op's task was cancelled"));
    }
    let exc = task.call_method0(pyo3::intern!(py, "exception"))?;
    if exc.is_none() {
        task.call_method0(pyo3::intern!(py, "result"))
    } else {
        Err(PyErr::from_value(exc))
    }
}

/// Done-callback of a run's future: cancelling the awaiting task cancels the run.
#[pyclass(frozen, module = "operonx._core", name = "RunFutureDone")]
pub struct RunFutureDone {
    run: Py<Run>,
}

#[pymethods]
impl RunFutureDone {
    fn __call__(&self, py: Python<'_>, future: Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(pyo3::intern!(py, "cancelled"))?.is_truthy()? {
            let run = self.run.bind(py);
            lock(run.get())?.cancel(py);
            settle(run)?;
        }
        Ok(())
    }
}

impl RunCore {
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

    /// One item of generator `gen` running in `ctx`.
    fn on_item(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        gen: OpId,
        ctx: CtxId,
        index: u32,
        item: Bound<'_, PyAny>,
    ) -> Result<(), OpFailure> {
        let plan = &eng.plan;
        let item_ctx = self.state.open_item(gen, ctx, index);
        let out = self.record(py, eng, gen, item_ctx, item);
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                self.state.close_item(plan, gen, item_ctx);
                return Err(e);
            }
        };
        if eng.collects[gen as usize] {
            self.values.collect(gen, ctx, out.clone_ref(py));
        }
        if eng.item_readers[gen as usize] {
            self.values.put(py, gen, item_ctx, out);
        } else {
            self.values.put_last(gen, out);
        }
        self.state.close_item(plan, gen, item_ctx);
        self.free_contexts();
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

    /// Runs a built-in op: a nested graph's entry or end, or a branch.
    fn builtin(&mut self, py: Python<'_>, eng: &PyEngine, op: OpId, ctx: CtxId, args: &Args<'_>) -> PyResult<()> {
        let plan = &eng.plan;
        let p = &plan.ops[op as usize];
        let record = PyDict::new(py);
        for (name, value) in eng.kwnames[op as usize].bind(py).iter().zip(args.iter()) {
            record.set_item(name, value)?;
        }
        if p.kind == OpKind::LoopEnter {
            self.start_iteration(py, eng, op, ctx, 0, record.into_any().unbind());
            return Ok(());
        }
        match &p.builtin {
            Builtin::Exit(sources) => {
                // What the inner ops forwarded, in the order it arrived: a later forward of a key wins.
                let depth = p.depth;
                let src_ctx =
                    if ctx == ROOT { ROOT } else { self.state.contexts().ancestor(ctx, depth).unwrap_or(ctx) };
                let mut arrived: SmallVec<[(u64, usize); 8]> = sources
                    .iter()
                    .enumerate()
                    .filter(|(_, (src, _))| self.values.get(*src, src_ctx).is_some())
                    .map(|(i, (src, _))| (self.values.arrival(*src, src_ctx), i))
                    .collect();
                arrived.sort_unstable();
                for (_, i) in arrived {
                    let (src, forward) = &sources[i];
                    if let Some(out) = self.values.get(*src, src_ctx) {
                        forward_into(py, eng, forward, out.bind(py), &record)?;
                    }
                }
            }
            Builtin::Branch { cases, default, .. } => {
                // The conditions read the branch's inputs from its own record.
                self.values.put(py, op, ctx, record.clone().into_any().unbind());
                let (chosen, matched) = {
                    let mut host = PyHost { py, eng, core: self, ctx };
                    choose_branch(&mut host, cases, *default)
                };
                let target = chosen.map(|t| eng.op_names[t as usize].bind(py).clone().into_any());
                record.set_item(pyo3::intern!(py, "target"), target)?;
                record.set_item(pyo3::intern!(py, "matched"), matched)?;
                let out = self.record(py, eng, op, ctx, record.into_any()).map_err(|f| match f {
                    OpFailure::Raised(e) | OpFailure::Input(_, e) | OpFailure::Until(_, Some(e)) => e,
                    OpFailure::BadReturn(m) | OpFailure::Missing(m) | OpFailure::Until(m, None) => {
                        pyo3::exceptions::PyRuntimeError::new_err(m)
                    }
                })?;
                self.values.put(py, op, ctx, out);
                if eng.feeds_exit[op as usize] {
                    self.values.stamp(op, ctx);
                }
                self.state.finish_branch(plan, op, ctx, chosen);
                self.free_contexts();
                return Ok(());
            }
            _ => {}
        }
        self.complete(py, eng, op, ctx, Ok(record.into_any()));
        Ok(())
    }

    /// Checks an op's outputs, keeps its tags and emits its frame. Returns the outputs to store.
    pub(crate) fn record(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        op: OpId,
        ctx: CtxId,
        out: Bound<'_, PyAny>,
    ) -> Result<Py<PyAny>, OpFailure> {
        let out = if out.is_none() {
            PyDict::new(py).into_any()
        } else if out.cast::<PyDict>().is_ok() || out.hasattr(pyo3::intern!(py, "keys")).unwrap_or(false) {
            out
        } else {
            let ty = out.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            let what = if eng.plan.ops[op as usize].is_gen() { "yielded" } else { "returned" };
            return Err(OpFailure::BadReturn(format!(
                "it {what} a {ty}; an op must {} a mapping (e.g. a dict) of its outputs",
                if what == "yielded" { "yield" } else { "return" }
            )));
        };
        let wrap = OpFailure::Raised;
        if let Some(tags) = lookup(&out, pyo3::intern!(py, "$tags")).map_err(wrap)? {
            for tag in tags.try_iter().map_err(wrap)? {
                let tag = tag.map_err(wrap)?;
                if !self.tags.iter().any(|t| t.bind(py).eq(&tag).unwrap_or(false)) {
                    self.tags.push(tag.unbind());
                }
            }
        }
        let forward = &eng.plan.ops[op as usize].forward;
        let data = if forward.emits() {
            let data = PyDict::new(py);
            forward_into(py, eng, forward, &out, &data).map_err(wrap)?;
            Some(data)
        } else {
            None
        };
        if let Some(data) = data {
            self.emit(py, eng, op, ctx, data).map_err(wrap)?;
        }
        self.forward_to_loop(py, eng, op, ctx, &out).map_err(wrap)?;
        Ok(out.unbind())
    }

    /// Adds a frame and hands it to whoever waits for it.
    pub(crate) fn emit(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        op: OpId,
        ctx: CtxId,
        data: Bound<'_, PyDict>,
    ) -> PyResult<()> {
        if !self.frames.value_waiters.is_empty() {
            let name = &eng.plan.ops[op as usize].name;
            let mut i = 0;
            while i < self.frames.value_waiters.len() {
                let w = &self.frames.value_waiters[i];
                if &w.op == name {
                    if let Some(v) = data.get_item(w.var.bind(py))? {
                        let w = self.frames.value_waiters.swap_remove(i);
                        resolve(py, w.future.bind(py), v)?;
                        continue;
                    }
                }
                i += 1;
            }
        }
        let path = self.state.contexts().path(ctx);
        self.frames.push(Frame { op, path, data: data.unbind(), superseded: false });
        if let Some(waiter) = self.frames.next_waiter.take() {
            if let Some(frame) = self.frames.next(py) {
                resolve(py, waiter.bind(py), crate::handle::frame_tuple(py, eng, &frame)?.into_any())?;
            }
        }
        Ok(())
    }

    /// Wakes consumers of a run that is over.
    pub(crate) fn wake_consumers(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(waiter) = self.frames.next_waiter.take() {
            let waiter = waiter.bind(py);
            if !waiter.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
                let exc = match (&self.failure, self.cancelled) {
                    (Some(err), false) => err.clone_ref(py).into_value(py).into_any(),
                    _ => pyo3::exceptions::PyStopAsyncIteration::new_err(()).into_value(py).into_any(),
                };
                waiter.call_method1(pyo3::intern!(py, "set_exception"), (exc,))?;
            }
        }
        for w in self.frames.value_waiters.drain(..) {
            resolve(py, w.future.bind(py), py.None().into_bound(py))?;
        }
        for w in self.done_waiters.drain(..) {
            resolve(py, w.bind(py), py.None().into_bound(py))?;
        }
        if let Some(w) = self.resume_waiter.take() {
            resolve(py, w.bind(py), py.None().into_bound(py))?;
        }
        Ok(())
    }

    /// An op failed: listed and skipped with `errors="continue"`, else the run fails.
    fn fail_op(&mut self, py: Python<'_>, eng: &PyEngine, op: OpId, ctx: CtxId, failure: OpFailure) {
        let plan = &eng.plan;
        let p = &plan.ops[op as usize];
        let context = operonx::scheduler::contexts::render(&self.state.contexts().path(ctx));
        let (engine_error, cause) = match failure {
            OpFailure::Raised(e) => {
                if !e.is_instance_of::<PyException>(py) {
                    // KeyboardInterrupt, SystemExit, CancelledError...: never wrapped, they end the run.
                    self.fail(py, e);
                    return;
                }
                let message =
                    format!("{}: {}", e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default(), e.value(py));
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, Some(e))
            }
            OpFailure::BadReturn(message) => {
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, None)
            }
            OpFailure::Missing(input) => {
                (EngineError::MissingInput { graph: plan.name.clone(), op: p.full_name.clone(), input, context }, None)
            }
            OpFailure::Until(message, cause) => {
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, cause)
            }
            OpFailure::Input(input, e) => {
                let message = format!(
                    "evaluating input '{input}' raised {}: {}",
                    e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default(),
                    e.value(py)
                );
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, Some(e))
            }
        };
        let err = to_pyerr(py, &engine_error);
        err.set_cause(py, cause);
        if self.mode == ErrorMode::Continue {
            self.errors.push(err.into_value(py).into_any());
            if p.kind == OpKind::LoopExit {
                self.skip_loop(eng, op, ctx);
            } else {
                self.state.finish(plan, op, ctx, Outcome::Skipped);
            }
            self.free_contexts();
        } else {
            self.fail(py, err);
        }
    }

    /// Ends the run with `err`: nothing new starts, running tasks and generators are stopped.
    pub(crate) fn fail(&mut self, py: Python<'_>, err: PyErr) {
        if self.failure.is_none() && !self.finished {
            self.failure = Some(err);
        }
        self.stop(py);
    }

    /// Cancels the run: what arrived stays readable, nothing new starts.
    pub(crate) fn cancel(&mut self, py: Python<'_>) {
        if self.finished {
            return;
        }
        self.cancelled = true;
        self.stop(py);
    }

    fn stop(&mut self, py: Python<'_>) {
        self.finished = true;
        self.state.clear();
        self.deferred.clear();
        self.loops.clear();
        for g in self.sync_gens.drain(..) {
            let _ = g.iter.bind(py).call_method0(pyo3::intern!(py, "close"));
        }
        for (_, task) in self.tasks.drain() {
            let _ = task.bind(py).call_method0(pyo3::intern!(py, "cancel"));
        }
    }

    /// The result dict: frames grouped by key, `"$state"`, and `"$errors"` with `errors="continue"`.
    fn result<'py>(&self, py: Python<'py>, run: &Bound<'py, Run>) -> PyResult<Bound<'py, PyDict>> {
        let result = PyDict::new(py);
        let mut lists: SmallVec<[Bound<'py, PyAny>; 4]> = SmallVec::new();
        for frame in self.frames.all().filter(|f| !f.superseded) {
            for (k, v) in frame.data.bind(py).iter() {
                match result.get_item(&k)? {
                    None => result.set_item(k, v)?,
                    Some(existing) => {
                        if lists.iter().any(|l| l.eq(&k).unwrap_or(false)) {
                            existing.cast::<PyList>()?.append(v)?;
                        } else {
                            result.set_item(&k, PyList::new(py, [existing, v])?)?;
                            lists.push(k);
                        }
                    }
                }
            }
        }
        result.set_item(pyo3::intern!(py, "$state"), RunStateView { run: run.clone().unbind() })?;
        if self.mode == ErrorMode::Continue {
            result.set_item(pyo3::intern!(py, "$errors"), PyList::new(py, self.errors.iter().map(|e| e.bind(py)))?)?;
        }
        Ok(result)
    }
}

/// Adds the outputs `forward` passes on from `out` to `data`, under their graph-output names.
pub(crate) fn forward_into(
    py: Python<'_>,
    eng: &PyEngine,
    forward: &Forward,
    out: &Bound<'_, PyAny>,
    data: &Bound<'_, PyDict>,
) -> PyResult<()> {
    match forward {
        Forward::Nothing => {}
        Forward::All => {
            let items = match out.cast::<PyDict>() {
                Ok(d) => d.items(),
                Err(_) => py
                    .get_type::<PyList>()
                    .call1((out.call_method0(pyo3::intern!(py, "items"))?,))?
                    .cast_into::<PyList>()?,
            };
            for item in items.iter() {
                let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                if k.cast::<PyString>().is_ok_and(|s| s.to_str().is_ok_and(|s| s.starts_with('$'))) {
                    continue;
                }
                data.set_item(k, v)?;
            }
        }
        Forward::Mapped(pairs) => {
            for &(from, to) in pairs {
                if let Some(v) = lookup(out, eng.var_keys[from as usize].bind(py))? {
                    data.set_item(eng.var_keys[to as usize].bind(py), v)?;
                }
            }
        }
    }
    Ok(())
}

/// Sets a future's result unless it is already done (its waiter may have been cancelled).
pub(crate) fn resolve(py: Python<'_>, future: &Bound<'_, PyAny>, value: Bound<'_, PyAny>) -> PyResult<()> {
    if !future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
        future.call_method1(pyo3::intern!(py, "set_result"), (value,))?;
    }
    Ok(())
}

/// Reads `key` from a mapping; `None` when absent.
pub(crate) fn lookup<'py>(obj: &Bound<'py, PyAny>, key: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return d.get_item(key);
    }
    match obj.get_item(key) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_instance_of::<PyKeyError>(obj.py()) => Ok(None),
        Err(e) => Err(e),
    }
}

fn resolve_args<'py>(
    py: Python<'py>,
    eng: &PyEngine,
    core: &RunCore,
    op: OpId,
    ctx: CtxId,
) -> Result<Args<'py>, OpFailure> {
    let p = &eng.plan.ops[op as usize];
    let mut host = PyHost { py, eng, core, ctx };
    let mut args = Args::with_capacity(p.inputs.len());
    for input in &p.inputs {
        match resolve_input(&mut host, input) {
            Ok(Resolved::Value(v)) => args.push(v),
            Ok(Resolved::Missing) => return Err(OpFailure::Missing(input.name.clone())),
            Err(e) => return Err(OpFailure::Input(input.name.clone(), e)),
        }
    }
    Ok(args)
}

/// Reads values and applies transforms for the scheduler, from one op instance's context.
pub(crate) struct PyHost<'a, 'py> {
    pub py: Python<'py>,
    pub eng: &'a PyEngine,
    pub core: &'a RunCore,
    pub ctx: CtxId,
}

impl<'py> PyHost<'_, 'py> {
    /// The outputs of `op` visible from this instance's context.
    fn outputs_of(&self, op: OpId) -> Option<&Py<PyAny>> {
        let depth = self.eng.plan.ops[op as usize].value_depth();
        let ctx = if self.ctx == ROOT { ROOT } else { self.core.state.contexts().ancestor(self.ctx, depth)? };
        self.core.values.get(op, ctx)
    }

    /// A collected read: every item of a generator, or the one value of a per-item op.
    fn collected(&self, op: OpId, var: VarId) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = self.py;
        let key = self.eng.var_keys[var as usize].bind(py);
        let contexts = self.core.state.contexts();
        let p = &self.eng.plan.ops[op as usize];
        let list = PyList::empty(py);
        if p.is_gen() {
            let Some(gctx) = contexts.ancestor(self.ctx, p.depth) else {
                return Ok(None);
            };
            for item in self.core.values.collected(op, gctx) {
                list.append(lookup(item.bind(py), key)?.unwrap_or_else(|| py.None().into_bound(py)))?;
            }
        } else if let Some(out) = self.outputs_of(op) {
            list.append(lookup(out.bind(py), key)?.unwrap_or_else(|| py.None().into_bound(py)))?;
        }
        Ok(Some(list.into_any()))
    }
}

impl<'py> Host for PyHost<'_, 'py> {
    type Value = Bound<'py, PyAny>;
    type Error = PyErr;

    #[inline]
    fn read(&mut self, source: RefSource, var: VarId, collect: bool) -> PyResult<Option<Bound<'py, PyAny>>> {
        let key = self.eng.var_keys[var as usize].bind(self.py);
        match source {
            RefSource::Parent => lookup(self.core.inputs.bind(self.py), key),
            RefSource::Op(op) if collect => self.collected(op, var),
            RefSource::Op(op) => match self.outputs_of(op) {
                Some(record) => lookup(record.bind(self.py), key),
                None => Ok(None),
            },
        }
    }

    #[inline]
    fn constant(&mut self, c: operonx::plan::ConstId) -> Bound<'py, PyAny> {
        self.eng.consts[c as usize].bind(self.py).clone()
    }

    fn none(&mut self) -> Bound<'py, PyAny> {
        self.py.None().into_bound(self.py)
    }

    #[inline]
    fn is_none(&self, v: &Bound<'py, PyAny>) -> bool {
        v.is_none()
    }

    fn truthy(&self, v: &Bound<'py, PyAny>) -> PyResult<bool> {
        v.is_truthy()
    }

    fn transform(
        &mut self,
        t: &operonx::plan::TransformPlan,
        value: Bound<'py, PyAny>,
        args: Vec<Bound<'py, PyAny>>,
        kwargs: Vec<(&str, Bound<'py, PyAny>)>,
    ) -> PyResult<Bound<'py, PyAny>> {
        apply_transform(self.py, t, value, args, kwargs)
    }
}
