//! The tokens of an `until` text: names, numbers, strings and operators, split as Python splits them.
//! Operators the grammar has no use for are refused here, each by name.

use serde_json::Value;

use super::numbers::number;
use super::strings::{prefix, string};
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

impl Token {
    /// The token, for a message.
    pub(super) fn describe(&self) -> String {
        match self {
            Token::Name(n) => format!("'{n}'"),
            Token::Number(Const::Json(Value::Number(n))) => format!("number {n}"),
            Token::Number(Const::Int(digits)) => format!("number {digits}"),
            Token::Number(_) => "a number".into(),
            Token::Str(s) => format!("string {s:?}"),
            Token::Op(o) => format!("'{o}'"),
        }
    }
}

/// Every operator Python's tokenizer knows, longest first, so that `**` is read before `*`.
const OPERATORS: [&str; 47] = [
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", ":=", "->", "+=", "-=", "*=",
    "/=", "%=", "&=", "|=", "^=", "@=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", "{", "}", ".", ",", ":",
    ";", "=", "&", "|", "~", "^", "@",
];

/// Why an operator the grammar does not support is refused, naming it.
fn refusal(op: &str) -> Option<String> {
    let why = match op {
        "&" => "'&' is not supported here; write 'and'".into(),
        "|" => "'|' is not supported here; write 'or'".into(),
        "~" => "'~' is not supported here; write 'not'".into(),
        "^" => "'^' is not supported here; write 'and', 'or' or 'not'".into(),
        "<<" | ">>" => format!("shifts ('{op}') are not supported"),
        "@" => "matrix multiplication ('@') is not supported".into(),
        ":=" => "assignment expressions (':=') are not supported".into(),
        "=" => "'=' assigns; compare with '=='".into(),
        "..." => "the ellipsis ('...') is not supported".into(),
        ";" => "';' is not supported: an until is one expression".into(),
        "->" => "'->' is not supported".into(),
        _ if op.len() >= 2 && op.ends_with('=') && !matches!(op, "==" | "!=" | "<=" | ">=") => {
            format!("assignments ('{op}') are not supported")
        }
        _ => return None,
    };
    Some(why)
}

/// Splits an `until` text into tokens; refuses one of more than `max_tokens` tokens.
pub(super) fn tokenize(text: &str, max_tokens: usize) -> Result<Vec<Token>, String> {
    if text.contains('\0') {
        return Err("the text holds a null character".into());
    }
    // Python reads every line ending as '\n'
    let chars: Vec<char> = text.replace("\r\n", "\n").replace('\r', "\n").chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let (token, end) = if c == '\\' && chars.get(i + 1) == Some(&'\n') {
            (None, i + 2) // a line continued
        } else if c == '#' {
            (None, chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |n| i + n))
        } else if c.is_whitespace() {
            (None, i + 1)
        } else if c.is_alphabetic() || c == '_' {
            name_or_string(&chars, i)?
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let (n, end) = number(&chars, i)?;
            (Some(Token::Number(n)), end)
        } else if c == '"' || c == '\'' {
            let (s, end) = string(&chars, i, false)?;
            (Some(Token::Str(s)), end)
        } else {
            let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
            let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(*op)) else {
                return Err(format!("unexpected character '{c}'"));
            };
            if let Some(why) = refusal(op) {
                return Err(why);
            }
            (Some(Token::Op(op)), i + op.len())
        };
        tokens.extend(token);
        if tokens.len() > max_tokens {
            return Err(format!("the expression has more than {max_tokens} tokens; use a callable until"));
        }
        i = end;
    }
    Ok(tokens)
}

/// The name starting at `chars[start]`, or the string literal it prefixes (`r'…'`, `u'…'`).
fn name_or_string(chars: &[char], start: usize) -> Result<(Option<Token>, usize), String> {
    let mut end = start;
    while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
        end += 1;
    }
    let word: String = chars[start..end].iter().collect();
    if matches!(chars.get(end), Some('"' | '\'')) {
        if let Some(raw) = prefix(&word)? {
            let (s, end) = string(chars, end, raw)?;
            return Ok((Some(Token::Str(s)), end));
        }
    }
    Ok((Some(Token::Name(word)), end))
}
