//! Face of the core's `until` grammar: the Python package asks it when a loop is written, so a loop
//! accepts exactly the `until` texts the engine runs.

use pyo3::prelude::*;

use crate::errors::graph_error;
use crate::guard;

/// Checks a loop's `until` text against the engine's grammar. Raises `GraphError` saying why the
/// engine would refuse it (naming the construct it does not support).
#[pyfunction]
pub fn check_until(py: Python<'_>, text: &str) -> PyResult<()> {
    guard(py, || operonx::plan::until::check(text).map_err(|why| graph_error(py, &why)))
}
