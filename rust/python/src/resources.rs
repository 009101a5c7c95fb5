//! `ResourceHub`: the Python face of the core resource hub (`operonx::resources`), used by
//! `operonx.resources`, which raises the typed exceptions and warnings: the methods here return
//! what went wrong as data (a kind, the message, the file, the line, the variable...).

use std::path::PathBuf;
use std::sync::Arc;

use operonx::resources::{self, ResourceHub};
use operonx::OperonError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::value::json_to_py;

/// A failed load, as data: `(kind, message, file, line)`, kind `"not_found"` or `"invalid"`.
type LoadError = (&'static str, String, String, Option<usize>);

fn load_error(err: &OperonError) -> LoadError {
    match err {
        OperonError::ResourceFile { file, line, message } if message == "does not exist" => {
            ("not_found", err.to_string(), file.display().to_string(), *line)
        }
        OperonError::ResourceFile { file, line, .. } => ("invalid", err.to_string(), file.display().to_string(), *line),
        other => ("invalid", other.to_string(), String::new(), None),
    }
}

/// Named provider configurations loaded from `resources.yaml` and `.env` (the core hub).
#[pyclass(frozen, module = "operonx._core", name = "ResourceHub")]
pub struct PyResourceHub {
    hub: Arc<ResourceHub>,
}

#[pymethods]
impl PyResourceHub {
    /// Loads `resources` with variables from the environment, then from `env_file` (read, not
    /// written to the environment). Returns `(hub, None)` or `(None, (kind, message, file, line))`.
    #[staticmethod]
    #[pyo3(signature = (resources, env_file = None))]
    fn load(py: Python<'_>, resources: PathBuf, env_file: Option<PathBuf>) -> PyResult<(Option<Self>, Option<LoadError>)> {
        crate::guard(py, || {
            Ok(match py.detach(|| ResourceHub::load(&resources, env_file.as_ref())) {
                Ok(hub) => (Some(PyResourceHub { hub: Arc::new(hub) }), None),
                Err(e) => (None, Some(load_error(&e))),
            })
        })
    }

    /// A hub with no resources.
    #[staticmethod]
    fn empty() -> Self {
        PyResourceHub { hub: Arc::new(ResourceHub::empty()) }
    }

    /// The variables of a `.env` file as `(pairs, None)`, or `(None, (kind, message, file, line))`.
    #[staticmethod]
    fn read_env_file(path: PathBuf) -> (Option<Vec<(String, String)>>, Option<LoadError>) {
        match resources::read_env_file(&path) {
            Ok(pairs) => (Some(pairs), None),
            Err(e) => (None, Some(load_error(&e))),
        }
    }

    /// `(0, settings)`; `(1, (message, names))` when the hub has no such resource; `(2, (message,
    /// variable, key, file))` when the resource reads a variable that was unset at load.
    fn lookup<'py>(&self, py: Python<'py>, name: &str) -> PyResult<(u8, Bound<'py, PyAny>)> {
        match self.hub.get(name) {
            Ok(settings) => {
                let value = serde_json::Value::Object(settings.clone());
                Ok((0, json_to_py(py, &value)?))
            }
            Err(e) => match &e {
                OperonError::EnvVarUnset { var, key, source_path, .. } => {
                    let file = source_path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
                    Ok((2, PyTuple::new(py, [e.to_string(), var.clone(), key.clone(), file])?.into_any()))
                }
                _ => {
                    let names = PyList::new(py, self.hub.names())?;
                    let message = match &e {
                        OperonError::ResourceHub(m) => m.clone(),
                        other => other.to_string(),
                    };
                    let message = message.into_pyobject(py)?.into_any();
                    Ok((1, PyTuple::new(py, [message, names.into_any()])?.into_any()))
                }
            },
        }
    }

    /// The resource names, in file order.
    fn names(&self) -> Vec<String> {
        self.hub.keys()
    }

    fn __len__(&self) -> usize {
        self.hub.len()
    }

    fn __contains__(&self, name: &str) -> bool {
        self.hub.has(name)
    }

    /// Every unset variable as `(variable, key, resource, file)`.
    fn warnings(&self) -> Vec<(String, String, String, String)> {
        self.hub.warnings().into_iter().map(|w| (w.variable, w.key, w.resource, w.file.display().to_string())).collect()
    }

    /// The `resources.yaml` the hub was loaded from.
    #[getter]
    fn source_path(&self) -> Option<String> {
        self.hub.source_path().map(|p| p.display().to_string())
    }

    /// The `.env` file whose variables the hub read.
    #[getter]
    fn env_file(&self) -> Option<String> {
        self.hub.env_file().map(|p| p.display().to_string())
    }

    /// True when both are the same hub.
    fn same(&self, other: &PyResourceHub) -> bool {
        Arc::ptr_eq(&self.hub, &other.hub)
    }

    /// Installs this hub as the process-wide hub (the one `operonx::resources::get` reads).
    fn install(&self) {
        resources::install(self.hub.clone());
    }

    /// The process-wide hub, if one is installed.
    #[staticmethod]
    fn installed() -> Option<Self> {
        resources::installed().map(|hub| PyResourceHub { hub })
    }

    /// Removes the process-wide hub.
    #[staticmethod]
    fn uninstall() {
        resources::uninstall();
    }
}
