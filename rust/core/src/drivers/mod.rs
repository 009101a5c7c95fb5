//! Drivers of the Rust API: where and when the calls of Rust ops run. What a run produces is
//! decided by [`crate::run`].

pub mod inline;
pub mod spare;
pub mod step;
#[cfg(feature = "tokio")]
pub mod tokio;
