//! The task that runs an async generator op: a Rust awaitable that pulls the generator's items
//! (`agen.__anext__()`), hands each to the run, waits when the consumer is behind, and closes the
//! generator (`agen.aclose()`) however the stream ends. It is what an `async for` over the
//! generator in a Python coroutine would be, without a Python frame per item.
//!
//! When the generator awaits a future offered by a producer on the loop thread ([`crate::direct`]:
//! an LLM stream's next chunk), the pump claims it and parks its task on a future of its own; the
//! producer then resumes the pump in the very loop turn it resolves the future, so the item reaches
//! the run (and the run's consumers) one loop turn sooner. The pump runs the generator then in a
//! copy of its task's context, and hands the task what it must wait on next (or the pump's end)
//! when that is not another offered future.

use std::sync::{Arc, Weak};

use operonx::plan::OpId;
use operonx::scheduler::CtxId;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;

use super::callbacks::take_item;
use super::PyRun;
use crate::direct::{self, Claim};
use crate::frames::{is_done, resolve};

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
    /// While the generator awaits a claimed future and the task waits on `park`.
    parked: Option<Parked>,
    /// What the parked task gets when it next resumes the pump: a future to wait on, or the end.
    handoff: Option<PyResult<Py<PyAny>>>,
}

/// A pump parked on a claimed future.
struct Parked {
    /// The claim (the producer owns it: a producer that forgets the future frees the pump).
    claim: Weak<Claim>,
    /// The future the task waits on.
    park: Py<PyAny>,
    /// A copy of the task's context, the generator's context while the producer resumes it.
    context: Py<PyAny>,
}

impl PyPump {
    /// The pump of generator `agen`, an instance of op `op` of `run` in `ctx`.
    pub(super) fn new(agen: Py<PyAny>, run: Py<PyRun>, op: OpId, ctx: CtxId) -> Self {
        PyPump { agen, run, op, ctx, inner: None, stage: Stage::Next, parked: None, handoff: None }
    }

    /// Steps the pump for its task: what the task waits on next, or the pump's end. A future
    /// offered by a producer is claimed, and the task waits on a park future instead.
    fn for_task(slf: &Bound<'_, Self>, input: Input) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let mut this = slf.borrow_mut();
        if let Some(handoff) = this.handoff.take() {
            return handoff;
        }
        this.unpark();
        let yielded = this.resume(py, input)?;
        let Some(claim) = direct::offered(yielded.bind(py)) else { return Ok(yielded) };
        let Ok((park, context)) = park_for(yielded.bind(py)) else { return Ok(yielded) };
        claim.hold(slf.clone().into_any().unbind(), park.clone_ref(py));
        this.parked = Some(Parked { claim: Arc::downgrade(&claim), park: park.clone_ref(py), context });
        Ok(park)
    }

    /// Forgets the claim the pump is parked on, if any.
    fn unpark(&mut self) {
        if let Some(claim) = self.parked.take().and_then(|p| p.claim.upgrade()) {
            claim.revoke();
        }
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

/// A park future for the task awaiting offered `future` (on the same loop, marked as awaited) and a
/// copy of the task's current context.
fn park_for(future: &Bound<'_, PyAny>) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
    let py = future.py();
    let park = future.call_method0(pyo3::intern!(py, "get_loop"))?.call_method0(pyo3::intern!(py, "create_future"))?;
    // What `Future.__await__` sets before it yields the future to the task that awaits it.
    park.setattr(pyo3::intern!(py, "_asyncio_future_blocking"), true)?;
    // SAFETY: attached; PyContext_CopyCurrent returns a new reference or NULL with an exception.
    let context = unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyContext_CopyCurrent()) }?;
    Ok((park.unbind(), context.unbind()))
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

    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::for_task(slf, Input::Send(slf.py().None()))
    }

    /// Resumes the pump with `value` (what the awaited future gave).
    fn send(slf: &Bound<'_, Self>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
        Self::for_task(slf, Input::Send(value))
    }

    /// Resumes the generator where it awaits a claimed future, now resolved: called by the
    /// producer ([`Claim::wake`]) in the loop turn it resolved the future, the task staying parked.
    fn __call__(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let mut this = slf.try_borrow_mut()?;
        let Some(parked) = this.parked.take() else { return Ok(()) };
        if is_done(py, parked.park.bind(py)) {
            return Ok(()); // the task was cancelled: it throws into the pump next
        }
        let context = parked.context.bind(py);
        // SAFETY: attached; `context` is a live Context only this pump enters, not entered now.
        if unsafe { pyo3::ffi::PyContext_Enter(context.as_ptr()) } != 0 {
            return Err(PyErr::fetch(py));
        }
        let handoff = match this.resume(py, Input::Send(py.None())) {
            Ok(yielded) => match direct::offered(yielded.bind(py)) {
                Some(claim) => {
                    claim.hold(slf.clone().into_any().unbind(), parked.park.clone_ref(py));
                    Err(Arc::downgrade(&claim))
                }
                None => Ok(Ok(yielded)),
            },
            Err(end) => Ok(Err(end)),
        };
        // SAFETY: the same context, entered above on this thread and still current.
        if unsafe { pyo3::ffi::PyContext_Exit(context.as_ptr()) } != 0 {
            drop(PyErr::take(py)); // cannot fail: it is the current context
        }
        let handoff = match handoff {
            Ok(handoff) => handoff,
            Err(claim) => {
                this.parked = Some(Parked { claim, ..parked });
                return Ok(());
            }
        };
        this.handoff = Some(handoff);
        drop(this);
        resolve(py, parked.park.bind(py), py.None().into_bound(py))
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
        self.unpark();
        if let Some(Err(end)) = self.handoff.take() {
            return Err(end); // the pump ended while its task was parked
        }
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
        self.unpark();
        self.handoff = None;
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

    /// Lets the garbage collector see the generator, the run and the park.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.agen)?;
        visit.call(&self.run)?;
        if let Some(inner) = &self.inner {
            visit.call(inner)?;
        }
        if let Some(parked) = &self.parked {
            visit.call(&parked.park)?;
            visit.call(&parked.context)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.inner = None;
        self.unpark();
        self.handoff = None;
    }
}
