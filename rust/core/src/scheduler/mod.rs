//! The scheduler: a plain state machine stepped by a driver (through [`crate::run::Run`]). It knows
//! which ops are ready; it never runs one itself, nor decides what a run produces.

pub mod contexts;
mod state;

pub use contexts::{CtxId, Path, Segment, ROOT};
pub use state::{ErrorMode, Outcome, RunState};

/// The context path of every op run at the top level of a graph.
#[doc = include_str!("../../doc/scheduler/ROOT_CONTEXT.md")]
pub const ROOT_CONTEXT: &str = "main";
