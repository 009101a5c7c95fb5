//! Frames on the Python side: the `Frame(op, context, data)` named tuple a consumer receives, and
//! the asyncio futures consumers wait on (the buffer and the waiters themselves live in the core's
//! `handle`).

use operonx::handle::Frame;
use operonx::scheduler::{Path, Segment};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::compiled::Compiled;

static FRAME: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The `Frame` class: `collections.namedtuple("Frame", "op context data")`, public as
/// `operonx.Frame` (its `__module__` is `operonx.handle`, where it is documented).
pub(crate) fn frame_type(py: Python<'_>) -> &Bound<'_, PyType> {
    FRAME.get_or_init(py, || make_frame_type(py).expect("creating the Frame class")).bind(py)
}

fn make_frame_type(py: Python<'_>) -> PyResult<Py<PyType>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("module", "operonx.handle")?;
    let fields = ("op", "context", "data");
    let ty = py.import("collections")?.getattr("namedtuple")?.call(("Frame", fields), Some(&kwargs))?;
    ty.setattr(
        "__doc__",
        "One result of a streaming run: `op` (the op's short name), `context` (its context path, \
         `(\"main\",)` for a plain op, `(\"main\", \"[i]\")` for item i of a stream) and `data` (its \
         forwarded outputs, under their graph-output names). A named tuple: `op, ctx, data = frame` \
         works as before.",
    )?;
    Ok(ty.cast_into::<PyType>()?.unbind())
}

/// A new `Frame` of three items, made as `tuple.__new__` makes a tuple subclass's instance: the
/// class allocates room for the items, which are then set in place (a named tuple has no other
/// field), skipping the class's Python `__new__`.
fn new_frame<'py>(py: Python<'py>, items: [Bound<'py, PyAny>; 3]) -> PyResult<Bound<'py, PyTuple>> {
    let ty = frame_type(py);
    // SAFETY: `ty` is a subclass of `tuple` with no extra fields (a named tuple: `__slots__ = ()`),
    // so the object its `tp_alloc` returns has a tuple's layout with 3 item slots, zeroed. Each slot
    // is set exactly once, with a new reference, before the object is handed out; no Python code
    // runs in between.
    unsafe {
        let tp = ty.as_type_ptr();
        let alloc = (*tp).tp_alloc.unwrap_or(pyo3::ffi::PyType_GenericAlloc);
        let obj = alloc(tp, 3);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        for (i, item) in (0..).zip(items) {
            pyo3::ffi::PyTuple_SET_ITEM(obj, i, item.into_ptr());
        }
        Ok(Bound::from_owned_ptr(py, obj).cast_into_unchecked())
    }
}

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

/// Builds the `Frame(op, context, data)` of a frame.
pub(crate) fn frame_tuple<'py>(
    py: Python<'py>,
    eng: &Compiled,
    frame: &Frame<Py<PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let ctx = path_tuple(py, &frame.path, eng.root_context())?;
    new_frame(py, [eng.op_name(frame.op).bind(py).clone().into_any(), ctx.into_any(), frame.data.bind(py).clone()])
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
