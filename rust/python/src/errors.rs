//! The Python exception family, declared in one place, and the one conversion from [`OperonError`].
//!
//! Classes that authoring code raises keep the builtin base that operonx 0.7.1 raised (`ValueError`,
//! `TypeError`, `RuntimeError`) so existing `except` clauses keep working, while all derive from
//! `OperonError`.

use operonx::{OperonError, Problem};
use pyo3::exceptions::{PyException, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};

/// Every exception class of the family.
pub struct Exceptions {
    /// Base of every operonx error.
    operon: Py<PyType>,
    /// A malformed or invalid graph (also a `ValueError`).
    graph: Py<PyType>,
    /// Whole-graph validation failed; `.errors` lists every problem.
    validation: Py<PyType>,
    /// The document's `schema_version` is not one this engine reads.
    schema_version: Py<PyType>,
    /// An authoring mistake of the `TypeError` kind (unknown keyword, `START >> ~op`).
    graph_type: Py<PyType>,
    /// A missing or invalid op input (also a `TypeError`).
    input: Py<PyType>,
    /// An op raised; the original exception is `__cause__`.
    op: Py<PyType>,
    /// The run was cancelled.
    cancelled: Py<PyType>,
    /// The API was used in a way it does not support (also a `RuntimeError`).
    usage: Py<PyType>,
}

static EXCEPTIONS: PyOnceLock<Exceptions> = PyOnceLock::new();

fn make(py: Python<'_>, name: &str, bases: Vec<Bound<'_, PyAny>>, doc: &str) -> PyResult<Py<PyType>> {
    let ns = PyDict::new(py);
    ns.set_item("__module__", "operonx.errors")?;
    ns.set_item("__doc__", doc)?;
    let ty = py.get_type::<PyType>().call1((name, PyTuple::new(py, bases)?, ns))?;
    Ok(ty.cast_into::<PyType>()?.unbind())
}

/// A `UsageError`: the API was used in a way it does not support.
pub fn usage_error(py: Python<'_>, message: &str) -> PyErr {
    new_error(py, &exceptions(py).usage, message, &[])
}

/// A `GraphError`: a graph that cannot be built or run as written.
pub fn graph_error(py: Python<'_>, message: &str) -> PyErr {
    new_error(py, &exceptions(py).graph, message, &[])
}

/// The exception classes (created on first use).
fn exceptions(py: Python<'_>) -> &Exceptions {
    EXCEPTIONS.get_or_init(py, || build(py).expect("creating the operonx exception classes"))
}

fn build(py: Python<'_>) -> PyResult<Exceptions> {
    let operon =
        make(py, "OperonError", vec![py.get_type::<PyException>().into_any()], "Base class of every operonx error.")?;
    let base = || operon.bind(py).clone().into_any();
    let graph = make(
        py,
        "GraphError",
        vec![base(), py.get_type::<PyValueError>().into_any()],
        "A graph that cannot be built or run as written (malformed document, unknown op, cycle...).",
    )?;
    let validation = make(
        py,
        "GraphValidationError",
        vec![graph.bind(py).clone().into_any()],
        "Whole-graph validation failed. `.errors` (and `.result.errors`) list every problem found, each with \
         `category`, `message`, `op_name` and `target_name`.",
    )?;
    let schema_version = make(
        py,
        "SchemaVersionError",
        vec![graph.bind(py).clone().into_any()],
        "The graph document's `schema_version` is missing or not one this engine reads (`.found`).",
    )?;
    let graph_type = make(
        py,
        "GraphTypeError",
        vec![base(), py.get_type::<PyTypeError>().into_any()],
        "An authoring mistake such as an unknown keyword argument or `START >> ~op`.",
    )?;
    let input = make(
        py,
        "InputError",
        vec![base(), py.get_type::<PyTypeError>().into_any()],
        "An op input has no value. `.graph`, `.op`, `.input` and `.context` say which.",
    )?;
    let op = make(
        py,
        "OpError",
        vec![base()],
        "An op failed. `.graph`, `.op` and `.context` say where; the op's exception is `__cause__`.",
    )?;
    let cancelled = make(py, "RunCancelled", vec![base()], "The run was cancelled before it finished.")?;
    let usage = make(
        py,
        "OperonUsageError",
        vec![base(), py.get_type::<PyRuntimeError>().into_any()],
        "The API was used in a way it does not support (for example `run_sync` inside a running event loop).",
    )?;
    Ok(Exceptions { operon, graph, validation, schema_version, graph_type, input, op, cancelled, usage })
}

