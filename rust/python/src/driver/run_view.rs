//! `"$state"`: a read-only view of every value a run's ops produced, built only when read.

use operonx::plan::{Builtin, OpKind};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySet, PyString, PyTuple};

use super::{lock, PyRun};
use crate::runtime::lookup;

/// Read-only view of a finished run: `state["g.op", "var"]`, `state["g", "input"]`, `state.tags`.
#[pyclass(frozen, module = "operonx._core", name = "RunState")]
pub struct PyRunView {
    run: Py<PyRun>,
}

#[pymethods]
impl PyRunView {
    /// The value op `name` (full name, e.g. `"g.a"`) produced for `var`; for the graph's own full name,
    /// the run input `var`, else the last value forwarded to graph output `var`; for a nested graph or
    /// loop, its output `var`, else its input (a loop: its variable) `var`.
    fn __getitem__<'py>(&self, py: Python<'py>, key: (String, String)) -> PyResult<Bound<'py, PyAny>> {
        match self.value(py, &key.0, &key.1)? {
            Some(v) => Ok(v),
            None => Err(PyKeyError::new_err(format!("no value for {:?} in this run", key))),
        }
    }

    /// Like `state[key]`, with a default for a missing value.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: (String, String),
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self.value(py, &key.0, &key.1)? {
            Some(v) => v,
            None => default.unwrap_or_else(|| py.None().into_bound(py)),
        })
    }

    fn __contains__(&self, py: Python<'_>, key: (String, String)) -> PyResult<bool> {
        Ok(self.value(py, &key.0, &key.1)?.is_some())
    }

    /// Tags the ops added through a returned `"$tags"` list (deduplicated, first-seen order).
    #[getter]
    fn tags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let core = lock(self.run.get())?;
        PyList::new(py, core.run().tags().iter().map(|t| t.bind(py)))
    }

    /// What each loop did in this run, by the loop's full name: `runs`, `iterations` (over all
    /// runs), `max_iterations`, and `reached_max` (runs that stopped at `max_iterations` with
    /// `until` still false).
    #[getter]
    fn loops<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = self.run.get();
        let eng = r.engine();
        let core = lock(r)?;
        let loops = PyDict::new(py);
        let mut stats: Vec<_> = core.run().loop_stats().collect();
        stats.sort_by_key(|(op, _)| *op);
        for (exit, s) in stats {
            let p = &eng.plan().ops[exit as usize];
            let Builtin::Loop(lp) = &p.builtin else {
                continue;
            };
            let entry = PyDict::new(py);
            entry.set_item("runs", s.runs)?;
            entry.set_item("iterations", s.iterations)?;
            entry.set_item("max_iterations", lp.max_iterations)?;
            entry.set_item("reached_max", s.reached_max)?;
            loops.set_item(&p.full_name, entry)?;
        }
        Ok(loops)
    }

    /// Every `(op full name, var)` key with a value, each once, graph inputs first. A loop or nested
    /// graph is two ops of the plan under one name (and a root loop's are named as the graph): their
    /// keys are listed once.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let r = self.run.get();
        let eng = r.engine();
        let core = lock(r)?;
        let keys = PyList::empty(py);
        let seen = PySet::empty(py)?;
        let add = |name: &str, var: Bound<'py, PyAny>| -> PyResult<()> {
            let key = PyTuple::new(py, [PyString::new(py, name).into_any(), var])?;
            if !seen.contains(&key)? {
                seen.add(&key)?;
                keys.append(key)?;
            }
            Ok(())
        };
        for k in core.run().inputs().bind(py).try_iter()? {
            add(&eng.plan().full_name, k?)?;
        }
        for (i, record) in core.run().values().ops_with_values() {
            for k in record.bind(py).try_iter()? {
                add(&eng.plan().ops[i].full_name, k?)?;
            }
        }
        Ok(keys)
    }

    /// How many times ops ran in this run: each call of a code op (a generator's once, an op fed
    /// its items once per item) and each branch, in every loop iteration.
    #[getter]
    fn ops_run(&self) -> PyResult<u64> {
        Ok(lock(self.run.get())?.run().op_runs())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.keys(py)?.try_iter()?.into_any())
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.keys(py)?.len())
    }

    /// The run's request, session and user ids.
    #[getter]
    fn request_id(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.id(py, 0)
    }

    #[getter]
    fn session_id(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.id(py, 1)
    }

    #[getter]
    fn user_id(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.id(py, 2)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let keys = self.keys(py)?.len();
        let r = self.run.get();
        let runs = lock(r)?.run().op_runs();
        Ok(format!("RunState(name='{}', ops_run={runs}, keys={keys})", r.engine().plan().name))
    }
}

impl PyRunView {
    /// The view of `run`'s values.
    pub(super) fn new(run: Py<PyRun>) -> Self {
        PyRunView { run }
    }

    fn id(&self, py: Python<'_>, i: usize) -> PyResult<Py<PyAny>> {
        let core = lock(self.run.get())?;
        Ok(core.id(i).map(|v| v.clone_ref(py)).unwrap_or_else(|| py.None()))
    }

    fn value<'py>(&self, py: Python<'py>, source: &str, var: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let r = self.run.get();
        let eng = r.engine();
        let core = lock(r)?;
        let key = PyString::new(py, var);
        if source == eng.plan().full_name || source == eng.plan().name {
            if let Some(v) = lookup(core.run().inputs().bind(py), &key)? {
                return Ok(Some(v));
            }
            for frame in core.run().frames().all().rev() {
                if let Some(v) = lookup(frame.data.bind(py), &key)? {
                    return Ok(Some(v));
                }
            }
            return Ok(None);
        }
        // A nested graph or loop is two ops under one name: its end (outputs) is read first, then its
        // entry (inputs, or a loop's variables).
        let Some(first) = eng.plan().ops.iter().position(|o| o.full_name == source) else {
            return Ok(None);
        };
        let is_pair = matches!(eng.plan().ops[first].kind, OpKind::GraphEnter | OpKind::LoopEnter);
        let candidates: &[usize] = if is_pair { &[first + 1, first] } else { &[first] };
        for &op in candidates {
            let values = core.run().values();
            let record = values.get(op as u32, operonx::scheduler::ROOT).or_else(|| values.last(op as u32));
            if let Some(v) = record.map(|r| lookup(r.bind(py), &key)).transpose()?.flatten() {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
}
