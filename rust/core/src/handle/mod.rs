//! The consumer side of a run, shared by drivers: the frame buffer with its cursor
//! ([`buffer::FrameBuffer`]) and the consumers waiting on it ([`waiters::Waiters`]), generic over
//! the value and the waker of a driver.

pub mod buffer;
pub mod waiters;

pub use buffer::{Frame, FrameBuffer, HIGH_WATER, LOW_WATER};
pub use waiters::{ValueWaiter, Waiters};
