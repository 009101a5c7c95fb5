//! The process-wide store of `@op(cache=True)`: one [`OpCache`] of Python outputs, shared by every
//! engine and graph (ops with the same full name share entries). Its bound is
//! [`DEFAULT_CACHE_SIZE`] entries until `operonx.set_cache_size(n)` changes it.

use std::sync::{Mutex, PoisonError};

use operonx::plan::OpId;
use operonx::run::{OpCache, Runtime, DEFAULT_CACHE_SIZE};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyDictMethods};

use crate::compiled::Compiled;
use crate::runtime::PyRuntime;

static CACHE: Mutex<Option<OpCache<Py<PyAny>>>> = Mutex::new(None);
static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn with<T>(f: impl FnOnce(&mut OpCache<Py<PyAny>>) -> T) -> T {
    let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(|| OpCache::new(DEFAULT_CACHE_SIZE)))
}

/// The key of op `op` called with `args`: its full name and its inputs by name as JSON (keys
/// sorted; a value JSON cannot hold is written as its `str()`).
pub(super) fn key(py: Python<'_>, eng: &Compiled, op: OpId, args: &[Py<PyAny>]) -> PyResult<String> {
    let record = PyRuntime::new(py, eng).record(op, args)?;
    let dumps = DUMPS.get_or_try_init(py, || Ok::<_, PyErr>(py.import("json")?.getattr("dumps")?.unbind()))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("sort_keys", true)?;
    kwargs.set_item("default", py.get_type::<pyo3::types::PyString>())?;
    let text: String = dumps.bind(py).call((record,), Some(&kwargs))?.extract()?;
    Ok(OpCache::<()>::key(&eng.plan().ops[op as usize].full_name, &text))
}

/// A copy of what `value` holds (a dict is copied, so callers never change the cached one).
fn copy<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    match value.cast::<PyDict>() {
        Ok(d) => Ok(d.copy()?.into_any()),
        Err(_) => Ok(value.clone()),
    }
}

/// The outputs cached under `key`, copied.
pub(super) fn get(py: Python<'_>, key: &str) -> PyResult<Option<Py<PyAny>>> {
    let hit = with(|c| c.get(key).map(|v| v.clone_ref(py)));
    hit.map(|v| copy(v.bind(py)).map(Bound::unbind)).transpose()
}

/// Keeps a copy of `outputs` under `key`.
pub(super) fn put(py: Python<'_>, key: String, outputs: &Bound<'_, PyAny>) -> PyResult<()> {
    let kept = copy(outputs)?.unbind();
    let gone = with(|c| c.put(key, kept));
    drop(gone); // dropped here, with the GIL held
    let _ = py;
    Ok(())
}

/// `operonx.set_cache_size(n)`: the most entries the op cache keeps (0 turns caching off); the least
/// recently used go first.
#[pyfunction]
pub fn set_cache_size(size: usize) {
    drop(with(|c| c.set_capacity(size)));
}

/// `operonx.clear_cache()`: empties the op cache.
#[pyfunction]
pub fn clear_cache() {
    drop(with(OpCache::clear));
}

/// `operonx.cache_info()`: `(entries, most entries kept)`.
#[pyfunction]
pub fn cache_info() -> (usize, usize) {
    with(|c| (c.len(), c.capacity()))
}
