//! The `operonx` Python logger, as the driver uses it (what a run logs: `driver::run_log`).
//!
//! Whether to log is asked once per run, when it is created, and costs two atomic loads: each engine
//! keeps its last answer with the *generation* it was read in. `logging` empties a logger's cache of
//! `isEnabledFor` answers whenever a level changes anywhere (`setLevel`, `logging.disable`); the
//! `operonx` logger's cache is a [`LevelCache`], a `dict` whose `clear()` also starts a new generation,
//! and an engine asks the logger again only then. A run with logging off builds no message.

use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `logging.DEBUG`.
const DEBUG: i32 = 10;

/// Bumped each time the `operonx` logger's level cache is cleared (a level changed somewhere).
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// The `operonx` logger's cache of `isEnabledFor` answers: a `dict` that starts a new generation when
/// `logging` clears it.
#[pyclass(extends = PyDict, module = "operonx._core")]
pub(crate) struct LevelCache;

#[pymethods]
impl LevelCache {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyAny>, _kwargs: Option<&Bound<'_, PyAny>>) -> Self {
        LevelCache
    }

    /// Empties the cache, as `dict.clear()`, and makes every engine ask the logger again.
    fn clear(slf: &Bound<'_, Self>) {
        GENERATION.fetch_add(1, Ordering::AcqRel);
        slf.as_super().clear();
    }
}

/// The `operonx` logger, with a [`LevelCache`] installed as its cache when `logging` keeps one.
struct Logger {
    logger: Py<PyAny>,
    /// False where the logger has no `_cache` to replace: every run then asks the logger.
    watched: bool,
}

static LOGGER: PyOnceLock<Logger> = PyOnceLock::new();

fn logger(py: Python<'_>) -> PyResult<&'static Logger> {
    LOGGER.get_or_try_init(py, || {
        let logger = py.import("logging")?.call_method1("getLogger", ("operonx",))?;
        let watched = match logger.getattr("_cache").ok().and_then(|c| c.cast_into::<PyDict>().ok()) {
            Some(old) => {
                let cache = Bound::new(py, LevelCache)?;
                cache.as_super().update(old.as_mapping())?;
                logger.setattr("_cache", cache)?;
                true
            }
            None => false,
        };
        Ok(Logger { logger: logger.unbind(), watched })
    })
}

/// Asks whether a run of one engine logs: its last answer, kept with the generation it was read in.
pub(crate) struct DebugCheck {
    /// `generation << 1 | answer`; 0 before the first question.
    last: AtomicU64,
}

impl DebugCheck {
    /// The check for an engine being built.
    pub(crate) fn new(py: Python<'_>) -> PyResult<DebugCheck> {
        logger(py)?;
        Ok(DebugCheck { last: AtomicU64::new(0) })
    }

    /// True when the `operonx` logger would emit a DEBUG record (false when that cannot be told).
    #[inline]
    pub(crate) fn enabled(&self, py: Python<'_>) -> bool {
        let generation = GENERATION.load(Ordering::Acquire);
        let last = self.last.load(Ordering::Relaxed);
        if last >> 1 == generation {
            return last & 1 == 1;
        }
        self.ask(py, generation)
    }

    #[cold]
    #[inline(never)]
    fn ask(&self, py: Python<'_>, generation: u64) -> bool {
        let Ok(l) = logger(py) else {
            return false;
        };
        let on = ask_logger(py, l);
        if l.watched {
            self.last.store(generation << 1 | u64::from(on), Ordering::Relaxed);
        }
        on
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
