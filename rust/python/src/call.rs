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
    // One spare slot in front lets the callee prepend `self` without copying (ARGUMENTS_OFFSET).
    let mut slots: SmallVec<[*mut ffi::PyObject; 9]> = SmallVec::with_capacity(args.len() + 1);
    slots.push(std::ptr::null_mut());
    slots.extend(args.iter().map(|a| a.as_ptr()));
    // SAFETY: `f`, every argument and `kwnames` are live objects borrowed for the duration of the
    // call; the array holds `1 + len(kwnames)` pointers and we pass a pointer to its second slot with
    // zero positional arguments plus the offset flag, as the vectorcall protocol requires.
    unsafe {
        let result = ffi::PyObject_Vectorcall(
            f.as_ptr(),
            slots.as_ptr().add(1),
            ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
            kwnames.as_ptr(),
        );
        Bound::from_owned_ptr_or_err(py, result)
    }
}
