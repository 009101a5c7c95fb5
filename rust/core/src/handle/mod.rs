//! The consumer side of a run: the Rust API's [`ExecutionHandle`] (a stream of [`FrameEvent`]s, with
//! `wait_for`, `collect`, `result` and `cancel`), over the frame buffer and waiters every run keeps
//! ([`crate::run::buffer`], [`crate::run::waiters`], re-exported here).

pub mod event;
#[cfg(feature = "tokio")]
pub mod shared;
#[cfg(feature = "tokio")]
pub mod stream;

pub use crate::json::{Fired, Signal};
pub use crate::run::buffer::{Frame, FrameBuffer, HIGH_WATER, LOW_WATER};
pub use crate::run::waiters::{ValueWaiter, Waiters};
pub use event::{ContextId, FrameEvent};
#[cfg(feature = "tokio")]
pub use stream::{CollectMode, ExecutionHandle, Watcher};
