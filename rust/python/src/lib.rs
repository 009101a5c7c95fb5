//! Python bindings of the operonx engine, exposed as `operonx._core`.
//!
//! The files mirror the core: `engine` (the `Engine` pyclass over a [`compiled::Compiled`] graph),
//! `runtime` (the Python value model the core's run semantics work over), `driver` (a run stepped
//! on the caller's event-loop thread, and its `"$state"` view), `handle` (the consumer side and its
//! awaitables), `errors` (the exception family), `until` (the grammar of a loop's `until`, asked
//! when a loop is written), plus `call` (vectorcall), `frames` (the `Frame` named tuple), `value` (constants
//! and transforms) and `workers` (threads for cpu ops).

#![warn(missing_docs)]

use pyo3::prelude::*;

mod call;
mod compiled;
mod direct;
mod driver;
mod engine;
mod errors;
mod frames;
mod guards;
mod handle;
mod llm;
mod log;
mod model;
mod resources;
mod runtime;
mod trace;
mod until;
mod value;
mod workers;

pub(crate) use guards::guard;

/// Panics inside the engine's guard, so tests can check that a Rust panic surfaces as an
/// `OperonError` and never as a `BaseException` or a crash.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, message: &str) -> PyResult<()> {
    guard(py, || panic!("{message}"))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(until::check_until, m)?)?;
    m.add_function(wrap_pyfunction!(driver::cache::set_cache_size, m)?)?;
    m.add_function(wrap_pyfunction!(driver::cache::clear_cache, m)?)?;
    m.add_function(wrap_pyfunction!(driver::cache::cache_info, m)?)?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<log::LevelCache>()?;
    m.add_class::<driver::PyRun>()?;
    m.add_class::<driver::PyRunView>()?;
    m.add_class::<handle::PyHandle>()?;
    m.add_class::<handle::PyReady>()?;
    m.add_class::<handle::PyNextFrame>()?;
    m.add_class::<resources::PyResourceHub>()?;
    m.add_class::<llm::PyLlmBridge>()?;
    m.add("Frame", frames::frame_type(m.py()))?;
    m.add_class::<trace::PyLocalTracer>()?;
    m.add_class::<trace::PyTraceQueue>()?;
    m.add_class::<trace::PySpanNote>()?;
    m.add_function(wrap_pyfunction!(trace::flush_traces, m)?)?;
    Ok(())
}
