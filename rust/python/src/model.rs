//! The Python value model: what the core's run semantics hold when Python drives them.

use operonx::run::Model;
use pyo3::prelude::*;

/// The types of the Python value model.
pub(crate) struct PyModel;

impl Model for PyModel {
    type Value = Py<PyAny>;
    type Error = PyErr;
    type Failure = PyErr;
    type Waker = Py<PyAny>;
}
