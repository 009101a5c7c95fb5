//! Number literals of an `until` text, read as Python reads them.
//!
//! Integers in any base (`0x1F`, `0o17`, `0b101`, `1_000`) keep every digit: up to 64 bits they are
//! JSON integers, beyond they are [`Const::Int`] (decimal digits). Floats (`1e3`, `1.5E-3`, `1.`, `.5`)
//! are rounded as Python rounds them. What Python refuses (`007`, `1__0`, `0b12`, `1abc`) is refused
//! with Python's reason; imaginary numbers (`1j`) are refused by name.

use serde_json::Value;

use crate::plan::types::Const;

/// Most decimal digits an integer literal may have: Python refuses longer decimal literals (its
/// default `sys.int_max_str_digits`), and every host turns [`Const::Int`] back from decimal digits.
const MAX_INT_DIGITS: usize = 4300;

/// Words Python lets follow a number with no space between them (`1if x else 2`, `1or x`).
const KEYWORDS_AFTER_NUMBER: [&str; 8] = ["and", "else", "for", "if", "in", "is", "not", "or"];

/// The number literal starting at `chars[start]` (a digit, or a `.` before a digit), and the index
/// just past it.
pub(super) fn number(chars: &[char], start: usize) -> Result<(Const, usize), String> {
    let radix = match (chars[start], chars.get(start + 1)) {
        ('0', Some('x' | 'X')) => Some((16, "hexadecimal")),
        ('0', Some('o' | 'O')) => Some((8, "octal")),
        ('0', Some('b' | 'B')) => Some((2, "binary")),
        _ => None,
    };
    match radix {
        Some((radix, kind)) => prefixed(chars, start, radix, kind),
        None => decimal(chars, start),
    }
}

/// A literal's text, for messages.
fn text(chars: &[char], start: usize, end: usize) -> String {
    let end = end.min(chars.len());
    chars[start..end].iter().collect()
}

/// True for what may continue a name (Python's test after a number: ASCII letters, digits, `_`, and
/// anything beyond ASCII).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
}

/// Checks what follows a number at `chars[end]`: a letter there makes the literal invalid, unless a
/// word Python allows after a number starts there.
fn end_of_number(chars: &[char], start: usize, end: usize, kind: &str) -> Result<(), String> {
    let Some(&c) = chars.get(end) else { return Ok(()) };
    if !name_char(c) {
        return Ok(());
    }
    let rest = text(chars, end, end + 4);
    if KEYWORDS_AFTER_NUMBER.iter().any(|k| rest.starts_with(k)) {
        return Ok(());
    }
    Err(format!("'{}' is not a valid {kind} literal", text(chars, start, end + 1)))
}

/// Reads digits of `radix` from `chars[i]`, each `_` standing between two digits. Returns the digits,
/// the index past them, and false when a `_` is not followed by a digit (the index is then past it).
fn digits(chars: &[char], mut i: usize, radix: u32) -> (String, usize, bool) {
    let mut out = String::new();
    while let Some(&c) = chars.get(i) {
        if c == '_' && !out.is_empty() {
            if !chars.get(i + 1).is_some_and(|d| d.is_digit(radix)) {
                return (out, i + 1, false);
            }
            i += 1;
        } else if c.is_digit(radix) {
            out.push(c);
            i += 1;
        } else {
            break;
        }
    }
    (out, i, true)
}

/// `0x…`, `0o…`, `0b…`: `_` may follow the prefix and stand between digits.
fn prefixed(chars: &[char], start: usize, radix: u32, kind: &str) -> Result<(Const, usize), String> {
    let mut i = start + 2;
    if chars.get(i) == Some(&'_') {
        i += 1;
    }
    let (found, end, clean) = digits(chars, i, radix);
    let invalid = || format!("'{}' is not a valid {kind} literal", text(chars, start, end + 1));
    if let Some(&d) = chars.get(end).filter(|d| d.is_ascii_digit()) {
        return Err(format!("invalid digit '{d}' in {kind} literal '{}'", text(chars, start, end + 1)));
    }
    if !clean || found.is_empty() {
        return Err(invalid());
    }
    end_of_number(chars, start, end, kind)?;
    Ok((integer(&found, radix, &text(chars, start, end))?, end))
}

