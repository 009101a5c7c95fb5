//! Calling Python functions from the driver: vectorcall straight from the argument buffer, with a
//! per-op tuple of keyword names (or positionally), so no tuple or kwargs dict is built per call.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Calls an op's function through `PyObject_Vectorcall`: by keyword, `f(**dict(zip(kwnames, args)))`,
/// or with `kwnames` `None` positionally (for a plain function whose first parameters are the op's
/// inputs in order; see `Compiled::call_names`), which spares the callee matching names to parameters.
#[inline]
pub fn call_op<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    args: &[Py<PyAny>],
    kwnames: Option<&Bound<'py, PyTuple>>,
) -> PyResult<Bound<'py, PyAny>> {
    debug_assert!(kwnames.is_none_or(|k| k.len() == args.len()));
    let positional = if kwnames.is_some() { 0 } else { args.len() };
    let kwnames = kwnames.map_or(std::ptr::null_mut(), Bound::as_ptr);
    // `Py<T>` is `#[repr(transparent)]` over a non-null object pointer, so the arguments already are
    // the array of object pointers vectorcall takes: nothing is copied per call. (Without
    // PY_VECTORCALL_ARGUMENTS_OFFSET a bound method copies them itself, on its stack.)
    let array = args.as_ptr().cast::<*mut ffi::PyObject>();
    // SAFETY: `f`, every argument and `kwnames` (when given) are live objects borrowed for the
    // duration of the call; `array` points to `args.len()` object pointers, of which the first
    // `positional` are positional arguments and the rest are named by `kwnames`, as the vectorcall
    // protocol requires.
    unsafe {
        let result = ffi::PyObject_Vectorcall(f.as_ptr(), array, positional, kwnames);
        Bound::from_owned_ptr_or_err(py, result)
    }
}
