//! A run's cancel token: set once the run stops (failed, cancelled or dropped). Every executor
//! that runs an op's call away from the driver (worker threads, processes) takes it with the call:
//! a job not yet started is dropped, and a running one's result is discarded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared flag telling executors that a run stopped.
#[doc = include_str!("../../doc/run/cancel/CancelToken.md")]
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token, already set when `stopped`.
    #[doc = include_str!("../../doc/run/cancel/CancelToken.new.md")]
    pub fn new(stopped: bool) -> Self {
        CancelToken(Arc::new(AtomicBool::new(stopped)))
    }

    /// Marks the run as stopped.
    #[doc = include_str!("../../doc/run/cancel/CancelToken.cancel.md")]
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// True once the run stopped.
    #[doc = include_str!("../../doc/run/cancel/CancelToken.is_cancelled.md")]
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
