//! The compiled plan: a graph document turned into dense ids, successor lists and input bindings.
//! A plan is built once per engine and shared by every run.

mod calls;
mod compile;
mod refs;
mod types;
pub mod until;

pub use calls::{CallPolicy, MAX_BACKOFF};
pub use compile::compile;
pub use types::{
    Binding, Builtin, CasePlan, Const, ConstId, Edge, EdgeKind, Forward, InputPlan, LoopPlan, OpId, OpKind, OpPlan,
    Operand, Plan, RefPlan, RefSource, TransformPlan, Until, VarId,
};
