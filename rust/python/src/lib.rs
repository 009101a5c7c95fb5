//! Python bindings of the operonx engine, exposed as `operonx._core`.
//!
//! Each module wraps the engine module of the same name: `engine` (a compiled graph), `driver` (a run
//! stepped on the caller's event-loop thread), `state` (the `"$state"` view), `errors` (the exception
//! family), `until` (the grammar of a loop's `until`, asked when a loop is written), plus `call`
//! (vectorcall) and `workers` (threads for cpu ops).

use pyo3::prelude::*;

mod awaitables;
mod call;
mod driver;
mod engine;
mod errors;
mod frames;
mod guards;
mod handle;
mod runtime;
mod state;
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
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<driver::PyRun>()?;
    m.add_class::<state::PyRunView>()?;
    m.add_class::<handle::PyHandle>()?;
    m.add_class::<awaitables::PyReady>()?;
    m.add_class::<awaitables::PyNextFrame>()?;
    Ok(())
}
