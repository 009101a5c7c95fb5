//! String literals of an `until` text, read as Python reads them: `'…'`, `"…"`, triple-quoted,
//! raw (`r'…'`), with Python's escapes. Bytes, f-strings and `\N{…}` are refused by name, and so is a
//! lone surrogate (`'\ud800'`), which Python holds but JSON text cannot.

/// The prefix `word` of a string literal, when `word` is one: `Ok(Some(raw))` for `r`, `u` (any
/// case), `Ok(None)` for a word that is no prefix, an error naming bytes and f-strings.
pub(super) fn prefix(word: &str) -> Result<Option<bool>, String> {
    match word.to_ascii_lowercase().as_str() {
        "r" => Ok(Some(true)),
        "u" => Ok(Some(false)),
        "b" | "br" | "rb" => Err(format!("bytes literals ({word}'...') are not supported")),
        "f" | "fr" | "rf" => Err(format!("f-strings ({word}'...') are not supported")),
        _ => Ok(None),
    }
}

/// The string literal whose opening quote is `chars[open]` (raw when `raw`: backslashes stay as
/// written), and the index just past its closing quote(s).
pub(super) fn string(chars: &[char], open: usize, raw: bool) -> Result<(String, usize), String> {
    let quote = chars[open];
    let triple = chars.get(open + 1) == Some(&quote) && chars.get(open + 2) == Some(&quote);
    let mut i = open + if triple { 3 } else { 1 };
    let mut s = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("a string is not closed".into());
        };
        if c == quote && (!triple || (chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote))) {
            return Ok((s, i + if triple { 3 } else { 1 }));
        }
        if c == '\n' && !triple {
            return Err("a string is not closed before the end of its line".into());
        }
        if c != '\\' {
            s.push(c);
            i += 1;
            continue;
        }
        let Some(&next) = chars.get(i + 1) else {
            return Err("a string is not closed".into());
        };
        if raw {
            // a raw string keeps the backslash and what follows it, even a quote
            s.push('\\');
            s.push(next);
            i += 2;
        } else {
            i = escape(chars, i + 1, &mut s)?;
        }
    }
}

/// Reads the escape whose first character (after the backslash) is `chars[i]` into `s`; returns the
/// index past it.
fn escape(chars: &[char], i: usize, s: &mut String) -> Result<usize, String> {
    let simple = match chars[i] {
        '\n' => None, // a backslash at the end of a line joins the next one
        '\\' => Some('\\'),
        '\'' => Some('\''),
        '"' => Some('"'),
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'v' => Some('\u{b}'),
        '0'..='7' => return octal(chars, i, s),
        'x' => return hex(chars, i, 2, s),
        'u' => return hex(chars, i, 4, s),
        'U' => return hex(chars, i, 8, s),
        'N' => return Err("\\N{...} escapes are not supported; write the character or a \\u escape".into()),
        other => {
            // an unknown escape keeps its backslash, as in Python
            s.push('\\');
            Some(other)
        }
    };
    s.extend(simple);
    Ok(i + 1)
}

/// `\o`, `\oo`, `\ooo`: up to three octal digits.
fn octal(chars: &[char], i: usize, s: &mut String) -> Result<usize, String> {
    let mut value = 0;
    let mut end = i;
    while end < i + 3 {
        match chars.get(end).and_then(|c| c.to_digit(8)) {
            Some(d) => value = value * 8 + d,
            None => break,
        }
        end += 1;
    }
    // at most 0o777, always a character
    s.push(char::from_u32(value).ok_or("an octal escape is out of range")?);
    Ok(end)
}

/// `\xhh`, `\uhhhh`, `\Uhhhhhhhh`: exactly `len` hex digits after the letter at `chars[i]`.
fn hex(chars: &[char], i: usize, len: usize, s: &mut String) -> Result<usize, String> {
    let letter = chars[i];
    let digits: String = chars.iter().skip(i + 1).take(len).take_while(|c| c.is_ascii_hexdigit()).collect();
    if digits.len() < len {
        let xs = "h".repeat(len);
        return Err(format!("a truncated \\{letter}{xs} escape: \\{letter}{digits}"));
    }
    let value = u32::from_str_radix(&digits, 16).map_err(|e| e.to_string())?;
    match char::from_u32(value) {
        Some(c) => s.push(c),
        None if (0xD800..=0xDFFF).contains(&value) => {
            return Err(format!("the escape \\{letter}{digits} is a lone surrogate, which a string here cannot hold"))
        }
        None => return Err(format!("the escape \\{letter}{digits} is beyond the last Unicode character")),
    }
    Ok(i + 1 + len)
}
