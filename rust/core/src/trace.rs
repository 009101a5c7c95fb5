//! Tracing runs of the Rust API: a [`Tracer`] receives a summary of each run once it is over.
//!
//! This is the smallest form of the trait (one summary per run); spans per op execution come with
//! the tracing work. A run with no tracer pays nothing for it.
//!
//! ```
//! use operonx::trace::{RunSummary, Tracer};
//!
//! struct Count(std::sync::atomic::AtomicUsize);
//!
//! impl Tracer for Count {
//!     fn run_ended(&self, _summary: &RunSummary) {
//!         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!     }
//! }
//! ```

use std::time::Duration;

/// The ids a run was started with (as given; none is made up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIds {
    /// The user the run is for.
    pub user_id: Option<String>,
    /// The session the run belongs to.
    pub session_id: Option<String>,
    /// The request that started the run.
    pub request_id: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every op that could run ran.
    Finished,
    /// An op failed (or the run could not go on).
    Failed,
    /// The run was cancelled (or its handle dropped).
    Cancelled,
}

/// What a tracer learns of a run that is over.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The graph's name.
    pub graph: String,
    /// The ids the run was started with.
    pub ids: RunIds,
    /// How it ended.
    pub status: RunStatus,
    /// The run's error in words, when it failed.
    pub error: Option<String>,
    /// Op runs (every loop iteration's and stream item's counted).
    pub op_runs: u64,
    /// Frames emitted.
    pub frames: usize,
    /// From the start of the run to its end.
    pub duration: Duration,
}

/// Receives a summary of every run of an engine once it is over. Called on the driver's task
/// after the run's consumers were woken; a panicking tracer is ignored (the run's outcome stands).
pub trait Tracer: Send + Sync {
    /// One run ended.
    fn run_ended(&self, summary: &RunSummary);
}
