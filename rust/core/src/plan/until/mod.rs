//! A loop's `until` text, parsed once into an expression tree over the loop's variables.
//!
//! The language is the part of Python's expression syntax a stop condition needs: names, numbers,
//! strings, `True` / `False` / `None`, parentheses, `+ - * / // % **`, unary `-` / `+`,
//! comparisons (chained as in Python), `is` / `is not` against `None`, `True` or `False`, `and`,
//! `or`, `not`, subscripts (`x["k"]`, `x[0]`) and attributes (`x.k`). Operators are applied by the
//! driver's host, so values keep the host's semantics (Python's, inside the Python package).

use serde_json::Value;

use super::types::{Const, ConstId, TransformPlan, VarId};
use crate::graph::TransformKind;
use tokens::{tokenize, Token};

mod tokens;

/// A parsed `until` expression.
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
pub trait Sink {
    /// The id of a variable name.
    fn var(&mut self, name: &str) -> VarId;
    /// The id of a new constant: a JSON value, or a whole number beyond 64 bits ([`Const::Int`]).
    fn constant(&mut self, value: Const) -> ConstId;
}

/// Parses an `until` text. The error says what is wrong, for a person.
pub fn parse(text: &str, sink: &mut dyn Sink) -> Result<Cond, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("the expression is empty".into());
    }
    if tokens.len() > MAX_TOKENS {
        return Err(format!("the expression has more than {MAX_TOKENS} tokens; use a callable until"));
    }
    let mut p = Parser { tokens, pos: 0, sink, depth: 0 };
    let cond = p.or()?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(format!("unexpected {} after a complete expression", describe(t)));
    }
    if tree_depth(&cond) > MAX_DEPTH {
        return Err(format!("the expression nests more than {MAX_DEPTH} levels deep"));
    }
    Ok(cond)
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

fn describe(t: &Token) -> String {
    match t {
        Token::Name(n) => format!("'{n}'"),
        Token::Number(Const::Json(n)) => format!("number {n}"),
        Token::Number(Const::Int(digits)) => format!("number {digits}"),
        Token::Number(Const::Host(_)) => "a number".into(),
        Token::Str(s) => format!("string {s:?}"),
        Token::Op(o) => format!("'{o}'"),
    }
}

fn transform(kind: TransformKind) -> TransformPlan {
    TransformPlan { kind, args: Vec::new(), kwargs: Vec::new() }
}

struct Parser<'s> {
    tokens: Vec<Token>,
    pos: usize,
    sink: &'s mut dyn Sink,
    /// How deep the parse has recursed (brackets, unary operators, `not`).
    depth: u32,
}

/// Deepest nesting an `until` may have: the parse, the evaluation and dropping the tree recurse.
const MAX_DEPTH: usize = 100;

