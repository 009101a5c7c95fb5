//! Boundaries between Python and the engine: a Rust panic becomes an `OperonError`, and code that
//! may run while a Python exception is pending (a `Drop`, a finalizer) leaves that exception as it
//! found it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::ffi;
use pyo3::prelude::*;

use crate::errors;

/// Runs `f`, turning a Rust panic into an `OperonError` instead of a `PanicException`.
pub(crate) fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = operonx::engine::panic_message(&*panic);
            Err(errors::to_pyerr(py, &operonx::OperonError::Internal(msg)))
        }
    }
}

/// Runs `f` with the thread's pending Python exception (if any) set aside, and puts it back after.
///
/// For code that runs where an exception may be propagating, such as a `Drop` reached while a
/// frame unwinds: calling into Python with an exception set makes CPython report
/// `SystemError: error return without exception set`, or worse. Whatever `f` raises or panics
/// with is swallowed: cleanup has no caller to report to.
pub(crate) fn keeping_pending_error(py: Python<'_>, f: impl FnOnce(Python<'_>)) {
    let (mut ty, mut value, mut tb) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: the thread is attached (`py`); PyErr_Fetch moves the pending exception's three
    // references (or nulls) into our locals and clears it.
    #[allow(deprecated)]
    unsafe {
        ffi::PyErr_Fetch(&mut ty, &mut value, &mut tb);
    }
    let _ = catch_unwind(AssertUnwindSafe(|| f(py)));
    // SAFETY: still attached; clears whatever `f` left set, then PyErr_Restore takes back the
    // references PyErr_Fetch gave us (nulls are allowed and mean "no exception").
    #[allow(deprecated)]
    unsafe {
        ffi::PyErr_Clear();
        ffi::PyErr_Restore(ty, value, tb);
    }
}
