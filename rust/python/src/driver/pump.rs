//! The task that runs an async generator op: a Rust awaitable that pulls the generator's items
//! (`agen.__anext__()`), hands each to the run, waits when the consumer is behind, and closes the
//! generator (`agen.aclose()`) however the stream ends. It is what an `async for` over the
//! generator in a Python coroutine would be, without a Python frame per item.

use operonx::plan::OpId;
use operonx::scheduler::CtxId;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;

use super::callbacks::take_item;
use super::PyRun;

/// What the pump is waiting for.
enum Stage {
    /// The generator's next item.
    Next,
    /// The consumer to catch up (a loop future).
    Backpressure,
    /// `aclose()`, after which the pump ends (with the error that ended the stream, if any).
    Closing(Option<PyErr>),
    /// Nothing: the pump has ended.
    Done,
}

/// How the task resumes the pump.
enum Input {
    Send(Py<PyAny>),
    Throw(PyErr),
}

/// The coroutine of an async generator op's task (it has `send`, `throw`, `close` and `__await__`,
/// so asyncio runs it as a coroutine).
#[pyclass(module = "operonx._core", name = "Pump")]
pub struct PyPump {
    agen: Py<PyAny>,
    run: Py<PyRun>,
    op: OpId,
    ctx: CtxId,
    /// The iterator of the awaitable being awaited (`__await__()` of an `__anext__()`, a future,
    /// or an `aclose()`).
    inner: Option<Py<PyAny>>,
    stage: Stage,
}

impl PyPump {
    /// The pump of generator `agen`, an instance of op `op` of `run` in `ctx`.
    pub(super) fn new(agen: Py<PyAny>, run: Py<PyRun>, op: OpId, ctx: CtxId) -> Self {
        PyPump { agen, run, op, ctx, inner: None, stage: Stage::Next }
    }

    /// Resumes the awaited iterator with `input` until it yields (the task then waits on what it
    /// yielded) or the pump ends (`StopIteration`, or the error that ended the stream).
    fn resume(&mut self, py: Python<'_>, mut input: Input) -> PyResult<Py<PyAny>> {
        loop {
            let inner = match self.inner.take() {
                Some(inner) => inner,
                None => match self.stage {
                    Stage::Done => return Err(PyStopIteration::new_err((py.None(),))),
                    _ => {
                        let next = self.agen.bind(py).call_method0(pyo3::intern!(py, "__anext__"));
                        match next.and_then(|a| awaited(&a)) {
                            Ok(it) => it,
                            Err(e) => {
                                self.advance(py, Err(e))?;
                                continue;
                            }
                        }
                    }
                },
            };
            let step = match std::mem::replace(&mut input, Input::Send(py.None())) {
                Input::Send(v) => inner.bind(py).call_method1(pyo3::intern!(py, "send"), (v,)),
                Input::Throw(e) => inner.bind(py).call_method1(pyo3::intern!(py, "throw"), (e.into_value(py),)),
            };
            match step {
                Ok(yielded) => {
                    self.inner = Some(inner);
                    return Ok(yielded.unbind());
                }
                Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
                    let value = e.value(py).getattr(pyo3::intern!(py, "value"))?;
                    if let Some(end) = self.advance(py, Ok(value.unbind()))? {
                        return Err(end);
                    }
                }
                Err(e) => {
                    if let Some(end) = self.advance(py, Err(e))? {
                        return Err(end);
                    }
                }
            }
        }
    }

    /// The awaited thing completed with `outcome`: moves to the next stage. Returns how the pump
    /// ends once `aclose()` has completed.
    fn advance(&mut self, py: Python<'_>, outcome: PyResult<Py<PyAny>>) -> PyResult<Option<PyErr>> {
        let stage = std::mem::replace(&mut self.stage, Stage::Done);
        match (stage, outcome) {
            (Stage::Next, Ok(item)) => match take_item(self.run.bind(py), self.op, self.ctx, item) {
                Ok(None) => self.stage = Stage::Next,
                Ok(Some(waiter)) => {
                    self.inner = Some(awaited(waiter.bind(py))?);
                    self.stage = Stage::Backpressure;
                }
                Err(e) => self.close_with(py, Some(e))?,
            },
            (Stage::Next, Err(e)) if e.is_instance_of::<PyStopAsyncIteration>(py) => self.close_with(py, None)?,
            (Stage::Backpressure, Ok(_)) => self.stage = Stage::Next,
            (Stage::Next | Stage::Backpressure, Err(e)) => self.close_with(py, Some(e))?,
            (Stage::Closing(ended), closed) => {
                let end = match (ended, closed) {
                    (Some(e), _) | (None, Err(e)) => e,
                    (None, Ok(_)) => PyStopIteration::new_err((py.None(),)),
                };
                return Ok(Some(end));
            }
            (Stage::Done, _) => return Ok(Some(PyStopIteration::new_err((py.None(),)))),
        }
        Ok(None)
    }

    /// Starts `aclose()`; the pump ends with `ended` once it completes.
    fn close_with(&mut self, py: Python<'_>, ended: Option<PyErr>) -> PyResult<()> {
        self.stage = Stage::Closing(ended);
        let aclose = self.agen.bind(py).call_method0(pyo3::intern!(py, "aclose"));
        match aclose.and_then(|a| awaited(&a)) {
            Ok(it) => self.inner = Some(it),
            Err(e) => {
                // `aclose()` could not even start: end with the stream's error, else with this one.
                if let Stage::Closing(None) = self.stage {
                    self.stage = Stage::Closing(Some(e));
                }
            }
        }
        Ok(())
    }
}