/// Creates an exception instance of `ty` with `message` and attributes.
pub fn new_error<'py>(py: Python<'py>, ty: &Py<PyType>, message: &str, attrs: &[(&str, Bound<'py, PyAny>)]) -> PyErr {
    let made = ty.bind(py).call1((message,)).and_then(|exc| {
        for (k, v) in attrs {
            exc.setattr(*k, v)?;
        }
        Ok(exc)
    });
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// One problem of a failed validation.
#[pyclass(frozen, get_all, module = "operonx.errors", name = "ValidationIssue")]
pub struct ValidationIssue {
    /// A short kind: `empty`, `no_entry`, `no_exit`, `unknown_op`, `unknown_ref`, `cycle`, ...
    pub category: String,
    /// What is wrong.
    pub message: String,
    /// The op concerned, if any.
    pub op_name: Option<String>,
    /// The other end (edge target, ref source), if any.
    pub target_name: Option<String>,
}

#[pymethods]
impl ValidationIssue {
    fn __repr__(&self) -> String {
        format!("ValidationIssue(category={:?}, message={:?})", self.category, self.message)
    }
}

/// The outcome of a validation: `.valid` and `.errors`.
#[pyclass(frozen, get_all, module = "operonx.errors", name = "ValidationResult")]
pub struct ValidationResult {
    /// False whenever there is at least one error.
    pub valid: bool,
    /// Every problem found.
    pub errors: Py<PyList>,
}

fn issues<'py>(py: Python<'py>, problems: &[Problem]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for p in problems {
        list.append(ValidationIssue {
            category: p.category.to_string(),
            message: p.message.clone(),
            op_name: p.op_name.clone(),
            target_name: p.target_name.clone(),
        })?;
    }
    Ok(list)
}

fn context_tuple<'py>(py: Python<'py>, context: &[String]) -> Bound<'py, PyAny> {
    PyTuple::new(py, context).map(|t| t.into_any()).unwrap_or_else(|_| py.None().into_bound(py))
}

/// Converts an engine error into the matching Python exception.
pub fn to_pyerr(py: Python<'_>, err: &OperonError) -> PyErr {
    let ex = exceptions(py);
    let msg = err.to_string();
    let s = |v: &str| v.into_pyobject(py).map(|o| o.into_any()).unwrap_or_else(|_| py.None().into_bound(py));
    match err {
        OperonError::Malformed(_) => new_error(py, &ex.graph, &msg, &[]),
        OperonError::SchemaVersion { found } => new_error(py, &ex.schema_version, &msg, &[("found", s(found))]),
        OperonError::Invalid { graph, problems } => match issues(py, problems) {
            Ok(list) => {
                let result = Bound::new(py, ValidationResult { valid: false, errors: list.clone().unbind() });
                match result {
                    Ok(result) => new_error(
                        py,
                        &ex.validation,
                        &msg,
                        &[("graph", s(graph)), ("errors", list.into_any()), ("result", result.into_any())],
                    ),
                    Err(e) => e,
                }
            }
            Err(e) => e,
        },
        OperonError::MissingInput { graph, op, input, context, suggestion } => new_error(
            py,
            &ex.input,
            &msg,
            &[
                ("graph", s(graph)),
                ("op", s(op)),
                ("input", s(input)),
                ("context", context_tuple(py, context)),
                ("suggestion", suggestion.as_deref().map(s).unwrap_or_else(|| py.None().into_bound(py))),
            ],
        ),
        OperonError::RunInputs { graph, .. } => new_error(
            py,
            &ex.input,
            &msg,
            &[
                ("graph", s(graph)),
                ("op", py.None().into_bound(py)),
                ("input", py.None().into_bound(py)),
                ("context", py.None().into_bound(py)),
                ("suggestion", py.None().into_bound(py)),
            ],
        ),
        OperonError::OpFailed { graph, op, context, .. } => {
            new_error(py, &ex.op, &msg, &[("graph", s(graph)), ("op", s(op)), ("context", context_tuple(py, context))])
        }
        OperonError::Cancelled { graph } => new_error(py, &ex.cancelled, &msg, &[("graph", s(graph))]),
        OperonError::Usage(_) => new_error(py, &ex.usage, &msg, &[]),
        // Internal errors, and the published crate's categories (raised by Rust ops only).
        _ => new_error(py, &ex.operon, &msg, &[]),
    }
}

/// Adds the exception family to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let ex = exceptions(py);
    for (name, ty) in [
        ("OperonError", &ex.operon),
        ("GraphError", &ex.graph),
        ("GraphValidationError", &ex.validation),
        ("SchemaVersionError", &ex.schema_version),
        ("GraphTypeError", &ex.graph_type),
        ("InputError", &ex.input),
        ("OpError", &ex.op),
        ("RunCancelled", &ex.cancelled),
        ("OperonUsageError", &ex.usage),
    ] {
        m.add(name, ty.clone_ref(py))?;
    }
    m.add_class::<ValidationIssue>()?;
    m.add_class::<ValidationResult>()?;
    Ok(())
}
