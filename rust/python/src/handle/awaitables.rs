//! Awaitables the handle returns: [`PyReady`], whose value is known, and [`PyNextFrame`], which takes
//! the next frame from the run's buffer when it is awaited, waiting on a loop future if none is
//! there yet.

use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::PyType;

use super::{next_frame, Next};
use crate::driver::PyRun;
use crate::frames::is_done;

/// An awaitable whose value is already known: awaiting it never touches the event loop.
#[pyclass(module = "operonx._core", name = "Ready")]
pub struct PyReady {
    value: Option<Py<PyAny>>,
}

#[pymethods]
impl PyReady {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = self.value.take().unwrap_or_else(|| py.None());
        Err(PyStopIteration::new_err((value,)))
    }

    fn send(&mut self, py: Python<'_>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
        drop(value); // a ready awaitable ignores what is sent to it
        self.__next__(py)
    }
}

/// A ready awaitable of `value`.
pub(crate) fn ready(py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PyReady { value: Some(value.unbind()) })?.into_any())
}

/// What `handle.__anext__()` returns: awaiting it gives the next `Frame(op, context, data)`, raises
/// `StopAsyncIteration` at the end, or raises the run's error after its last frame.
///
/// The frame is taken from the buffer only when the awaiting task resumes, never handed to a
/// future: a consumer cancelled or timed out while it waits takes nothing, so the frame stays for
/// the next one. Several consumers may wait at once; each frame goes to one of them.
#[pyclass(module = "operonx._core", name = "NextFrame")]
pub struct PyNextFrame {
    run: Py<PyRun>,
    /// The loop future this awaitable is blocked on, if any.
    waiting: Option<Py<PyAny>>,
    /// It already produced its value (or raised).
    over: bool,
}

impl PyNextFrame {
    /// An awaitable of the next frame of `run`.
    pub(crate) fn new(run: Py<PyRun>) -> Self {
        PyNextFrame { run, waiting: None, over: false }
    }

    fn step(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.over {
            return Err(PyStopIteration::new_err(()));
        }
        self.waiting = None;
        let run = self.run.bind(py);
        match crate::guard(py, || next_frame(run)) {
            Ok(Next::Wait(future)) => {
                self.waiting = Some(future.clone_ref(py));
                Ok(future)
            }
            Ok(Next::Frame(frame)) => {
                self.over = true;
                Err(PyStopIteration::new_err((frame,)))
            }
            Err(e) => {
                self.over = true;
                Err(e)
            }
        }
    }

    /// The consumer gave up waiting: its future will not be resolved for it.
    fn forget(&mut self, py: Python<'_>) {
        self.over = true;
        if let Some(w) = self.waiting.take() {
            let w = w.bind(py);
            if !is_done(py, w) {
                let _ = w.call_method0(pyo3::intern!(py, "cancel"));
            }
        }
    }
}

#[pymethods]
impl PyNextFrame {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.step(py)
    }

    fn send(&mut self, py: Python<'_>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
        drop(value); // the loop sends None when the future we waited on is done
        self.step(py)
    }

    /// Raises `typ` (an exception, or a class with `val`) into the awaitable: the waiting
    /// consumer was cancelled, so nothing is taken from the buffer.
    #[pyo3(signature = (typ, val = None, tb = None))]
    fn throw(
        &mut self,
        py: Python<'_>,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.forget(py);
        let err = match (typ.cast::<PyType>(), val) {
            (Ok(ty), Some(v)) if !v.is_none() => {
                if v.is_instance(ty)? {
                    PyErr::from_value(v)
                } else {
                    PyErr::from_type(ty.clone(), (v.unbind(),))
                }
            }
            (Ok(ty), _) => PyErr::from_type(ty.clone(), ()),
            (Err(_), _) => PyErr::from_value(typ),
        };
        if let Some(tb) = tb.filter(|t| !t.is_none()) {
            let _ = err.value(py).setattr(pyo3::intern!(py, "__traceback__"), tb);
        }
        Err(err)
    }

    fn close(&mut self, py: Python<'_>) {
        self.forget(py);
    }
}
