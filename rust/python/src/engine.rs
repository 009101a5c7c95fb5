//! `Engine`: a compiled graph bound to its Python callables and constants, shared by every run.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::compiled::Compiled;
use crate::driver;
use crate::handle::PyHandle;

/// A compiled graph ready to run. Built by `operonx.Operon` from the graph's engine document.
#[pyclass(frozen, weakref, module = "operonx._core", name = "Engine")]
pub struct PyEngine {
    compiled: Arc<Compiled>,
    trace: Arc<crate::trace::EngineTrace>,
}

#[pymethods]
impl PyEngine {
    /// Compiles `document` (JSON text of schema 1.0) whose `{"$host": i}` values index `hosts`;
    /// `tracer` lists the `_core` tracers (`LocalTracer`, `TraceQueue`) of every run.
    #[new]
    #[pyo3(signature = (document, hosts, tracer = None))]
    fn new(
        py: Python<'_>,
        document: &str,
        hosts: Vec<Py<PyAny>>,
        tracer: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Self> {
        let trace = Arc::new(crate::trace::EngineTrace::new(crate::trace::sinks(tracer)?));
        crate::guard(py, || Ok(PyEngine { compiled: Arc::new(Compiled::build(py, document, hosts)?), trace }))
    }

    /// Starts a run. Returns the result dict when the run finished without waiting, else an asyncio
    /// future that resolves to it. The run is not traced (see `run_traced`).
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
        let ids = [request_id, session_id, user_id];
        crate::guard(py, || driver::start(py, &slf.get().compiled, inputs, errors, ids, None))
    }

    /// `run` traced by `tracer` (a list of `_core` tracers), else by the engine's tracers (then
    /// untraced when it has none). A method of its own, so that an untraced run pays nothing for it.
    #[pyo3(signature = (inputs, errors = "raise", request_id = None, session_id = None, user_id = None, tracer = None))]
    #[allow(clippy::too_many_arguments)]
    fn run_traced(
        slf: &Bound<'_, Self>,
        inputs: Option<Bound<'_, PyAny>>,
        errors: &str,
        request_id: Option<Bound<'_, PyAny>>,
        session_id: Option<Bound<'_, PyAny>>,
        user_id: Option<Bound<'_, PyAny>>,
        tracer: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let sinks = match crate::trace::sinks(tracer)? {
            Some(s) => Some(s),
            None => this.trace.default.clone(),
        };
        let trace = sinks.as_ref().map(|s| (s, &this.trace));
        let ids = [request_id, session_id, user_id];
        crate::guard(py, || driver::start(py, &this.compiled, inputs, errors, ids, trace))
    }

    /// True when the engine has tracers of its own (`Engine(..., tracer=[...])`).
    #[getter]
    fn traced(&self) -> bool {
        self.trace.default.is_some()
    }

    /// Starts a run and returns its handle. With a running event loop the run starts at once (in the
    /// background); otherwise it starts when the handle is first consumed.
    #[pyo3(signature = (inputs, errors = "raise", retain_frames = true, request_id = None, session_id = None, user_id = None, tracer = None))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        slf: &Bound<'_, Self>,
        inputs: Option<Bound<'_, PyAny>>,
        errors: &str,
        retain_frames: bool,
        request_id: Option<Bound<'_, PyAny>>,
        session_id: Option<Bound<'_, PyAny>>,
        user_id: Option<Bound<'_, PyAny>>,
        tracer: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<PyHandle> {
        let py = slf.py();
        let this = slf.get();
        let sinks = match crate::trace::sinks(tracer)? {
            Some(s) => Some(s),
            None => this.trace.default.clone(),
        };
        crate::guard(py, || {
            let mode = driver::error_mode(py, errors)?;
            let run = driver::new_run(
                py,
                &slf.get().compiled,
                inputs,
                mode,
                retain_frames,
                [request_id, session_id, user_id],
            )?;
            if let Some(sinks) = &sinks {
                driver::lock(run.get())?.trace_with(py, sinks, &this.trace, &this.compiled)?;
            }
            if let Ok(event_loop) = py.import("asyncio")?.call_method0("get_running_loop") {
                driver::lock(run.get())?.start_on(py, &event_loop, &run)?;
            }
            Ok(PyHandle::new(run.unbind()))
        })
    }

    /// Checks run inputs as every run does (a mapping; `None` is `{}`) and returns them; raises
    /// `InputError` otherwise. Middleware calls it before it passes inputs to its hooks.
    fn check_inputs<'py>(&self, py: Python<'py>, inputs: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        driver::checked_inputs(py, &self.compiled, inputs)
    }

    /// The graph's short name.
    #[getter]
    fn name(&self) -> &str {
        &self.compiled.plan().name
    }

    /// The graph's full name.
    #[getter]
    fn full_name(&self) -> &str {
        &self.compiled.plan().full_name
    }

    /// Number of ops.
    #[getter]
    fn op_count(&self) -> usize {
        self.compiled.plan().ops.len()
    }

    /// True when some op is async or runs on a worker thread (a run then needs an event loop).
    #[getter]
    fn has_async(&self) -> bool {
        self.compiled.plan().has_async()
    }

    /// Graph input names the ops read.
    #[getter]
    fn graph_inputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.compiled.plan().graph_inputs.iter().map(|v| self.compiled.plan().var(*v)))
    }

    /// Graph output names the ops forward.
    #[getter]
    fn graph_outputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.compiled.plan().graph_outputs.iter().map(|v| self.compiled.plan().var(*v)))
    }

    /// Lets Python's garbage collector see the callables and constants the engine holds, so an op
    /// that refers back to its own engine does not keep both alive forever.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        for obj in self.compiled.objects() {
            visit.call(obj)?;
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!("<operonx._core.Engine graph='{}' ops={}>", self.compiled.plan().name, self.compiled.plan().ops.len())
    }
}