/// Longest expression (in tokens) an `until` may be: it bounds every tree the parser builds, so even a
/// refused one is dropped without deep recursion.
const MAX_TOKENS: usize = 1000;

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Token::Op(o)) if *o == op) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Name(n)) if n == word) {
            self.pos += 1;
            return true;
        }
        false
    }

    /// Counts one more level of recursion; refuses to go deeper than [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth as usize > MAX_DEPTH {
            return Err(format!("the expression nests more than {MAX_DEPTH} levels deep"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Cond, String> {
        self.descend()?;
        let cond = self.or_chain();
        self.depth -= 1;
        cond
    }

    fn or_chain(&mut self) -> Result<Cond, String> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut left = self.not()?;
        while self.eat_word("and") {
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.eat_word("not") {
            self.descend()?;
            let inner = self.not();
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner?)));
        }
        self.comparison()
    }

    /// `a < b < c` means `a < b and b < c`, as in Python.
    fn comparison(&mut self) -> Result<Cond, String> {
        let first = self.arith()?;
        let mut result: Option<Cond> = None;
        let mut left = first.clone();
        loop {
            let kind = match self.peek() {
                Some(Token::Op("==")) => TransformKind::Eq,
                Some(Token::Op("!=")) => TransformKind::Ne,
                Some(Token::Op("<")) => TransformKind::Lt,
                Some(Token::Op("<=")) => TransformKind::Le,
                Some(Token::Op(">")) => TransformKind::Gt,
                Some(Token::Op(">=")) => TransformKind::Ge,
                Some(Token::Name(n)) if n == "is" => TransformKind::Eq,
                Some(Token::Name(n)) if n == "in" => {
                    return Err("'in' is not supported here; use a callable until".into())
                }
                Some(Token::Name(n))
                    if n == "not" && matches!(self.tokens.get(self.pos + 1), Some(Token::Name(m)) if m == "in") =>
                {
                    return Err("'not in' is not supported here; use a callable until".into())
                }
                _ => break,
            };
            let is = matches!(self.peek(), Some(Token::Name(_)));
            self.pos += 1;
            let kind = if is && self.eat_word("not") { TransformKind::Ne } else { kind };
            let right = self.arith()?;
            if is
                && !matches!(self.tokens.get(self.pos - 1), Some(Token::Name(n)) if n == "None" || n == "True" || n == "False")
            {
                return Err("'is' compares with None, True or False only; use '==' for other values".into());
            }
            let cmp = Cond::Binary(transform(kind), Box::new(left), Box::new(right.clone()));
            result = Some(match result {
                None => cmp,
                Some(prev) => Cond::And(Box::new(prev), Box::new(cmp)),
            });
            left = right;
        }
        Ok(result.unwrap_or(first))
    }

    fn arith(&mut self) -> Result<Cond, String> {
        let mut left = self.term()?;
        loop {
            let kind = if self.eat_op("+") {
                TransformKind::Add
            } else if self.eat_op("-") {
                TransformKind::Sub
            } else {
                return Ok(left);
            };
            left = Cond::Binary(transform(kind), Box::new(left), Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> Result<Cond, String> {
        let mut left = self.factor()?;
        loop {
            let kind = if self.eat_op("*") {
                TransformKind::Mul
            } else if self.eat_op("//") {
                TransformKind::FloorDiv
            } else if self.eat_op("/") {
                TransformKind::TrueDiv
            } else if self.eat_op("%") {
                TransformKind::Mod
            } else {
                return Ok(left);
            };
            left = Cond::Binary(transform(kind), Box::new(left), Box::new(self.factor()?));
        }
    }

    fn factor(&mut self) -> Result<Cond, String> {
        self.descend()?;
        let cond = self.factor_inner();
        self.depth -= 1;
        cond
    }

    fn factor_inner(&mut self) -> Result<Cond, String> {
        if self.eat_op("-") {
            return Ok(Cond::Unary(transform(TransformKind::Neg), Box::new(self.factor()?)));
        }
        if self.eat_op("+") {
            return Ok(Cond::Unary(transform(TransformKind::Pos), Box::new(self.factor()?)));
        }
        let base = self.postfix()?;
        if self.eat_op("**") {
            return Ok(Cond::Binary(transform(TransformKind::Pow), Box::new(base), Box::new(self.factor()?)));
        }
        Ok(base)
    }

    fn postfix(&mut self) -> Result<Cond, String> {
        let mut value = self.atom()?;
        loop {
            if self.eat_op("[") {
                let key = self.or()?;
                if !self.eat_op("]") {
                    return Err("a '[' is not closed".into());
                }
                value = Cond::Binary(transform(TransformKind::GetItem), Box::new(value), Box::new(key));
            } else if self.eat_op(".") {
                let Some(Token::Name(attr)) = self.peek().cloned() else {
                    return Err("a '.' must be followed by a name".into());
                };
                self.pos += 1;
                let attr = Cond::Const(self.sink.constant(Const::Json(Value::String(attr))));
                value = Cond::Binary(transform(TransformKind::GetAttr), Box::new(value), Box::new(attr));
            } else {
                return Ok(value);
            }
        }
    }

    fn atom(&mut self) -> Result<Cond, String> {
        let Some(token) = self.peek().cloned() else {
            return Err("the expression ends too early".into());
        };
        self.pos += 1;
        Ok(match token {
            Token::Number(n) => Cond::Const(self.sink.constant(n)),
            Token::Str(s) => Cond::Const(self.sink.constant(Const::Json(Value::String(s)))),
            Token::Name(n) => match n.as_str() {
                "True" => Cond::Const(self.sink.constant(Const::Json(Value::Bool(true)))),
                "False" => Cond::Const(self.sink.constant(Const::Json(Value::Bool(false)))),
                "None" => Cond::Const(self.sink.constant(Const::Json(Value::Null))),
                "and" | "or" | "not" | "is" | "in" | "if" | "else" | "lambda" => {
                    return Err(format!("unexpected '{n}'"))
                }
                _ => Cond::Name(self.sink.var(&n)),
            },
            Token::Op("(") => {
                let inner = self.or()?;
                if !self.eat_op(")") {
                    return Err("a '(' is not closed".into());
                }
                inner
            }
            other => return Err(format!("unexpected {}", describe(&other))),
        })
    }
}
