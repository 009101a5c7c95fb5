//! What the code written by [`#[op]`](crate::op) calls: reading typed inputs, writing outputs,
//! turning an error into an [`OperonError`]. Not an API: its items may change with the macro.

use std::any::Any;
use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::OpFuture;
use crate::error::OperonError;

pub use serde_json::Value;

/// The inputs of one call, by name.
pub type Map = serde_json::Map<String, Value>;

/// Takes input `name` out of `inputs` as a `T` (an absent input reads as `null`, so an `Option`
/// parameter is `None`); `op` is the function's name, for the error.
pub fn input<T: DeserializeOwned + 'static>(inputs: &mut Map, name: &str, op: &str) -> Result<T, OperonError> {
    let found = inputs.get_mut(name).map(Value::take);
    let absent = found.as_ref().is_none_or(Value::is_null);
    let mut slot = Some(found.unwrap_or(Value::Null));
    if let Some(value) = (&mut slot as &mut dyn Any).downcast_mut::<Option<T>>().and_then(Option::take) {
        return Ok(value);
    }
    let value = slot.take().unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| {
        let problem = if absent { "has no value" } else { "does not have the parameter's type" };
        OperonError::Runtime(format!("#[op] function '{op}': input '{name}' {problem}: {e}"))
    })
}

/// The outputs of a function that returned `value` (a `Value` or a map as it is, anything else
/// serialized); `op` is the function's name, for the error.
pub fn output<T: Serialize + 'static>(value: T, op: &str) -> Result<Value, OperonError> {
    let mut slot = Some(value);
    let any = &mut slot as &mut dyn Any;
    if let Some(value) = any.downcast_mut::<Option<Value>>().and_then(Option::take) {
        return Ok(value);
    }
    if let Some(map) = any.downcast_mut::<Option<Map>>().and_then(Option::take) {
        return Ok(Value::Object(map));
    }
    let Some(value) = slot else { return Ok(Value::Null) };
    serde_json::to_value(value).map_err(|e| {
        OperonError::Runtime(format!("#[op] function '{op}': its return value cannot be serialized: {e}"))
    })
}

/// The future of a call that failed before it started.
pub fn failed(error: OperonError) -> OpFuture {
    Box::pin(std::future::ready(Err(error)))
}

/// The `Err` of a function's `Result`, to be turned into an [`OperonError`]: an `OperonError` as
/// it is, any other error by its message ([`OperonError::Runtime`]).
pub struct Failure<E>(pub E);

impl Failure<OperonError> {
    /// The error as it is.
    pub fn into_op_error(self) -> OperonError {
        self.0
    }
}

/// Turns an error that is not an [`OperonError`] into one, by its message.
pub trait IntoOpError {
    /// The error as an [`OperonError::Runtime`].
    fn into_op_error(self) -> OperonError;
}

impl<E: Display> IntoOpError for Failure<E> {
    fn into_op_error(self) -> OperonError {
        OperonError::Runtime(self.0.to_string())
    }
}
