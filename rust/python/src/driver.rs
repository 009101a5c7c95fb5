//! The driver that steps a run's scheduler on the thread running the caller's asyncio loop.
//!
//! Sync ops are called inline with vectorcall. Async ops become loop tasks whose done-callback
//! ([`OpDone`]) re-enters the driver on the same thread; `bound="cpu"` ops go to worker threads
//! ([`crate::workers`]) and come back through `call_soon_threadsafe`. A run that needs no waiting
//! returns its result directly; otherwise `run()` returns a loop future resolved when the run ends.

use std::sync::{Mutex, MutexGuard, TryLockError};

use operonx::plan::{OpId, OpKind, Plan, RefSource, VarId};
use operonx::scheduler::{resolve_input, ErrorMode, Host, Outcome, Resolved, RunState, ROOT_CONTEXT};
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
use crate::state::RunStateView;
use crate::value::apply_transform;
use crate::workers;

/// Arguments of one op call.
type Args<'py> = SmallVec<[Bound<'py, PyAny>; 8]>;

/// One run of an engine. Owned by the loop thread; its callbacks hold it alive until it ends.
#[pyclass(frozen, module = "operonx._core", name = "Run")]
pub struct Run {
    pub(crate) engine: Py<PyEngine>,
    pub(crate) core: Mutex<RunCore>,
}

/// The mutable state of a run.
pub(crate) struct RunCore {
    state: RunState,
    mode: ErrorMode,
    pub(crate) inputs: Py<PyAny>,
    pub(crate) records: Vec<Option<Py<PyAny>>>,
    pub(crate) frames: Vec<(OpId, Py<PyDict>)>,
    errors: Vec<Py<PyAny>>,
    pub(crate) tags: Vec<Py<PyAny>>,
    tasks: FxHashMap<OpId, Py<PyAny>>,
    event_loop: Option<Py<PyAny>>,
    future: Option<Py<PyAny>>,
    failure: Option<PyErr>,
    finished: bool,
    pub(crate) ids: [Option<Py<PyAny>>; 3],
}

/// Why an op did not produce outputs.
enum OpFailure {
    /// The op raised.
    Raised(PyErr),
    /// The op returned something that is not a mapping.
    BadReturn(String),
    /// A required input has no value.
    Missing(String),
    /// Evaluating an input's ref raised.
    Input(String, PyErr),
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub(crate) fn lock(run: &Run) -> PyResult<MutexGuard<'_, RunCore>> {
    match run.core.try_lock() {
        Ok(g) => Ok(g),
        Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
        Err(TryLockError::WouldBlock) => Python::attach(|py| {
            Err(new_error(py, &exceptions(py).usage, "this run is already being stepped (an op called back into its own run)", &[]))
        }),
    }
}

