//! The consumer side of a run, shared by drivers: the frame buffer with its cursor
//! ([`buffer::FrameBuffer`]) and the consumers waiting on it ([`waiters::Waiters`]), generic over
//! the value and the waker of a driver.

pub mod buffer;
pub mod event;
#[cfg(feature = "tokio")]
pub mod shared;
pub mod signal;
#[cfg(feature = "tokio")]
pub mod stream;
pub mod waiters;

pub use buffer::{Frame, FrameBuffer, HIGH_WATER, LOW_WATER};
pub use event::{ContextId, FrameEvent};
pub use signal::{Fired, Signal};
#[cfg(feature = "tokio")]
pub use stream::{CollectMode, ExecutionHandle, Watcher};
pub use waiters::{ValueWaiter, Waiters};
