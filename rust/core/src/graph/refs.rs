//! Refs: a value read from a graph input or another op's output, with a chain of transforms.

use serde::Deserialize;
use serde_json::Value;

use super::values::bounded_transforms;

/// A ref as the compiler reads it.
#[doc = include_str!("../../doc/graph/refs/RefDoc.md")]
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RefWire")]
pub struct RefDoc {
    /// The graph's full name or `"__PARENT__"` (a graph input) or an op's full name (its output).
    pub source: String,
    /// The variable read.
    pub var: String,
    /// Transforms applied in order: `[kind, [args...]]`.
    pub transforms: Vec<(String, Vec<Value>)>,
    /// Stream policy of the edge this ref reads over: `parallel` or `collect` (default: sequential).
    pub policy: Option<String>,
    /// With `parallel`: how many items may run at once.
    pub max: Option<u32>,
}

/// A ref as written: our `policy` / `max`, or the published form's `stream_policy`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a ref (a JSON object with source and var)")]
struct RefWire {
    source: String,
    var: String,
    #[serde(default, deserialize_with = "bounded_transforms")]
    transforms: Vec<(String, Vec<Value>)>,
    #[serde(default)]
    is_output: Option<bool>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    max: Option<u32>,
    #[serde(default)]
    stream_policy: Option<StreamPolicyWire>,
}

/// The published form's stream policy of a ref.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a stream_policy (a JSON object with collect, parallel and parallel_max)")]
struct StreamPolicyWire {
    #[serde(default)]
    collect: bool,
    #[serde(default)]
    parallel: bool,
    /// 0: no cap.
    #[serde(default)]
    parallel_max: u32,
}

impl TryFrom<RefWire> for RefDoc {
    type Error = String;

    fn try_from(w: RefWire) -> Result<RefDoc, String> {
        let at = || format!("the ref to '{}' of '{}'", w.var, w.source);
        let (policy, max) = match (w.policy, w.max, w.stream_policy) {
            (None, None, Some(sp)) => match (sp.collect, sp.parallel) {
                (true, true) => return Err(format!("{} asks for both collect and parallel in its stream_policy; give one", at())),
                (true, false) => (Some("collect".to_string()), None),
                (false, true) => (Some("parallel".to_string()), Some(sp.parallel_max).filter(|m| *m > 0)),
                (false, false) => (None, None),
            },
            (_, _, Some(_)) => return Err(format!("{} has both \"policy\"/\"max\" and \"stream_policy\"; give one", at())),
            (policy, max, None) => (policy, max),
        };
        if let Some(p) = policy.as_deref().filter(|p| !matches!(*p, "parallel" | "collect")) {
            return Err(format!("{} has stream policy '{p}'; a policy is \"parallel\" or \"collect\"", at()));
        }
        let _ = w.is_output; // which side of a binding a ref is on changes nothing in what runs
        Ok(RefDoc { source: w.source, var: w.var, transforms: w.transforms, policy, max })
    }
}

/// What a transform does to the value it receives.
#[doc = include_str!("../../doc/graph/refs/TransformKind.md")]
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
    #[doc = include_str!("../../doc/graph/refs/TransformKind.parse.md")]
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
    #[doc = include_str!("../../doc/graph/refs/TransformKind.unreflected.md")]
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
