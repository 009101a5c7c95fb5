//! Why an op produced no outputs, and the one wording of it for every driver.

use crate::error::EngineError;
use crate::plan::Plan;
use crate::scheduler::contexts::render;
use crate::scheduler::Path;

/// Why an op did not produce outputs.
#[derive(Debug)]
pub enum OpFailure<E> {
    /// The op raised (or returned an error).
    Raised(E),
    /// The op returned (or yielded) something that is not a mapping: the message says what.
    BadReturn(String),
    /// A required input has no value (with a key of its source that looks like a typo of it).
    Missing(String, Option<String>),
    /// Evaluating an input's ref raised.
    Input(String, E),
    /// A loop's `until` could not be evaluated: why, and what it raised, if anything.
    Until(String, Option<E>),
    /// The op panicked (Rust ops): the panic's message.
    Panicked(String),
}

impl<E> OpFailure<E> {
    /// The engine error of op `op` failing in context `path`, and the error that caused it.
    /// `describe` puts an error in words (`"ValueError: boom"`).
    pub fn into_error(
        self,
        plan: &Plan,
        op: crate::plan::OpId,
        path: &Path,
        describe: impl FnOnce(&E) -> String,
    ) -> (EngineError, Option<E>) {
        let p = &plan.ops[op as usize];
        let (graph, op, context) = (plan.name.clone(), p.full_name.clone(), render(path));
        let failed = |message: String| EngineError::OpFailed {
            graph: graph.clone(),
            op: op.clone(),
            context: context.clone(),
            message,
        };
        match self {
            OpFailure::Raised(e) => (failed(describe(&e)), Some(e)),
            OpFailure::BadReturn(message) => (failed(message), None),
            OpFailure::Panicked(message) => (failed(format!("panicked: {message}")), None),
            OpFailure::Missing(input, suggestion) => {
                (EngineError::MissingInput { graph, op, input, context, suggestion }, None)
            }
            OpFailure::Until(message, None) => (failed(message), None),
            OpFailure::Until(message, Some(e)) => (failed(format!("{message}: {}", describe(&e))), Some(e)),
            OpFailure::Input(input, e) => {
                (failed(format!("evaluating input '{input}' raised {}", describe(&e))), Some(e))
            }
        }
    }
}