/// Starts a run of `engine` and steps it as far as it goes without waiting.
pub fn start(
    engine: &Bound<'_, PyEngine>,
    inputs: Option<Bound<'_, PyAny>>,
    errors: &str,
    ids: [Option<Bound<'_, PyAny>>; 3],
) -> PyResult<Py<PyAny>> {
    let py = engine.py();
    let eng = engine.get();
    let mode = match errors {
        "raise" => ErrorMode::Raise,
        "continue" => ErrorMode::Continue,
        other => {
            let msg = format!("errors={other:?} is not valid; use errors=\"raise\" or errors=\"continue\"");
            return Err(to_pyerr(py, &EngineError::Usage(msg)));
        }
    };
    let inputs = match inputs {
        None => PyDict::new(py).into_any(),
        Some(i) if i.is_none() => PyDict::new(py).into_any(),
        Some(i) if i.cast::<PyDict>().is_ok() || i.hasattr(pyo3::intern!(py, "keys"))? => i,
        Some(i) => {
            let msg = format!("run inputs of graph '{}' must be a mapping, not {}", eng.plan.name, i.get_type().name()?);
            return Err(to_pyerr(py, &EngineError::Usage(msg)));
        }
    };
    let core = RunCore {
        state: RunState::new(&eng.plan),
        mode,
        inputs: inputs.unbind(),
        records: (0..eng.plan.ops.len()).map(|_| None).collect(),
        frames: Vec::new(),
        errors: Vec::new(),
        tags: Vec::new(),
        tasks: FxHashMap::default(),
        event_loop: None,
        future: None,
        failure: None,
        finished: false,
        ids: ids.map(|i| i.map(Bound::unbind)),
    };
    let run = Bound::new(py, Run { engine: engine.clone().unbind(), core: Mutex::new(core) })?;
    drive(&run)?;
    let mut core = lock(run.get())?;
    if let Some(err) = core.failure.take() {
        return Err(err);
    }
    if core.state.is_idle() {
        core.finished = true;
        return Ok(core.result(py, eng, &run)?.into_any().unbind());
    }
    match &core.future {
        Some(f) => Ok(f.clone_ref(py)),
        None => Err(to_pyerr(py, &EngineError::Internal("run is waiting but has no future".into()))),
    }
}

/// Runs ready ops until none is left. Sync ops run inline; concurrent ops are launched.
fn drive(run: &Bound<'_, Run>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let plan: &Plan = &eng.plan;
    loop {
        let mut core = lock(r)?;
        if core.finished {
            return Ok(());
        }
        let Some(op) = core.state.pop_ready() else { return Ok(()) };
        let p = &plan.ops[op as usize];
        if !p.enabled {
            core.state.finish(plan, op, Outcome::Skipped);
            continue;
        }
        let args = match resolve_args(py, eng, &core, op) {
            Ok(args) => args,
            Err(failure) => {
                core.fail_op(py, eng, op, failure);
                continue;
            }
        };
        match p.kind {
            OpKind::Sync => {
                drop(core);
                let f = eng.callables[op as usize].bind(py);
                let result = call_with_kwnames(py, f, &args, eng.kwnames[op as usize].bind(py));
                lock(r)?.complete(py, eng, op, result);
            }
            _ => {
                if !core.state.begin_concurrent(op) {
                    continue; // queued behind the graph's concurrency cap
                }
                drop(core);
                launch(run, op, args)?;
            }
        }
    }
}

/// Starts an async op as a loop task, or a cpu op on a worker thread.
fn launch<'py>(run: &Bound<'py, Run>, op: OpId, args: Args<'py>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let event_loop = {
        let mut core = lock(r)?;
        match core.ensure_loop(py, eng, run) {
            Ok(l) => l,
            Err(e) => {
                core.fail(py, e);
                return Ok(());
            }
        }
    };
    let f = eng.callables[op as usize].bind(py);
    let kwnames = eng.kwnames[op as usize].bind(py);
    if eng.plan.ops[op as usize].kind == OpKind::Cpu {
        let done = Py::new(py, OpDone { run: run.clone().unbind(), op })?;
        workers::submit(workers::Job {
            func: f.clone().unbind(),
            kwnames: kwnames.clone().unbind(),
            args: args.into_iter().map(Bound::unbind).collect(),
            event_loop: event_loop.clone_ref(py),
            done: done.into_any(),
        });
        return Ok(());
    }
    let started = call_with_kwnames(py, f, &args, kwnames).and_then(|coro| {
        let task = event_loop.bind(py).call_method1(pyo3::intern!(py, "create_task"), (&coro,));
        if task.is_err() {
            let _ = coro.call_method0(pyo3::intern!(py, "close"));
        }
        task
    });
    let task = match started {
        Ok(task) => task,
        Err(e) => {
            let next = {
                let mut core = lock(r)?;
                let next = core.state.end_concurrent();
                core.complete(py, eng, op, Err(e));
                next
            };
            return launch_waiting(run, next);
        }
    };
    task.call_method1(pyo3::intern!(py, "add_done_callback"), (OpDone { run: run.clone().unbind(), op },))?;
    lock(r)?.tasks.insert(op, task.unbind());
    Ok(())
}

/// Launches an op that waited for the concurrency cap (already counted as started).
fn launch_waiting(run: &Bound<'_, Run>, next: Option<OpId>) -> PyResult<()> {
    let Some(op) = next else { return Ok(()) };
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let args = {
        let mut core = lock(r)?;
        match resolve_args(py, eng, &core, op) {
            Ok(args) => args,
            Err(failure) => {
                let next = core.state.end_concurrent();
                core.fail_op(py, eng, op, failure);
                drop(core);
                return launch_waiting(run, next);
            }
        }
    };
    launch(run, op, args)
}

/// Resolves the completion of a run that had to wait: sets its future's result or exception.
fn settle(run: &Bound<'_, Run>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let mut core = lock(r)?;
    let Some(future) = core.future.as_ref().map(|f| f.clone_ref(py)) else { return Ok(()) };
    let future = future.bind(py);
    if future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    if let Some(err) = core.failure.take() {
        future.call_method1(pyo3::intern!(py, "set_exception"), (err.into_value(py),))?;
    } else if core.state.is_idle() && !core.finished {
        core.finished = true;
        let result = core.result(py, eng, run)?;
        future.call_method1(pyo3::intern!(py, "set_result"), (result,))?;
    }
    Ok(())
}

