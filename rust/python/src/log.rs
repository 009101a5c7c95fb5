//! The `operonx` Python logger, as the driver uses it (what a run logs: `driver::run_log`).
//!
//! Whether to log is asked once per run, when it is created. The answer is read from the logger's
//! own cache of `isEnabledFor` results (one dict lookup, which `logging` clears whenever a level
//! changes), so a run with logging off pays one lookup and nothing else: no message is built.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `logging.DEBUG`.
const DEBUG: i32 = 10;

/// The `operonx` logger, its `isEnabledFor` cache (`None` where `logging` keeps none) and the key
/// `DEBUG` as a Python int.
struct Logger {
    logger: Py<PyAny>,
    cache: Option<Py<PyDict>>,
    debug: Py<PyAny>,
}

static LOGGER: PyOnceLock<Logger> = PyOnceLock::new();

fn logger(py: Python<'_>) -> PyResult<&'static Logger> {
    LOGGER.get_or_try_init(py, || {
        let logger = py.import("logging")?.call_method1("getLogger", ("operonx",))?;
        let cache = logger.getattr("_cache").ok().and_then(|c| c.cast_into::<PyDict>().ok()).map(Bound::unbind);
        Ok(Logger { logger: logger.unbind(), cache, debug: DEBUG.into_pyobject(py)?.into_any().unbind() })
    })
}

/// Asks whether a run logs, for one engine: holds the logger's `isEnabledFor` cache and the key
/// `DEBUG`, so that the question costs one dict lookup per run.
pub(crate) struct DebugCheck {
    cache: Option<Py<PyDict>>,
    key: Py<PyAny>,
}

impl DebugCheck {
    /// The check for an engine being built.
    pub(crate) fn new(py: Python<'_>) -> PyResult<DebugCheck> {
        let l = logger(py)?;
        Ok(DebugCheck { cache: l.cache.as_ref().map(|c| c.clone_ref(py)), key: l.debug.clone_ref(py) })
    }

    /// True when the `operonx` logger would emit a DEBUG record (false when that cannot be told).
    #[inline]
    pub(crate) fn enabled(&self, py: Python<'_>) -> bool {
        if let Some(cache) = &self.cache {
            // SAFETY: both are live objects (held here) and the GIL is held (`py`). The result is a
            // borrowed reference, compared by address only; were the lookup to raise (an int key
            // never does), the error is cleared and the full check decides.
            let on = unsafe {
                let hit = pyo3::ffi::PyDict_GetItemWithError(cache.as_ptr(), self.key.as_ptr());
                if hit.is_null() {
                    if !pyo3::ffi::PyErr_Occurred().is_null() {
                        pyo3::ffi::PyErr_Clear();
                    }
                    None
                } else {
                    Some(hit == pyo3::ffi::Py_True())
                }
            };
            if let Some(on) = on {
                return on;
            }
        }
        logger(py).is_ok_and(|l| ask_logger(py, l))
    }
}

/// `logger.isEnabledFor(DEBUG)`, which also fills the logger's cache for the next run.
#[cold]
#[inline(never)]
fn ask_logger(py: Python<'_>, l: &Logger) -> bool {
    l.logger.bind(py).call_method1("isEnabledFor", (DEBUG,)).and_then(|r| r.is_truthy()).unwrap_or(false)
}

/// Emits `message` at DEBUG; a failure of logging itself is not the run's (it is dropped).
pub(crate) fn debug(py: Python<'_>, message: String) {
    if let Ok(l) = logger(py) {
        let _ = l.logger.bind(py).call_method1("debug", ("%s", message));
    }
}
