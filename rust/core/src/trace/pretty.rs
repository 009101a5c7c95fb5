//! Writing a trace document as pretty JSON text directly, byte for byte what
//! `serde_json::to_vec_pretty` writes for the same document built as a `Value`, without building
//! one: the values a span log keeps as compact JSON text are re-indented in place.

/// An object being written at some nesting depth (its members one level deeper).
pub(super) struct Obj<'o> {
    out: &'o mut Vec<u8>,
    depth: usize,
    members: usize,
}

impl<'o> Obj<'o> {
    /// Opens an object whose own `{` sits at nesting `depth`.
    pub(super) fn open(out: &'o mut Vec<u8>, depth: usize) -> Self {
        out.push(b'{');
        Obj { out, depth: depth + 1, members: 0 }
    }

    /// Starts member `key`: the caller writes its value to the returned buffer, at
    /// [`Obj::depth`].
    pub(super) fn key(&mut self, key: &str) -> &mut Vec<u8> {
        let out = &mut *self.out;
        out.reserve(key.len() + 2 * self.depth + 6);
        if self.members > 0 {
            out.push(b',');
        }
        newline(out, self.depth);
        // the document's own keys: plain words, nothing to escape
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\": ");
        self.members += 1;
        out
    }

    /// Member `key` with text `value` that needs no escaping (the document's own words).
    pub(super) fn word(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }

    /// The nesting of the members' values.
    pub(super) fn depth(&self) -> usize {
        self.depth
    }

    /// Member `key` with text `value`.
    pub(super) fn str(&mut self, key: &str, value: &str) {
        string(self.key(key), value);
    }

    /// Member `key` with text `value`, or `null`.
    pub(super) fn opt_str(&mut self, key: &str, value: Option<&str>) {
        let out = self.key(key);
        match value {
            Some(v) => string(out, v),
            None => out.extend_from_slice(b"null"),
        }
    }

    /// Member `key` with a number.
    pub(super) fn u64(&mut self, key: &str, value: u64) {
        let _ = serde_json::to_writer(self.key(key), &value);
    }

    /// Member `key` with a number (`null` when not finite), or `null`.
    pub(super) fn f64(&mut self, key: &str, value: Option<f64>) {
        let out = self.key(key);
        match value {
            Some(v) => drop(serde_json::to_writer(out, &v)),
            None => out.extend_from_slice(b"null"),
        }
    }

    /// Closes the object.
    pub(super) fn close(self) {
        if self.members > 0 {
            newline(self.out, self.depth - 1);
        }
        self.out.push(b'}');
    }
}

/// `s` as a JSON string (escaped as `serde_json` escapes it).
pub(super) fn string(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(out, s);
    }
}

/// True when `bytes` hold a control character, `"` or `\\` (eight bytes at a time).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if below_space || has_zero(x ^ (ONES * u64::from(b'"'))) || has_zero(x ^ (ONES * u64::from(b'\\'))) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// A new line indented to nesting `depth`.
fn newline(out: &mut Vec<u8>, depth: usize) {
    const LINE: &[u8] = b"\n                                                                ";
    let n = 1 + 2 * depth;
    if n <= LINE.len() {
        out.extend_from_slice(&LINE[..n]);
    } else {
        out.push(b'\n');
        indent(out, depth);
    }
}

fn indent(out: &mut Vec<u8>, depth: usize) {
    for _ in 0..depth {
        out.extend_from_slice(b"  ");
    }
}

/// Writes the compact JSON object `text` (as a span log keeps it: no whitespace outside strings,
/// no key twice) at nesting `depth`, its members whose key starts with `$` left out; `{}` when
/// it is not an object.
pub(super) fn object(out: &mut Vec<u8>, text: &[u8], depth: usize) {
    if text.len() < 2 || text[0] != b'{' {
        out.extend_from_slice(b"{}");
        return;
    }
    let mut members = 0;
    let mut from = 1;
    while from < text.len() - 1 {
        let to = member_end(text, from);
        let member = &text[from..to];
        if !member.starts_with(b"\"$") {
            out.push(if members == 0 { b'{' } else { b',' });
            newline(out, depth + 1);
            reindent(out, member, depth + 1);
            members += 1;
        }
        from = to + 1;
    }
    if members == 0 {
        out.extend_from_slice(b"{}");
    } else {
        newline(out, depth);
        out.push(b'}');
    }
}

/// Where the member of an object's text starting at `from` ends: at the `,` after it, or the
/// object's closing `}`.
fn member_end(text: &[u8], from: usize) -> usize {
    let (mut nesting, mut i) = (0usize, from);
    while i < text.len() {
        match text[i] {
            b'"' => i = string_end(text, i),
            b'{' | b'[' => nesting += 1,
            b'}' | b']' if nesting == 0 => return i,
            b'}' | b']' => nesting -= 1,
            b',' if nesting == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// The index of the closing quote of the string opening at `at`.
fn string_end(text: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    text.len()
}

/// Writes compact JSON text (a value, or an object's `"key":value` member) as the pretty printer
/// does at nesting `depth`.
pub(super) fn reindent(out: &mut Vec<u8>, text: &[u8], depth: usize) {
    let mut depth = depth;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        match c {
            b'"' => {
                let end = string_end(text, i).min(text.len() - 1);
                out.extend_from_slice(&text[i..=end]);
                i = end;
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                out.push(c);
                if text.get(i + 1) == Some(&close) {
                    out.push(close);
                    i += 1;
                } else {
                    depth += 1;
                    newline(out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(c);
            }
            b',' => {
                out.push(b',');
                newline(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(c),
        }
        i += 1;
    }
}

/// Writes `value` as the pretty printer does at nesting `depth`.
pub(super) fn value(out: &mut Vec<u8>, value: &serde_json::Value, depth: usize) {
    let compact = serde_json::to_vec(value).unwrap_or_default();
    reindent(out, &compact, depth);
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    fn pretty_at(v: &Value, depth: usize) -> Vec<u8> {
        let mut out = Vec::new();
        super::value(&mut out, v, depth);
        out
    }

    #[test]
    fn reindenting_compact_text_is_what_the_pretty_printer_writes() {
        let v = json!({"a": [1, 2.5, {"b": "x,y:{}[]\"\\"}], "c": {}, "d": [], "e": null, "f": {"g": [[]]}});
        assert_eq!(pretty_at(&v, 0), serde_json::to_vec_pretty(&v).unwrap());
        let nested = json!({"k": {"l": v.clone()}});
        let pretty = String::from_utf8(serde_json::to_vec_pretty(&nested).unwrap()).unwrap();
        let mut ours = b"{\n  \"k\": {\n    \"l\": ".to_vec();
        ours.extend(pretty_at(&v, 2));
        ours.extend(b"\n  }\n}");
        assert_eq!(String::from_utf8(ours).unwrap(), pretty);
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in ["", "plain text of some length", "a\"b", "0123456\\", "tab\there", "\u{1f}x", "é ü 漢字", "x\u{7f}"] {
            let mut out = Vec::new();
            super::string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn an_object_leaves_out_dollar_keys() {
        let mut out = Vec::new();
        super::object(&mut out, br#"{"$tags":["t"],"a":{"$b":1},"c":"$d"}"#, 0);
        let expected = serde_json::to_vec_pretty(&json!({"a": {"$b": 1}, "c": "$d"})).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(expected).unwrap());
        let mut out = Vec::new();
        super::object(&mut out, br#"{"$tags":[]}"#, 3);
        assert_eq!(out, b"{}");
        let mut out = Vec::new();
        super::object(&mut out, b"[1]", 3);
        assert_eq!(out, b"{}");
    }
}