/// Continues a run after one of its concurrent ops finished.
fn resume(run: &Bound<'_, Run>, op: OpId, outcome: PyResult<Bound<'_, PyAny>>) -> PyResult<()> {
    let py = run.py();
    let r = run.get();
    let eng = r.engine.get();
    let next = {
        let mut core = lock(r)?;
        core.tasks.remove(&op);
        let next = core.state.end_concurrent();
        if core.finished {
            return Ok(());
        }
        core.complete(py, eng, op, outcome);
        next
    };
    launch_waiting(run, next)?;
    drive(run)?;
    settle(run)
}

/// Fails a run from a callback whose own code went wrong, so that the run never hangs.
fn fail_from_callback(run: &Bound<'_, Run>, err: PyErr) -> PyResult<()> {
    let py = run.py();
    if let Ok(mut core) = lock(run.get()) {
        core.fail(py, err);
    }
    settle(run)
}

/// Done-callback of an op's task (`__call__(task)`) or of a worker-thread job (`__call__(ok, value)`).
#[pyclass(frozen, module = "operonx._core", name = "OpDone")]
pub struct OpDone {
    run: Py<Run>,
    op: OpId,
}

#[pymethods]
impl OpDone {
    #[pyo3(signature = (task_or_ok, value = None))]
    fn __call__(&self, py: Python<'_>, task_or_ok: Bound<'_, PyAny>, value: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let run = self.run.bind(py);
        let outcome = crate::guard(py, || {
            let outcome = match value {
                Some(v) if task_or_ok.is_truthy()? => Ok(v),
                Some(v) => Err(PyErr::from_value(v)),
                None => task_outcome(py, &task_or_ok),
            };
            resume(run, self.op, outcome)
        });
        match outcome {
            Ok(()) => Ok(()),
            Err(e) => fail_from_callback(run, e),
        }
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
            let mut core = lock(self.run.get())?;
            if !core.finished {
                core.cancel_tasks(py);
                core.finished = true;
            }
        }
        Ok(())
    }
}

