//! A compiled graph on the Python side: the plan and its facts, with the Python objects every run
//! reads (constants, callables, interned names), made once per engine. The driver reads this, never
//! the engine's pyclass.

use std::sync::{Arc, Mutex};

use operonx::graph::schema;
use operonx::plan::{self, Const, ConstId, OpId, Plan, VarId};
use operonx::run::{Facts, Run};
use operonx::{OperonError, Problem};
use pyo3::prelude::*;
use pyo3::types::{PyFunction, PyString, PyTuple};
use rustc_hash::FxHashMap;

use crate::errors::to_pyerr;
use crate::log::DebugCheck;
use crate::model::PyModel;
use crate::value::{int_to_py, json_to_py};

/// The largest plan whose runs hand their buffers on. For a small graph, allocating them is a
/// sizeable part of a run; for a large one it is lost in the run, while reused buffers measured
/// slower (a 1000-op chain ran 4 % slower) and would keep the memory of a large run alive.
pub(crate) const SPARE_MAX_OPS: usize = 256;

/// A graph document compiled and bound to its Python callables and constants.
pub(crate) struct Compiled {
    plan: Arc<Plan>,
    /// Constants by id, as Python objects.
    consts: Vec<Py<PyAny>>,
    /// The callable of each op, by op id.
    callables: Vec<Py<PyAny>>,
    /// Keyword names of each op's call, by op id.
    kwnames: Vec<Py<PyTuple>>,
    /// How each op's function is called: `None` positionally (see [`takes_inputs_positionally`]),
    /// else by these keyword names.
    call_names: Vec<Option<Py<PyTuple>>>,
    /// Interned variable names, by var id.
    var_keys: Vec<Py<PyString>>,
    /// Interned op short names, by op id (the first element of frames).
    op_names: Vec<Py<PyString>>,
    /// The `("main",)` context tuple.
    root_context: Py<PyTuple>,
    /// Per-op facts every run reads.
    facts: Arc<Facts>,
    /// The last run that ended, parked, for the next run to restart in place (runs one after another
    /// allocate no scheduler state, value store or frame buffer, and move no run around); only for
    /// plans of at most [`SPARE_MAX_OPS`] ops.
    spare: Mutex<Option<Box<Run<PyModel>>>>,
    /// Whether a run logs at DEBUG.
    debug: DebugCheck,
}

impl Compiled {
    /// Compiles `document` (JSON text of schema 1.0) whose `{"$host": i}` values index `hosts`.
    pub fn build(py: Python<'_>, document: &str, hosts: Vec<Py<PyAny>>) -> PyResult<Self> {
        let doc = schema::parse(document).map_err(|e| to_pyerr(py, &e))?;
        let plan = plan::compile(&doc).map_err(|e| to_pyerr(py, &e))?;
        let mut problems = Vec::new();
        let mut consts = Vec::with_capacity(plan.consts.len());
        for c in &plan.consts {
            consts.push(match c {
                Const::Json(v) => json_to_py(py, v)?.unbind(),
                Const::Int(digits) => int_to_py(py, digits)?.unbind(),
                Const::Host(i) => match hosts.get(*i as usize) {
                    Some(obj) => obj.clone_ref(py),
                    None => {
                        problems.push(Problem::new("invalid", format!("host object {i} is not in the hosts list")));
                        py.None()
                    }
                },
            });
        }
        let mut callables = Vec::with_capacity(plan.ops.len());
        for op in &plan.ops {
            if op.kind.is_builtin() {
                callables.push(py.None());
                continue;
            }
            match op.callable.map(|c| consts[c as usize].bind(py)) {
                Some(f) if f.is_callable() => callables.push(f.clone().unbind()),
                _ => {
                    problems.push(
                        Problem::new("unknown_op", format!("op '{}' has no Python callable to run", op.name))
                            .op(&op.name),
                    );
                    callables.push(py.None());
                }
            }
        }
        if !problems.is_empty() {
            return Err(to_pyerr(py, &OperonError::Invalid { graph: plan.name.clone(), problems }));
        }
        let kwnames = plan
            .ops
            .iter()
            .map(|op| PyTuple::new(py, op.inputs.iter().map(|i| PyString::intern(py, &i.name))).map(Bound::unbind))
            .collect::<PyResult<_>>()?;
        // one look at each distinct function (a graph often runs one function as many ops)
        let mut params: FxHashMap<*mut pyo3::ffi::PyObject, Option<Vec<String>>> = FxHashMap::default();
        let call_names = plan
            .ops
            .iter()
            .zip(&callables)
            .zip(&kwnames)
            .map(|((op, f), names): ((&plan::OpPlan, &Py<PyAny>), &Py<PyTuple>)| {
                let params = params.entry(f.as_ptr()).or_insert_with(|| positional_parameters(f.bind(py)));
                let positional = !op.kind.is_builtin()
                    && params.as_ref().is_some_and(|p| {
                        op.inputs.len() <= p.len() && op.inputs.iter().zip(p).all(|(input, name)| input.name == *name)
                    });
                (!positional).then(|| names.clone_ref(py))
            })
            .collect();
        let var_keys = plan.vars.iter().map(|v| PyString::intern(py, v).unbind()).collect();
        let op_names = plan.ops.iter().map(|o| PyString::intern(py, &o.name).unbind()).collect();
        let root_context = PyTuple::new(py, [operonx::scheduler::ROOT_CONTEXT])?.unbind();
        let facts = Arc::new(Facts::new(&plan));
        Ok(Compiled {
            plan: Arc::new(plan),
            consts,
            callables,
            kwnames,
            call_names,
            var_keys,
            op_names,
            root_context,
            facts,
            spare: Mutex::new(None),
            debug: DebugCheck::new(py)?,
        })
    }

