//! Frames on the Python side: the `(op, ctx, data)` tuple a consumer receives, and the asyncio
//! futures consumers wait on (the buffer and the waiters themselves live in the core's `handle`).

use operonx::handle::Frame;
use operonx::scheduler::{Path, Segment};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::compiled::Compiled;

/// True when a future is done (resolved, failed or cancelled); a future that cannot say counts as done.
pub(crate) fn is_done(py: Python<'_>, future: &Bound<'_, PyAny>) -> bool {
    future.call_method0(pyo3::intern!(py, "done")).and_then(|d| d.is_truthy()).unwrap_or(true)
}

/// Sets a future's result unless it is already done (its waiter may have been cancelled).
pub(crate) fn resolve(py: Python<'_>, future: &Bound<'_, PyAny>, value: Bound<'_, PyAny>) -> PyResult<()> {
    if !is_done(py, future) {
        future.call_method1(pyo3::intern!(py, "set_result"), (value,))?;
    }
    Ok(())
}

/// Builds the `(op, ctx, data)` tuple of a frame.
pub(crate) fn frame_tuple<'py>(
    py: Python<'py>,
    eng: &Compiled,
    frame: &Frame<Py<PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let ctx = path_tuple(py, &frame.path, eng.root_context())?;
    PyTuple::new(py, [eng.op_name(frame.op).bind(py).clone().into_any(), ctx.into_any(), frame.data.bind(py).clone()])
}

/// Builds the `("main", "[0]", ...)` tuple of a path.
pub(crate) fn path_tuple<'py>(py: Python<'py>, path: &Path, root: &Py<PyTuple>) -> PyResult<Bound<'py, PyTuple>> {
    if path.len() == 1 {
        return Ok(root.bind(py).clone());
    }
    let mut parts: Vec<Bound<'py, PyAny>> = Vec::with_capacity(path.len());
    let mut buf = String::with_capacity(12);
    for s in path {
        parts.push(match s {
            Segment::Root => pyo3::intern!(py, "main").clone().into_any(),
            Segment::Collect => pyo3::intern!(py, "__collect__").clone().into_any(),
            Segment::Item(i) => {
                use std::fmt::Write;
                buf.clear();
                let _ = write!(buf, "[{i}]");
                PyString::new(py, &buf).into_any()
            }
            Segment::Loop(n) => {
                use std::fmt::Write;
                buf.clear();
                let _ = write!(buf, "loop_{n}");
                PyString::new(py, &buf).into_any()
            }
        });
    }
    PyTuple::new(py, parts)
}
