//! The recursive-descent parser of an `until` text, over its tokens. Python constructs outside the
//! grammar are refused by name where the parser meets them (calls, `in`, `lambda`, `a if b else c`,
//! displays and comprehensions, starred expressions, `await`, slices).

use serde_json::Value;

use super::tokens::Token;
use super::{Cond, Sink, MAX_DEPTH};
use crate::graph::TransformKind;
use crate::plan::types::{Const, TransformPlan};

/// Python's keywords: none of them is a variable.
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

fn transform(kind: TransformKind) -> TransformPlan {
    TransformPlan { kind, args: Vec::new(), kwargs: Vec::new() }
}

/// A parse in progress: the tokens, where it is, and where constants and names go.
pub(super) struct Parser<'s> {
    tokens: Vec<Token>,
    pos: usize,
    sink: &'s mut dyn Sink,
    /// How deep the parse has recursed (brackets, unary operators, `not`).
    depth: u32,
}

impl<'s> Parser<'s> {
    /// A parser at the first of `tokens`.
    pub(super) fn new(tokens: Vec<Token>, sink: &'s mut dyn Sink) -> Self {
        Parser { tokens, pos: 0, sink, depth: 0 }
    }

    /// The whole text as one expression.
    pub(super) fn whole(&mut self) -> Result<Cond, String> {
        let cond = self.expression()?;
        match self.peek() {
            None => Ok(cond),
            Some(Token::Op(",")) => Err("tuples ('a, b') are not supported".into()),
            Some(t) => Err(format!("unexpected {} after a complete expression", t.describe())),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn at_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(o)) if *o == op)
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Name(n)) if n == word)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let at = self.at_op(op);
        self.pos += usize::from(at);
        at
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let at = self.at_word(word);
        self.pos += usize::from(at);
        at
    }

    /// Counts one more level of recursion; refuses to go deeper than [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth as usize > MAX_DEPTH {
            return Err(format!("the expression nests more than {MAX_DEPTH} levels deep"));
        }
        Ok(())
    }

    /// An expression where Python allows a conditional one: refuses `a if b else c`.
    fn expression(&mut self) -> Result<Cond, String> {
        let cond = self.or()?;
        if self.at_word("if") {
            return Err("conditional expressions ('a if b else c') are not supported".into());
        }
        Ok(cond)
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

    /// The comparison operator at the current token, if any (`in` and `not in` are refused).
    fn comparison_op(&self) -> Result<Option<TransformKind>, String> {
        let next_is_in = matches!(self.tokens.get(self.pos + 1), Some(Token::Name(m)) if m == "in");
        Ok(Some(match self.peek() {
            Some(Token::Op("==")) => TransformKind::Eq,
            Some(Token::Op("!=")) => TransformKind::Ne,
            Some(Token::Op("<")) => TransformKind::Lt,
            Some(Token::Op("<=")) => TransformKind::Le,
            Some(Token::Op(">")) => TransformKind::Gt,
            Some(Token::Op(">=")) => TransformKind::Ge,
            Some(Token::Name(n)) if n == "is" => TransformKind::Is,
            Some(Token::Name(n)) if n == "in" => return Err("'in' is not supported here; use a callable until".into()),
            Some(Token::Name(n)) if n == "not" && next_is_in => {
                return Err("'not in' is not supported here; use a callable until".into())
            }
            _ => return Ok(None),
        }))
    }

    /// `a < b < c` means `a < b and b < c`, as in Python.
    fn comparison(&mut self) -> Result<Cond, String> {
        let first = self.arith()?;
        let mut result: Option<Cond> = None;
        let mut left = first.clone();
        while let Some(kind) = self.comparison_op()? {
            let is = matches!(self.peek(), Some(Token::Name(_)));
            self.pos += 1;
            let kind = if is && self.eat_word("not") { TransformKind::IsNot } else { kind };
            let right = self.arith()?;
            let singleton = matches!(self.tokens.get(self.pos - 1), Some(Token::Name(n)) if n == "None" || n == "True" || n == "False");
            if is && !singleton {
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

    /// An atom followed by subscripts (`x[k]`) and attributes (`x.k`); calls are refused.
    fn postfix(&mut self) -> Result<Cond, String> {
        let mut value = self.atom()?;
        loop {
            if self.eat_op("[") {
                let key = self.subscript()?;
                value = Cond::Binary(transform(TransformKind::GetItem), Box::new(value), Box::new(key));
            } else if self.eat_op(".") {
                let Some(Token::Name(attr)) = self.peek().cloned() else {
                    return Err("a '.' must be followed by a name".into());
                };
                self.pos += 1;
                let attr = Cond::Const(self.sink.constant(Const::Json(Value::String(attr))));
                value = Cond::Binary(transform(TransformKind::GetAttr), Box::new(value), Box::new(attr));
            } else if self.at_op("(") {
                return Err("function calls are not supported; use a callable until".into());
            } else {
                return Ok(value);
            }
        }
    }

    /// The key of `x[key]`, after the `[`: one expression (no slice, no tuple).
    fn subscript(&mut self) -> Result<Cond, String> {
        if self.at_op(":") {
            return Err("slices ('x[a:b]') are not supported".into());
        }
        if self.at_op("]") {
            return Err("a subscript '[]' is empty".into());
        }
        let key = self.expression()?;
        self.close("]", "a '[' is not closed")?;
        Ok(key)
    }

    /// Eats the bracket `close` that ends what was just read, or says why it is not there.
    fn close(&mut self, close: &str, unclosed: &str) -> Result<(), String> {
        match self.peek() {
            Some(Token::Op(o)) if *o == close => {
                self.pos += 1;
                Ok(())
            }
            None => Err(unclosed.into()),
            Some(Token::Op(",")) => Err("tuples ('a, b') are not supported".into()),
            Some(Token::Op(":")) if close == "]" => Err("slices ('x[a:b]') are not supported".into()),
            Some(Token::Name(n)) if n == "for" => Err(format!(
                "{} are not supported",
                if close == ")" { "generator expressions ('(x for x in y)')" } else { "comprehensions" }
            )),
            Some(t) => Err(format!("unexpected {} before '{close}'", t.describe())),
        }
    }

    fn atom(&mut self) -> Result<Cond, String> {
        let Some(token) = self.peek().cloned() else {
            return Err("the expression ends too early".into());
        };
        self.pos += 1;
        Ok(match token {
            Token::Number(n) => Cond::Const(self.sink.constant(n)),
            Token::Str(mut s) => {
                // adjacent literals are one string, as in Python
                while let Some(Token::Str(more)) = self.peek() {
                    s.push_str(more);
                    self.pos += 1;
                }
                Cond::Const(self.sink.constant(Const::Json(Value::String(s))))
            }
            Token::Name(n) => self.word(&n)?,
            Token::Op("(") => {
                if self.at_op(")") {
                    return Err("tuples ('()') are not supported".into());
                }
                let inner = self.expression()?;
                self.close(")", "a '(' is not closed")?;
                inner
            }
            Token::Op("[") => return Err(self.display("list", "]")),
            Token::Op("{") => return Err(self.display("", "}")),
            Token::Op("*" | "**") => return Err("starred expressions ('*x') are not supported".into()),
            other => return Err(format!("unexpected {}", other.describe())),
        })
    }

    /// A name at the place of an operand: a constant, a variable, or a keyword that is refused.
    fn word(&mut self, n: &str) -> Result<Cond, String> {
        let constant = match n {
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            "None" => Value::Null,
            "lambda" => return Err("lambda expressions are not supported; use a callable until".into()),
            "await" => return Err("'await' is not supported".into()),
            "yield" => return Err("'yield' is not supported".into()),
            _ if KEYWORDS.contains(&n) => return Err(format!("unexpected '{n}'")),
            _ => return Ok(Cond::Name(self.sink.var(n))),
        };
        Ok(Cond::Const(self.sink.constant(Const::Json(constant))))
    }

    /// Why the display opened just before the current token (a list `[…]`, or a dict or set `{…}`) is
    /// refused: names the kind, and a comprehension when it holds a `for`.
    fn display(&self, kind: &str, close: &str) -> String {
        let (mut depth, mut colon, mut comprehension) = (0usize, false, false);
        for (i, t) in self.tokens.iter().enumerate().skip(self.pos) {
            // `{**d}` unpacks a dict: `**` where an item starts
            let item_start = i == self.pos || self.tokens[i - 1] == Token::Op(",");
            match t {
                Token::Op("(" | "[" | "{") => depth += 1,
                Token::Op(")" | "]" | "}") if depth == 0 => break,
                Token::Op(")" | "]" | "}") => depth -= 1,
                Token::Op(":") if depth == 0 => colon = true,
                Token::Op("**") if depth == 0 && item_start => colon = true,
                Token::Name(n) if depth == 0 && n == "for" => comprehension = true,
                _ => {}
            }
        }
        let kind = match kind {
            "" if colon || self.at_op(close) => "dict",
            "" => "set",
            k => k,
        };
        let what = if comprehension { "comprehensions" } else { "literals" };
        format!("{kind} {what} are not supported")
    }
}
