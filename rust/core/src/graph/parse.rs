//! Parsing a document's text: the schema version first, then its shape, each refusal naming where
//! in the document it is (`ops.a.inputs.x.ref: missing field `var``).

use serde::Deserialize;
use serde_json::Value;

use super::schema::{GraphDoc, SCHEMA_VERSION};
use crate::error::{OperonError, Result};

/// How many levels of arrays and objects a document may nest. Nested graphs take two or three levels
/// each, so this leaves room for graphs nested thousands deep; a deeper document is refused before it
/// is read.
#[doc = include_str!("../../doc/graph/parse/MAX_DOCUMENT_DEPTH.md")]
pub const MAX_DOCUMENT_DEPTH: usize = 20_000;

/// Stack each level of the parse may use before the parse moves to a new stack segment.
const RED_ZONE: usize = 1024 * 1024;
/// The size of each new stack segment of the parse.
const STACK_SEGMENT: usize = 8 * 1024 * 1024;

/// Parses a document. A wrong or missing `schema_version` is reported before any other problem.
#[doc = include_str!("../../doc/graph/parse/parse.md")]
pub fn parse(text: &str) -> Result<GraphDoc> {
    #[derive(Deserialize)]
    struct VersionOnly {
        schema_version: Option<Value>,
    }
    let depth_problem = too_deep(text);
    let parsed = match &depth_problem {
        Some(e) => Err(e.clone()),
        None => parse_deep::<GraphDoc>(text),
    };
    let version = match &parsed {
        Ok(doc) => doc.schema_version.clone(),
        // A document too deep is not read any further; else look for the version alone.
        Err(_) if depth_problem.is_some() => None,
        Err(_) => serde_json::from_str::<VersionOnly>(text).ok().and_then(|v| v.schema_version),
    };
    match version {
        Some(Value::String(v)) if v == SCHEMA_VERSION => {}
        Some(other) => return Err(OperonError::SchemaVersion { found: short(&other.to_string()) }),
        None if parsed.is_ok() || (depth_problem.is_none() && is_object(text)) => {
            return Err(OperonError::SchemaVersion { found: "<missing>".into() })
        }
        None => {}
    }
    parsed.map_err(OperonError::Malformed)
}

/// Whether the text is one JSON object (read without building it, so at any depth).
fn is_object(text: &str) -> bool {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    serde::de::IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok() && text.trim_start().starts_with('{')
}

/// The refusal of a text nesting more than [`MAX_DOCUMENT_DEPTH`] levels (counted in one pass over
/// its bytes, strings skipped).
fn too_deep(text: &str) -> Option<String> {
    // A text with no more opening brackets than the limit cannot nest deeper: counting them is one
    // vectorized pass, so the usual document skips the exact scan below.
    let opens: usize = text
        .as_bytes()
        .chunks(255)
        .map(|c| usize::from(c.iter().map(|&b| u8::from(b == b'[' || b == b'{')).sum::<u8>()))
        .sum();
    if opens <= MAX_DOCUMENT_DEPTH {
        return None;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DOCUMENT_DEPTH {
                    return Some(format!(
                        "the document nests more than {MAX_DOCUMENT_DEPTH} levels of arrays and objects; \
                         this engine reads documents up to that depth"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Deserializes without serde_json's limit of 128 nested levels: each nested graph adds a few, and
/// graphs nest deeply. The parse recurses once per level, so it grows its stack as it goes instead of
/// overflowing it. A failure names the path of the key where it happened: the text is read again,
/// tracking the path, only when the first reading fails (tracking it costs every valid document).
fn parse_deep<T: serde::de::DeserializeOwned>(text: &str) -> std::result::Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let first = T::deserialize(stacked(&mut de)).and_then(|v| de.end().map(|()| v));
    let Err(plain) = first else {
        return first.map_err(|e| e.to_string());
    };
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    match serde_path_to_error::deserialize::<_, T>(stacked(&mut de)) {
        Err(e) if e.path().to_string() != "." => {
            let path = short(&e.path().to_string());
            Err(format!("at {path}: {}", e.into_inner()))
        }
        _ => Err(plain.to_string()),
    }
}

/// A deserializer that grows its stack as it goes deeper. The red zone is what any one level may use
/// before the stack grows: ample, so that dropping what a level holds (values nest at most
/// `MAX_VALUE_DEPTH` deep) never runs out of stack either.
fn stacked<'a, 'de>(
    de: &'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
) -> serde_stacker::Deserializer<&'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>> {
    serde_stacker::Deserializer { de, red_zone: RED_ZONE, stack_size: STACK_SEGMENT }
}

/// Text cut to a readable length (a path or a value can be as long as the document).
fn short(text: &str) -> String {
    const KEEP: usize = 120;
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 2 * KEEP {
        return text.to_string();
    }
    let head: String = chars[..KEEP].iter().collect();
    let tail: String = chars[chars.len() - KEEP..].iter().collect();
    format!("{head}…{tail}")
}

/// Reads a document that is already a JSON value.
#[doc = include_str!("../../doc/graph/parse/from_value.md")]
pub fn from_value(value: Value) -> Result<GraphDoc> {
    parse(&value.to_string())
}
