//! `Engine`: a compiled graph bound to its Python callables and constants, shared by every run.

use std::sync::Arc;

use operonx::graph::schema;
use operonx::plan::{self, Const, Plan};
use operonx::run::Facts;
use operonx::{EngineError, Problem};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::driver;
use crate::errors::to_pyerr;
use crate::handle::PyHandle;
use crate::value::{int_to_py, json_to_py};

/// A compiled graph ready to run. Built by `operonx.Operon` from the graph's engine document.
#[pyclass(frozen, weakref, module = "operonx._core", name = "Engine")]
pub struct PyEngine {
    pub(crate) plan: Arc<Plan>,
    /// Constants by id, as Python objects.
    pub(crate) consts: Vec<Py<PyAny>>,
    /// The callable of each op, by op id.
    pub(crate) callables: Vec<Py<PyAny>>,
    /// Keyword names of each op's call, by op id.
    pub(crate) kwnames: Vec<Py<PyTuple>>,
    /// Interned variable names, by var id.
    pub(crate) var_keys: Vec<Py<PyString>>,
    /// Interned op short names, by op id (the first element of frames).
    pub(crate) op_names: Vec<Py<PyString>>,
    /// The `("main",)` context tuple.
    pub(crate) root_context: Py<PyTuple>,
    /// Per-op facts every run reads.
    pub(crate) facts: Arc<Facts>,
}

#[pymethods]
impl PyEngine {
    /// Compiles `document` (JSON text of schema 1.0) whose `{"$host": i}` values index `hosts`.
    #[new]
    fn new(py: Python<'_>, document: &str, hosts: Vec<Py<PyAny>>) -> PyResult<Self> {
        crate::guard(py, || Self::build(py, document, hosts))
    }

    /// Starts a run. Returns the result dict when the run finished without waiting, else an asyncio
    /// future that resolves to it.
    #[pyo3(signature = (inputs, errors = "raise", request_id = None, session_id = None, user_id = None))]
    fn run(
        slf: &Bound<'_, Self>,
        inputs: Option<Bound<'_, PyAny>>,
        errors: &str,
        request_id: Option<Bound<'_, PyAny>>,
        session_id: Option<Bound<'_, PyAny>>,
        user_id: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        crate::guard(py, || driver::start(slf, inputs, errors, [request_id, session_id, user_id]))
    }

    /// Starts a run and returns its handle. With a running event loop the run starts at once (in the
    /// background); otherwise it starts when the handle is first consumed.
    #[pyo3(signature = (inputs, errors = "raise", retain_frames = true, request_id = None, session_id = None, user_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        slf: &Bound<'_, Self>,
        inputs: Option<Bound<'_, PyAny>>,
        errors: &str,
        retain_frames: bool,
        request_id: Option<Bound<'_, PyAny>>,
        session_id: Option<Bound<'_, PyAny>>,
        user_id: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyHandle> {
        let py = slf.py();
        crate::guard(py, || {
            let mode = driver::error_mode(py, errors)?;
            let run = driver::new_run(slf, inputs, mode, retain_frames, [request_id, session_id, user_id])?;
            if let Ok(event_loop) = py.import("asyncio")?.call_method0("get_running_loop") {
                driver::lock(run.get())?.start_on(py, &event_loop, &run)?;
            }
            Ok(PyHandle::new(run.unbind()))
        })
    }

    /// Checks run inputs as every run does (a mapping; `None` is `{}`) and returns them; raises
    /// `InputError` otherwise. Middleware calls it before it passes inputs to its hooks.
    fn check_inputs<'py>(&self, py: Python<'py>, inputs: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        driver::checked_inputs(py, self, inputs)
    }

    /// The graph's short name.
    #[getter]
    fn name(&self) -> &str {
        &self.plan.name
    }

    /// The graph's full name.
    #[getter]
    fn full_name(&self) -> &str {
        &self.plan.full_name
    }

    /// Number of ops.
    #[getter]
    fn op_count(&self) -> usize {
        self.plan.ops.len()
    }

    /// True when some op is async or runs on a worker thread (a run then needs an event loop).
    #[getter]
    fn has_async(&self) -> bool {
        self.plan.has_async()
    }

    /// Graph input names the ops read.
    #[getter]
    fn graph_inputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.plan.graph_inputs.iter().map(|v| self.plan.var(*v)))
    }

    /// Graph output names the ops forward.
    #[getter]
    fn graph_outputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.plan.graph_outputs.iter().map(|v| self.plan.var(*v)))
    }

    /// Lets Python's garbage collector see the callables and constants the engine holds, so an op
    /// that refers back to its own engine does not keep both alive forever.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        for obj in self.callables.iter().chain(&self.consts) {
            visit.call(obj)?;
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!("<operonx._core.Engine graph='{}' ops={}>", self.plan.name, self.plan.ops.len())
    }
}

impl PyEngine {
    fn build(py: Python<'_>, document: &str, hosts: Vec<Py<PyAny>>) -> PyResult<Self> {
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
            return Err(to_pyerr(py, &EngineError::Invalid { graph: plan.name.clone(), problems }));
        }
        let kwnames = plan
            .ops
            .iter()
            .map(|op| PyTuple::new(py, op.inputs.iter().map(|i| PyString::intern(py, &i.name))).map(Bound::unbind))
            .collect::<PyResult<_>>()?;
        let var_keys = plan.vars.iter().map(|v| PyString::intern(py, v).unbind()).collect();
        let op_names = plan.ops.iter().map(|o| PyString::intern(py, &o.name).unbind()).collect();
        let root_context = PyTuple::new(py, [operonx::scheduler::ROOT_CONTEXT])?.unbind();
        let facts = Arc::new(Facts::new(&plan));
        Ok(PyEngine { plan: Arc::new(plan), consts, callables, kwnames, var_keys, op_names, root_context, facts })
    }
}