    /// True when a run of this engine logs at DEBUG (asked once per run).
    #[inline]
    pub fn debug_enabled(&self, py: Python<'_>) -> bool {
        self.debug.enabled(py)
    }

    /// The plan.
    #[inline]
    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// The parked run an ended run left, if any (never waits for another thread).
    pub fn take_spare(&self) -> Option<Box<Run<PyModel>>> {
        self.spare.try_lock().ok()?.take()
    }

    /// True when runs of this plan hand their buffers on (see [`SPARE_MAX_OPS`]).
    pub fn keeps_spares(&self) -> bool {
        self.plan.ops.len() <= SPARE_MAX_OPS
    }

    /// Keeps an ended, parked run for the next run (never waits for another thread).
    pub fn offer_spare(&self, spare: Box<Run<PyModel>>) {
        if let Ok(mut slot) = self.spare.try_lock() {
            *slot = Some(spare);
        }
    }

    /// The plan's facts.
    pub fn facts(&self) -> &Arc<Facts> {
        &self.facts
    }

    /// Constant `c` as a Python object.
    #[inline]
    pub fn constant(&self, c: ConstId) -> &Py<PyAny> {
        &self.consts[c as usize]
    }

    /// The callable of op `op` (`None` for built-in ops).
    #[inline]
    pub fn callable(&self, op: OpId) -> &Py<PyAny> {
        &self.callables[op as usize]
    }

    /// How op `op`'s function is called: `None` positionally, else with these keyword names.
    #[inline]
    pub fn call_names(&self, op: OpId) -> Option<&Py<PyTuple>> {
        self.call_names[op as usize].as_ref()
    }

    /// The keyword names of op `op`'s call.
    pub fn kwnames(&self, op: OpId) -> &Py<PyTuple> {
        &self.kwnames[op as usize]
    }

    /// Variable `v`'s name, interned.
    #[inline]
    pub fn var_key(&self, v: VarId) -> &Py<PyString> {
        &self.var_keys[v as usize]
    }

    /// Op `op`'s short name, interned.
    #[inline]
    pub fn op_name(&self, op: OpId) -> &Py<PyString> {
        &self.op_names[op as usize]
    }

    /// The `("main",)` context tuple.
    pub fn root_context(&self) -> &Py<PyTuple> {
        &self.root_context
    }

    /// Every Python object held (for the garbage collector).
    pub fn objects(&self) -> impl Iterator<Item = &Py<PyAny>> {
        self.callables.iter().chain(&self.consts)
    }
}

/// The parameters a plain Python function takes positionally, in order, when none of them is
/// positional-only; `None` for anything else (a bound method, a `functools.partial`, a callable
/// object...). An op whose inputs are the first of these, in order, is called positionally: the
/// arguments then bind exactly as they would by name. Others are called by name.
fn positional_parameters(f: &Bound<'_, PyAny>) -> Option<Vec<String>> {
    if !f.is_exact_instance_of::<PyFunction>() {
        return None;
    }
    let py = f.py();
    let code = f.getattr(pyo3::intern!(py, "__code__")).ok()?;
    let count = |attr: &Bound<'_, PyString>| code.getattr(attr).and_then(|c| c.extract::<usize>()).ok();
    // a positional-only parameter cannot be passed by name: called by name, such an op fails as it must
    if count(pyo3::intern!(py, "co_posonlyargcount"))? != 0 {
        return None;
    }
    let argcount = count(pyo3::intern!(py, "co_argcount"))?;
    let names = code.getattr(pyo3::intern!(py, "co_varnames")).ok()?.cast_into::<PyTuple>().ok()?;
    names.iter().take(argcount).map(|n| n.extract::<String>().ok()).collect()
}
