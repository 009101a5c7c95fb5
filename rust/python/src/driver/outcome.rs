//! How a run ends on the Python side: the result dict, a failed or cancelled run's calls stopped,
//! and whoever waits woken.

use operonx::plan::OpId;
use operonx::run::OpFailure;
use operonx::scheduler::CtxId;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::run_view::PyRunView;
use super::{PyRun, RunCore};
use crate::compiled::Compiled;

impl RunCore {
    /// An op the driver called came back with `result`.
    pub(super) fn complete(
        &mut self,
        py: Python<'_>,
        eng: &Compiled,
        op: OpId,
        ctx: CtxId,
        result: PyResult<Bound<'_, PyAny>>,
    ) {
        let mut rt = Self::runtime(py, eng);
        let result = result.map(Bound::unbind).map_err(OpFailure::Raised);
        self.run.complete(&mut rt, op, ctx, result);
        self.release(py);
    }

    /// An op failed before or after its call.
    pub(super) fn fail_op(&mut self, py: Python<'_>, eng: &Compiled, op: OpId, ctx: CtxId, failure: OpFailure<PyErr>) {
        let mut rt = Self::runtime(py, eng);
        self.run.fail_op(&mut rt, op, ctx, failure);
        self.release(py);
    }

    /// Ends the run with `err` (a fatal error, or the driver's own): nothing new starts, running
    /// tasks and generators are stopped.
    pub(crate) fn fail(&mut self, py: Python<'_>, err: PyErr) {
        self.run.fail(err);
        self.release(py);
    }

    /// Cancels the run: what arrived stays readable, nothing new starts.
    pub(crate) fn cancel(&mut self, py: Python<'_>) {
        self.run.cancel();
        self.release(py);
    }

    /// Once the run is over (failed or cancelled included): closes its generators, cancels its
    /// tasks and forgets deferred work. Worker jobs see the run's cancel token.
    #[inline]
    pub(super) fn release(&mut self, py: Python<'_>) {
        if self.run.is_over() {
            self.release_over(py);
        }
    }

    /// Logs the end of a run that logs (once); nothing for the others.
    #[inline(always)]
    pub(super) fn log_end(&mut self, py: Python<'_>) {
        if self.log.is_some() {
            self.log_end_now(py);
        }
    }

    /// Hands the trace of a traced run that is over to its tracers (once); nothing for the others.
    #[inline(always)]
    pub(super) fn trace_end(&mut self, py: Python<'_>) {
        if self.trace.is_some() {
            self.trace_end_now(py);
        }
    }

    #[cold]
    #[inline(never)]
    fn trace_end_now(&mut self, py: Python<'_>) {
        if let Some(trace) = self.trace.take() {
            let ids = std::array::from_fn(|i| {
                self.ids[i].as_ref().map(|id| id.bind(py).str().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default())
            });
            trace.end(py, &mut self.run, ids);
        }
    }

    #[cold]
    #[inline(never)]
    fn log_end_now(&mut self, py: Python<'_>) {
        if let Some(log) = self.log.take() {
            log.end(py, self);
        }
    }

    #[cold]
    #[inline(never)]
    fn release_over(&mut self, py: Python<'_>) {
        self.log_end(py);
        self.trace_end(py);
        self.deferred.clear();
        for g in self.sync_gens.drain(..) {
            let _ = g.iter.bind(py).call_method0(pyo3::intern!(py, "close"));
        }
        for (_, task) in self.tasks.drain() {
            let _ = task.bind(py).call_method0(pyo3::intern!(py, "cancel"));
        }
    }

    /// Wakes consumers of a run that is over: they take the frames left, then the end or the error.
    pub(super) fn wake_consumers(&mut self, py: Python<'_>, eng: &Compiled) -> PyResult<()> {
        let mut rt = Self::runtime(py, eng);
        self.run.wake_all(&mut rt)?;
        if let Some(w) = self.resume_waiter.take() {
            crate::frames::resolve(py, w.bind(py), py.None().into_bound(py))?;
        }
        Ok(())
    }

    /// The result dict: the run's grouped frames, `"$state"`, and `"$errors"` with
    /// `errors="continue"`.
    pub(crate) fn result<'py>(&self, py: Python<'py>, run: &Bound<'py, PyRun>) -> PyResult<Bound<'py, PyDict>> {
        let mut rt = Self::runtime(py, run.get().engine());
        let result = self.run.result(&mut rt)?.into_bound(py).cast_into::<PyDict>()?;
        result.set_item(pyo3::intern!(py, "$state"), PyRunView::new(run.clone().unbind()))?;
        if self.run.lists_errors() {
            let errors = self.run.errors().iter().map(|e| e.clone_ref(py).into_value(py));
            result.set_item(pyo3::intern!(py, "$errors"), PyList::new(py, errors)?)?;
        }
        Ok(result)
    }
}
