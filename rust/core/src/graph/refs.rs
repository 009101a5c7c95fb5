//! Refs: a value read from a graph input or another op's output, with a chain of transforms.

use serde::Deserialize;
use serde_json::Value;

/// A ref as written in the document.
#[derive(Debug, Clone, Deserialize)]
pub struct RefDoc {
    /// The graph's full name (a graph input) or an op's full name (its output).
    pub source: String,
    /// The variable read.
    pub var: String,
    /// Transforms applied in order: `[kind, [args...]]`.
    #[serde(default)]
    pub transforms: Vec<(String, Vec<Value>)>,
    /// Stream policy of the edge this ref reads over: `parallel` or `collect` (default: sequential).
    #[serde(default)]
    pub policy: Option<String>,
    /// With `parallel`: how many items may run at once.
    #[serde(default)]
    pub max: Option<u32>,
}

/// What a transform does to the value it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformKind {
    /// `a[key]`.
    GetItem,
    /// `a.name`: an attribute (a method, when a `Call` follows).
    GetAttr,
    /// `a(*args, **kwargs)`: calls the value.
    Call,
    /// `f(a, *args)`: passes the value to a host function.
    Apply,
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    TrueDiv,
    /// `a // b`.
    FloorDiv,
    /// `a % b`.
    Mod,
    /// `a ** b`.
    Pow,
    /// `b + a` (the value on the right).
    RAdd,
    /// `b - a`.
    RSub,
    /// `b * a`.
    RMul,
    /// `b / a`.
    RTrueDiv,
    /// `b // a`.
    RFloorDiv,
    /// `b % a`.
    RMod,
    /// `b ** a`.
    RPow,
    /// `-a`.
    Neg,
    /// `+a`.
    Pos,
    /// `abs(a)`.
    Abs,
    /// `a == b`.
    Eq,
    /// `a != b`.
    Ne,
    /// `a < b`.
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
    /// `a is b` (identity; in `until`, against None, True or False).
    Is,
    /// `a is not b`.
    IsNot,
    /// `a and b` (written `a & b` on a ref).
    And,
    /// `a or b` (written `a | b` on a ref).
    Or,
    /// `not a` (written `~a` on a ref).
    Not,
}

impl TransformKind {
    /// Reads a transform name of the document.
    pub fn parse(name: &str) -> Option<Self> {
        use TransformKind::*;
        Some(match name {
            "getitem" => GetItem,
            "getattr" => GetAttr,
            "call" => Call,
            "apply" => Apply,
            "add" => Add,
            "sub" => Sub,
            "mul" => Mul,
            "truediv" => TrueDiv,
            "floordiv" => FloorDiv,
            "mod" => Mod,
            "pow" => Pow,
            "radd" => RAdd,
            "rsub" => RSub,
            "rmul" => RMul,
            "rtruediv" => RTrueDiv,
            "rfloordiv" => RFloorDiv,
            "rmod" => RMod,
            "rpow" => RPow,
            "neg" => Neg,
            "pos" => Pos,
            "abs" => Abs,
            "eq" => Eq,
            "ne" => Ne,
            "lt" => Lt,
            "le" => Le,
            "gt" => Gt,
            "ge" => Ge,
            "is_" => Is,
            "is_not" => IsNot,
            "and_" => And,
            "or_" => Or,
            "not_" => Not,
            _ => return None,
        })
    }

    /// The binary operator with its operands swapped for reflected kinds (`rsub` → `Sub`, true).
    pub fn unreflected(self) -> (Self, bool) {
        use TransformKind::*;
        match self {
            RAdd => (Add, true),
            RSub => (Sub, true),
            RMul => (Mul, true),
            RTrueDiv => (TrueDiv, true),
            RFloorDiv => (FloorDiv, true),
            RMod => (Mod, true),
            RPow => (Pow, true),
            other => (other, false),
        }
    }
}
