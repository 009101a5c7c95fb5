//! Calling Python functions from the driver: vectorcall with a per-op tuple of keyword names, so no
//! kwargs dict is built per call.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use smallvec::SmallVec;

/// Calls `f(**dict(zip(kwnames, args)))` through `PyObject_Vectorcall`.
pub fn call_with_kwnames<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    args: &[Py<PyAny>],
    kwnames: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    debug_assert_eq!(args.len(), kwnames.len());
    vectorcall(py, f, args, Some(kwnames))
}

/// Calls an op's function: by keyword through `kwnames`, or with `kwnames` `None`, positionally
/// (for a plain function whose first parameters are the op's inputs in order; see
/// `Compiled::call_names`), which spares the callee matching names to parameters.
#[inline]
pub fn call_op<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    args: &[Py<PyAny>],
    kwnames: Option<&Bound<'py, PyTuple>>,
) -> PyResult<Bound<'py, PyAny>> {
    vectorcall(py, f, args, kwnames)
}

#[inline]
fn vectorcall<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    args: &[Py<PyAny>],
    kwnames: Option<&Bound<'py, PyTuple>>,
) -> PyResult<Bound<'py, PyAny>> {
    let positional = if kwnames.is_some() { 0 } else { args.len() };
    // One spare slot in front lets the callee prepend `self` without copying (ARGUMENTS_OFFSET).
    let mut slots: SmallVec<[*mut ffi::PyObject; 9]> = SmallVec::with_capacity(args.len() + 1);
    slots.push(std::ptr::null_mut());
    slots.extend(args.iter().map(|a| a.as_ptr()));
    let kwnames = kwnames.map_or(std::ptr::null_mut(), Bound::as_ptr);
    // SAFETY: `f`, every argument and `kwnames` (when given) are live objects borrowed for the
    // duration of the call; the array holds `1 + len(args)` pointers and we pass a pointer to its
    // second slot with `positional` positional arguments (the rest named by `kwnames`) plus the
    // offset flag, as the vectorcall protocol requires.
    unsafe {
        let result = ffi::PyObject_Vectorcall(
            f.as_ptr(),
            slots.as_ptr().add(1),
            positional | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
            kwnames,
        );
        Bound::from_owned_ptr_or_err(py, result)
    }
}
