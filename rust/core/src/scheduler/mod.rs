//! The scheduler: a plain state machine stepped by a driver (the Rust driver in [`crate::engine`], the
//! Python-loop driver in the bindings). It knows which ops are ready; it never runs one itself.

pub mod contexts;
mod inputs;
mod state;

pub use contexts::{CtxId, Path, Segment, ROOT};
pub use inputs::{
    absent_variable, choose_branch, eval_ref, eval_until, resolve_input, suggest_key, Host, Resolved, UntilError,
};
pub use state::{ErrorMode, Outcome, RunState};

/// The context path of every op run at the top level of a graph.
pub const ROOT_CONTEXT: &str = "main";
