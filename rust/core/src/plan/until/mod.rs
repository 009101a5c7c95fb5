//! A loop's `until` text, parsed once into an expression tree over the loop's variables.
//!
//! This is the one grammar of `until`: the engine parses it when a plan is compiled, and the Python
//! package asks [`check`] when a loop is written, so what authoring accepts is what the engine runs.
//!
//! The language is the part of Python's expression syntax a stop condition needs: names, numbers,
//! strings, `True` / `False` / `None`, parentheses, `+ - * / // % **`, unary `-` / `+`,
//! comparisons (chained as in Python), `is` / `is not` against `None`, `True` or `False`, `and`,
//! `or`, `not`, subscripts (`x["k"]`, `x[0]`) and attributes (`x.k`). Literals are read exactly as
//! Python reads them (every integer and string form, escapes, raw strings); any other construct is
//! refused with an error that names it. Operators are applied by the driver's host, so values keep
//! the host's semantics (Python's, inside the Python package).

use super::types::{Const, ConstId, TransformPlan, VarId};
use parser::Parser;
use tokens::tokenize;

mod numbers;
mod parser;
mod strings;
mod tokens;

/// A parsed `until` expression.
#[doc = include_str!("../../../doc/plan/until/Cond.md")]
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A loop variable.
    Name(VarId),
    /// A constant.
    Const(ConstId),
    /// `not x`.
    Not(Box<Cond>),
    /// `a and b`: `a` when it is falsy, else `b`.
    And(Box<Cond>, Box<Cond>),
    /// `a or b`: `a` when it is truthy, else `b`.
    Or(Box<Cond>, Box<Cond>),
    /// A unary operator (`-x`, `+x`).
    Unary(TransformPlan, Box<Cond>),
    /// A binary operator, comparison, subscript or attribute: the transform applied to the left
    /// side with the right side as its argument.
    Binary(TransformPlan, Box<Cond>, Box<Cond>),
}

impl Cond {
    /// The variables the expression reads, each once, in reading order.
    #[doc = include_str!("../../../doc/plan/until/Cond.names.md")]
    pub fn names(&self) -> Vec<VarId> {
        let mut names = Vec::new();
        let mut stack = vec![self];
        while let Some(c) = stack.pop() {
            match c {
                Cond::Name(v) if !names.contains(v) => names.push(*v),
                Cond::Name(_) | Cond::Const(_) => {}
                Cond::Not(a) | Cond::Unary(_, a) => stack.push(a),
                Cond::And(a, b) | Cond::Or(a, b) | Cond::Binary(_, a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
            }
        }
        names
    }

    /// The constants the expression holds, in reading order.
    #[doc = include_str!("../../../doc/plan/until/Cond.constants.md")]
    pub fn constants(&self) -> Vec<ConstId> {
        let mut constants = Vec::new();
        let mut stack = vec![self];
        while let Some(c) = stack.pop() {
            match c {
                Cond::Const(k) => constants.push(*k),
                Cond::Name(_) => {}
                Cond::Not(a) | Cond::Unary(_, a) => stack.push(a),
                Cond::And(a, b) | Cond::Or(a, b) | Cond::Binary(_, a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
            }
        }
        constants
    }
}

/// Where the parser puts what it finds: variable names and constants of the plan.
#[doc = include_str!("../../../doc/plan/until/Sink.md")]
pub trait Sink {
    /// The id of a variable name.
    #[doc = include_str!("../../../doc/plan/until/Sink.var.md")]
    fn var(&mut self, name: &str) -> VarId;
    /// The id of a new constant: a JSON value, or a whole number beyond 64 bits ([`Const::Int`]).
    #[doc = include_str!("../../../doc/plan/until/Sink.constant.md")]
    fn constant(&mut self, value: Const) -> ConstId;
}

/// Deepest nesting an `until` may have: the parse, the evaluation and dropping the tree recurse.
#[doc = include_str!("../../../doc/plan/until/MAX_DEPTH.md")]
pub const MAX_DEPTH: usize = 100;

/// Longest expression (in tokens) an `until` may be: it bounds every tree the parser builds, so even a
/// refused one is dropped without deep recursion.
#[doc = include_str!("../../../doc/plan/until/MAX_TOKENS.md")]
pub const MAX_TOKENS: usize = 1000;

/// Parses an `until` text. The error says what is wrong, for a person.
#[doc = include_str!("../../../doc/plan/until/parse.md")]
pub fn parse(text: &str, sink: &mut dyn Sink) -> Result<Cond, String> {
    let tokens = tokenize(text, MAX_TOKENS)?;
    if tokens.is_empty() {
        return Err("the expression is empty".into());
    }
    let cond = Parser::new(tokens, sink).whole()?;
    if tree_depth(&cond) > MAX_DEPTH {
        return Err(format!("the expression nests more than {MAX_DEPTH} levels deep"));
    }
    Ok(cond)
}

/// Checks an `until` text without keeping what it reads: `Err` says why the engine would refuse it.
#[doc = include_str!("../../../doc/plan/until/check.md")]
pub fn check(text: &str) -> Result<(), String> {
    /// Numbers names and constants, keeping nothing.
    struct Discard(u32);
    impl Sink for Discard {
        fn var(&mut self, _name: &str) -> VarId {
            self.0 += 1;
            self.0
        }
        fn constant(&mut self, _value: Const) -> ConstId {
            self.0 += 1;
            self.0
        }
    }
    parse(text, &mut Discard(0)).map(drop)
}

/// The depth of a parsed tree, without recursion.
fn tree_depth(cond: &Cond) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(cond, 1)];
    while let Some((c, d)) = stack.pop() {
        deepest = deepest.max(d);
        match c {
            Cond::Name(_) | Cond::Const(_) => {}
            Cond::Not(a) | Cond::Unary(_, a) => stack.push((a, d + 1)),
            Cond::And(a, b) | Cond::Or(a, b) | Cond::Binary(_, a, b) => {
                stack.push((a, d + 1));
                stack.push((b, d + 1));
            }
        }
    }
    deepest
}