/// A decimal integer or a float: `[digits] [. [digits]] [e [+|-] digits]`.
fn decimal(chars: &[char], start: usize) -> Result<(Const, usize), String> {
    let invalid = |end: usize| format!("'{}' is not a valid decimal literal", text(chars, start, end + 1));
    let (whole, mut i, clean) = digits(chars, start, 10);
    if !clean {
        return Err(invalid(i - 1));
    }
    let mut float = false;
    let mut fraction = String::new();
    if chars.get(i) == Some(&'.') {
        float = true;
        let (f, end, clean) = digits(chars, i + 1, 10);
        if !clean {
            return Err(invalid(end - 1));
        }
        (fraction, i) = (f, end);
    }
    let mut exponent = String::new();
    if matches!(chars.get(i), Some('e' | 'E')) {
        let sign = matches!(chars.get(i + 1), Some('+' | '-'));
        let first = i + 1 + usize::from(sign);
        if chars.get(first).is_some_and(char::is_ascii_digit) {
            let (e, end, clean) = digits(chars, first, 10);
            if !clean {
                return Err(invalid(end - 1));
            }
            let sign = if chars[i + 1] == '-' { "-" } else { "" };
            (exponent, i, float) = (format!("{sign}{e}"), end, true);
        } else if sign {
            return Err(invalid(i + 1));
        }
    }
    if matches!(chars.get(i), Some('j' | 'J')) {
        return Err(format!("imaginary numbers ('{}') are not supported", text(chars, start, i + 1)));
    }
    end_of_number(chars, start, i, "decimal")?;
    let literal = text(chars, start, i);
    if !float {
        if whole.len() > 1 && whole.starts_with('0') && whole.bytes().any(|b| b != b'0') {
            return Err(format!(
                "'{literal}': leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal"
            ));
        }
        return Ok((integer(&whole, 10, &literal)?, i));
    }
    let written = format!("{}.{}e{}", or_zero(&whole), or_zero(&fraction), or_zero(&exponent));
    let value: f64 = written.parse().map_err(|_| invalid(i - 1))?;
    let n = serde_json::Number::from_f64(value)
        .ok_or_else(|| format!("the float literal '{literal}' is out of range (Python reads it as inf)"))?;
    Ok((Const::Json(Value::Number(n)), i))
}

/// `part`, or `0` for an empty one.
fn or_zero(part: &str) -> &str {
    if part.is_empty() {
        "0"
    } else {
        part
    }
}

/// The integer written with `digits` in `radix`: a JSON integer up to 64 bits, else [`Const::Int`].
fn integer(digits: &str, radix: u32, literal: &str) -> Result<Const, String> {
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(Const::Json(Value::from(0)));
    }
    if let Ok(n) = i64::from_str_radix(digits, radix) {
        return Ok(Const::Json(Value::from(n)));
    }
    if let Ok(n) = u64::from_str_radix(digits, radix) {
        return Ok(Const::Json(Value::from(n)));
    }
    // a bound before converting: each digit in radix r adds at most log10(r) decimal digits
    let most = (digits.len() as f64 * f64::from(radix).log10()).floor() as usize;
    let too_long = || format!("the integer literal '{literal:.40}...' has more than {MAX_INT_DIGITS} digits");
    if most > MAX_INT_DIGITS + 1 {
        return Err(too_long());
    }
    let decimal = if radix == 10 { digits.to_string() } else { to_decimal(digits, radix) };
    if decimal.len() > MAX_INT_DIGITS {
        return Err(too_long());
    }
    Ok(Const::Int(decimal))
}

/// The decimal digits of a whole number written in `radix` (no leading zeros, at least one digit).
fn to_decimal(digits: &str, radix: u32) -> String {
    const BASE: u64 = 1_000_000_000;
    // little-endian limbs of nine decimal digits each
    let mut limbs: Vec<u64> = Vec::new();
    for c in digits.chars() {
        let mut carry = u64::from(c.to_digit(radix).unwrap_or(0));
        for limb in &mut limbs {
            let v = *limb * u64::from(radix) + carry;
            *limb = v % BASE;
            carry = v / BASE;
        }
        while carry > 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    }
    let mut out = limbs.last().map_or_else(|| "0".to_string(), u64::to_string);
    for limb in limbs.iter().rev().skip(1) {
        out.push_str(&format!("{limb:09}"));
    }
    out
}