impl RunCore {
    fn ensure_loop(&mut self, py: Python<'_>, eng: &PyEngine, run: &Bound<'_, Run>) -> PyResult<Py<PyAny>> {
        if let Some(l) = &self.event_loop {
            return Ok(l.clone_ref(py));
        }
        let get = GET_RUNNING_LOOP.get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
        })?;
        let event_loop = get.bind(py).call0().map_err(|_| {
            let msg = format!(
                "graph '{}' has async or cpu ops and needs a running event loop: use `await engine.run(...)`, \
                 or `engine.run_sync(...)` from code with no running loop",
                eng.plan.name
            );
            to_pyerr(py, &EngineError::Usage(msg))
        })?;
        let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
        future.call_method1(pyo3::intern!(py, "add_done_callback"), (RunFutureDone { run: run.clone().unbind() },))?;
        self.future = Some(future.unbind());
        self.event_loop = Some(event_loop.clone().unbind());
        Ok(event_loop.unbind())
    }

    /// Records an op's return value, or its failure.
    fn complete(&mut self, py: Python<'_>, eng: &PyEngine, op: OpId, result: PyResult<Bound<'_, PyAny>>) {
        match result {
            Ok(out) => match self.record(py, eng, op, out) {
                Ok(()) => self.state.finish(&eng.plan, op, Outcome::Done),
                Err(failure) => self.fail_op(py, eng, op, failure),
            },
            Err(e) => self.fail_op(py, eng, op, OpFailure::Raised(e)),
        }
    }

    fn record(&mut self, py: Python<'_>, eng: &PyEngine, op: OpId, out: Bound<'_, PyAny>) -> Result<(), OpFailure> {
        let out = if out.is_none() {
            PyDict::new(py).into_any()
        } else if out.cast::<PyDict>().is_ok() || out.hasattr(pyo3::intern!(py, "keys")).unwrap_or(false) {
            out
        } else {
            let ty = out.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            return Err(OpFailure::BadReturn(format!(
                "it returned a {ty}; an op must return a mapping (e.g. a dict) of its outputs"
            )));
        };
        let wrap = |e: PyErr| OpFailure::Raised(e);
        if let Some(tags) = lookup(&out, pyo3::intern!(py, "$tags")).map_err(wrap)? {
            for tag in tags.try_iter().map_err(wrap)? {
                let tag = tag.map_err(wrap)?;
                if !self.tags.iter().any(|t| t.bind(py).eq(&tag).unwrap_or(false)) {
                    self.tags.push(tag.unbind());
                }
            }
        }
        let plan = &eng.plan;
        match &plan.ops[op as usize].forward {
            operonx::plan::Forward::Nothing => {}
            operonx::plan::Forward::All => {
                let data = PyDict::new(py);
                let items = match out.cast::<PyDict>() {
                    Ok(d) => d.items(),
                    Err(_) => out
                        .call_method0(pyo3::intern!(py, "items"))
                        .and_then(|i| py.get_type::<PyList>().call1((i,)))
                        .and_then(|l| Ok(l.cast_into::<PyList>()?))
                        .map_err(wrap)?,
                };
                for item in items.iter() {
                    let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract().map_err(wrap)?;
                    if k.cast::<PyString>().map(|s| s.to_str().map(|s| s.starts_with('$')).unwrap_or(false)).unwrap_or(false) {
                        continue;
                    }
                    data.set_item(k, v).map_err(wrap)?;
                }
                self.frames.push((op, data.unbind()));
            }
            operonx::plan::Forward::Mapped(pairs) => {
                let data = PyDict::new(py);
                for &(from, to) in pairs {
                    if let Some(v) = lookup(&out, eng.var_keys[from as usize].bind(py)).map_err(wrap)? {
                        data.set_item(eng.var_keys[to as usize].bind(py), v).map_err(wrap)?;
                    }
                }
                self.frames.push((op, data.unbind()));
            }
        }
        self.records[op as usize] = Some(out.unbind());
        Ok(())
    }

    /// An op failed: listed and skipped with `errors="continue"`, else the run fails.
    fn fail_op(&mut self, py: Python<'_>, eng: &PyEngine, op: OpId, failure: OpFailure) {
        let plan = &eng.plan;
        let p = &plan.ops[op as usize];
        let context = vec![ROOT_CONTEXT.to_string()];
        let (engine_error, cause) = match failure {
            OpFailure::Raised(e) => {
                if !e.is_instance_of::<PyException>(py) {
                    // KeyboardInterrupt, SystemExit, CancelledError...: never wrapped, they end the run.
                    self.fail(py, e);
                    return;
                }
                let message = format!("{}: {}", e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default(), e.value(py));
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, Some(e))
            }
            OpFailure::BadReturn(message) => {
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, None)
            }
            OpFailure::Missing(input) => {
                (EngineError::MissingInput { graph: plan.name.clone(), op: p.full_name.clone(), input, context }, None)
            }
            OpFailure::Input(input, e) => {
                let message = format!("evaluating input '{input}' raised {}: {}", e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default(), e.value(py));
                (EngineError::OpFailed { graph: plan.name.clone(), op: p.full_name.clone(), context, message }, Some(e))
            }
        };
        let err = to_pyerr(py, &engine_error);
        err.set_cause(py, cause);
        if self.mode == ErrorMode::Continue {
            self.errors.push(err.into_value(py).into_any());
            self.state.finish(plan, op, Outcome::Skipped);
        } else {
            self.fail(py, err);
        }
    }

    /// Ends the run with `err`: nothing new starts and running tasks are cancelled.
    pub(crate) fn fail(&mut self, py: Python<'_>, err: PyErr) {
        if self.failure.is_none() && !self.finished {
            self.failure = Some(err);
        }
        self.finished = true;
        self.cancel_tasks(py);
    }

    fn cancel_tasks(&mut self, py: Python<'_>) {
        self.state.clear();
        for (_, task) in self.tasks.drain() {
            let _ = task.bind(py).call_method0(pyo3::intern!(py, "cancel"));
        }
    }

    /// The result dict: frames grouped by key, `"$state"`, and `"$errors"` with `errors="continue"`.
    fn result<'py>(&self, py: Python<'py>, _eng: &PyEngine, run: &Bound<'py, Run>) -> PyResult<Bound<'py, PyDict>> {
        let result = PyDict::new(py);
        let mut lists: SmallVec<[Bound<'py, PyAny>; 4]> = SmallVec::new();
        for (_, data) in &self.frames {
            for (k, v) in data.bind(py).iter() {
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

fn resolve_args<'py>(py: Python<'py>, eng: &PyEngine, core: &RunCore, op: OpId) -> Result<Args<'py>, OpFailure> {
    let p = &eng.plan.ops[op as usize];
    let mut host = PyHost { py, eng, core };
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

struct PyHost<'a, 'py> {
    py: Python<'py>,
    eng: &'a PyEngine,
    core: &'a RunCore,
}

impl<'py> Host for PyHost<'_, 'py> {
    type Value = Bound<'py, PyAny>;
    type Error = PyErr;

    #[inline]
    fn read(&mut self, source: RefSource, var: VarId) -> PyResult<Option<Bound<'py, PyAny>>> {
        let key = self.eng.var_keys[var as usize].bind(self.py);
        match source {
            RefSource::Parent => lookup(self.core.inputs.bind(self.py), key),
            RefSource::Op(op) => match &self.core.records[op as usize] {
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