/// The iterator an `await` of `awaitable` drives.
fn awaited(awaitable: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    Ok(awaitable.call_method0(pyo3::intern!(awaitable.py(), "__await__"))?.unbind())
}

#[pymethods]
impl PyPump {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.resume(py, Input::Send(py.None()))
    }

    /// Resumes the pump with `value` (what the awaited future gave).
    fn send(&mut self, py: Python<'_>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
        self.resume(py, Input::Send(value))
    }

    /// Raises `typ` (an exception, or its type with `val`) where the pump waits: into the
    /// generator while it makes an item, so a cancelled task cancels the generator.
    #[pyo3(signature = (typ, val = None, _tb = None))]
    fn throw(
        &mut self,
        py: Python<'_>,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let err = match val.filter(|v| !v.is_none()) {
            Some(v) if v.is_instance_of::<pyo3::exceptions::PyBaseException>() => PyErr::from_value(v),
            Some(v) => PyErr::from_value(typ.call1((v,))?),
            None if typ.is_instance_of::<pyo3::types::PyType>() => PyErr::from_value(typ.call0()?),
            None => PyErr::from_value(typ),
        };
        if self.inner.is_none() && !matches!(self.stage, Stage::Done) {
            // Not started (or between two awaits): the error ends the stream, which is closed.
            self.close_with(py, Some(err))?;
            return self.resume(py, Input::Send(py.None()));
        }
        self.resume(py, Input::Throw(err))
    }

    /// Closes the pump without waiting: what it awaits is closed, and the generator is closed if
    /// that can be done without waiting.
    fn close(&mut self, py: Python<'_>) {
        if let Some(inner) = self.inner.take() {
            let _ = inner.bind(py).call_method0(pyo3::intern!(py, "close"));
        }
        if !matches!(std::mem::replace(&mut self.stage, Stage::Done), Stage::Done) {
            if let Ok(aclose) = self.agen.bind(py).call_method0(pyo3::intern!(py, "aclose")) {
                // Runs aclose() until it would wait; a generator that awaits in its cleanup is
                // closed without it.
                if aclose.call_method1(pyo3::intern!(py, "send"), (py.None(),)).is_ok() {
                    let _ = aclose.call_method0(pyo3::intern!(py, "close"));
                }
            }
        }
    }

    /// Lets the garbage collector see the generator and the run.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.agen)?;
        visit.call(&self.run)?;
        if let Some(inner) = &self.inner {
            visit.call(inner)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.inner = None;
    }
}
