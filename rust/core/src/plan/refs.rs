//! The plan's ids and how an op's inputs are read: refs, their transforms, bindings and forwarding.

use crate::graph::TransformKind;

/// Dense id of an op (its index in [`Plan::ops`](crate::plan::Plan::ops)).
#[doc = include_str!("../../doc/plan/types/OpId.md")]
pub type OpId = u32;
/// Dense id of a variable name (an index into [`Plan::vars`](crate::plan::Plan::vars)).
#[doc = include_str!("../../doc/plan/types/VarId.md")]
pub type VarId = u32;
/// Dense id of a constant (an index into [`Plan::consts`](crate::plan::Plan::consts)).
#[doc = include_str!("../../doc/plan/types/ConstId.md")]
pub type ConstId = u32;

/// Where a ref reads from.
#[doc = include_str!("../../doc/plan/types/RefSource.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefSource {
    /// A graph input (`PARENT[var]`).
    Parent,
    /// Another op's output.
    Op(OpId),
}

/// An operand of a transform.
#[doc = include_str!("../../doc/plan/types/Operand.md")]
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A constant.
    Const(ConstId),
    /// Another ref, evaluated in the same context.
    Ref(Box<RefPlan>),
}

/// One compiled transform.
#[doc = include_str!("../../doc/plan/types/TransformPlan.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct TransformPlan {
    /// What it does.
    pub kind: TransformKind,
    /// Positional operands (for `apply` the function first).
    pub args: Vec<Operand>,
    /// Keyword operands (`call` only).
    pub kwargs: Vec<(String, Operand)>,
}

/// A compiled ref.
#[doc = include_str!("../../doc/plan/types/RefPlan.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct RefPlan {
    /// Where it reads.
    pub source: RefSource,
    /// Read over a collect edge: the value is the list of the source's values.
    pub collect: bool,
    /// The variable read.
    pub var: VarId,
    /// Transforms applied in order.
    pub transforms: Vec<TransformPlan>,
}

/// What an input is bound to.
#[doc = include_str!("../../doc/plan/types/Binding.md")]
#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    /// Nothing: the default applies, or the input is missing.
    Unbound,
    /// A literal.
    Literal(ConstId),
    /// A ref.
    Ref(RefPlan),
    /// Several producers: the first of these refs with a value (not `None`) gives the input's value.
    AnyOf(Vec<RefPlan>),
}

/// One input of an op.
#[doc = include_str!("../../doc/plan/types/InputPlan.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct InputPlan {
    /// The parameter's name.
    pub name: String,
    /// What it is bound to.
    pub binding: Binding,
    /// The function's default, when it has one.
    pub default: Option<ConstId>,
}

/// Which outputs of an op become graph outputs (and so frames).
#[doc = include_str!("../../doc/plan/types/Forward.md")]
#[derive(Debug, Clone, PartialEq)]
pub enum Forward {
    /// None: the op emits no frames.
    Nothing,
    /// Every output key under its own name.
    All,
    /// Only these `(op output, graph output)` pairs.
    Mapped(Vec<(VarId, VarId)>),
}

impl Forward {
    /// True when the op emits frames.
    #[doc = include_str!("../../doc/plan/types/Forward.emits.md")]
    pub fn emits(&self) -> bool {
        !matches!(self, Forward::Nothing)
    }
}
