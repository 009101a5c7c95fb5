//! The tokens of an `until` text: names, numbers, strings and operators.

use serde_json::Value;

use crate::plan::types::Const;

/// One token of an `until` text.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// A name: a loop variable, or a word such as `and`, `None`.
    Name(String),
    /// A number, as the constant it becomes.
    Number(Const),
    /// A string literal, escapes resolved.
    Str(String),
    /// An operator or bracket.
    Op(&'static str),
}

const OPERATORS: [&str; 21] =
    ["**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ".", "&", "|", "~"];

/// Splits an `until` text into tokens.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Name(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_') {
                // an exponent's sign belongs to the number
                if matches!(chars[i], 'e' | 'E') && matches!(chars.get(i + 1), Some('+' | '-')) {
                    i += 1;
                }
                i += 1;
            }
            let digits: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            tokens.push(Token::Number(number(&digits)?));
        } else if c == '"' || c == '\'' {
            let (s, end) = string(&chars, i)?;
            i = end;
            tokens.push(Token::Str(s));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(*op)) else {
                return Err(format!("unexpected character '{c}'"));
            };
            if matches!(*op, "&" | "|" | "~") {
                let word = match *op {
                    "&" => "and",
                    "|" => "or",
                    _ => "not",
                };
                return Err(format!("'{op}' is not supported here; write '{word}'"));
            }
            i += op.len();
            tokens.push(Token::Op(op));
        }
    }
    Ok(tokens)
}

/// A number literal. Integers keep Python's precision: up to 64 bits they are JSON integers, beyond
/// they are [`Const::Int`] (their decimal digits); other numbers are floats.
fn number(digits: &str) -> Result<Const, String> {
    if let Ok(n) = digits.parse::<i64>() {
        return Ok(Const::Json(Value::from(n)));
    }
    if let Ok(n) = digits.parse::<u64>() {
        return Ok(Const::Json(Value::from(n)));
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = digits.trim_start_matches('0');
        return Ok(Const::Int(trimmed.to_string()));
    }
    digits
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(|n| Const::Json(Value::Number(n)))
        .ok_or_else(|| format!("'{digits}' is not a number"))
}

/// The string literal whose opening quote is at `chars[open]`, and the index just past its closing quote.
fn string(chars: &[char], open: usize) -> Result<(String, usize), String> {
    let quote = chars[open];
    let mut i = open + 1;
    let mut s = String::new();
    loop {
        match chars.get(i) {
            None => return Err("a string is not closed".into()),
            Some(&q) if q == quote => return Ok((s, i + 1)),
            Some('\\') => {
                let escaped = chars.get(i + 1).ok_or("a string is not closed")?;
                s.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    other => *other,
                });
                i += 2;
            }
            Some(&ch) => {
                s.push(ch);
                i += 1;
            }
        }
    }
}
