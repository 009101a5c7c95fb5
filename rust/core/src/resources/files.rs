//! Reading `resources.yaml` (serde_norway) and `.env` (dotenvy) into what the hub holds.
//!
//! `resources.yaml` maps names to settings, in either of the published forms (both give
//! `category:name` keys):
//!
//! ```yaml
//! llm:                 # nested: a category whose values are all mappings
//!   gpt:
//!     api_key: ${OPENAI_API_KEY}
//! llm:claude:          # flat
//!   model: claude-sonnet
//! search:              # a name of its own (its values are not all mappings)
//!   url: https://example.org
//! ```

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{OperonError, Result};

fn file_error(file: &Path, line: Option<usize>, message: impl Into<String>) -> OperonError {
    OperonError::ResourceFile { file: file.to_path_buf(), line, message: message.into() }
}

fn read_text(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).map_err(|e| file_error(file, None, format!("cannot be read: {e}")))
}

/// The named resources of a `resources.yaml`, in file order (nested categories flattened to
/// `category:name`). An empty file (or one of comments only) has none.
pub(super) fn read_yaml(file: &Path) -> Result<Vec<(String, Map<String, Value>)>> {
    let text = read_text(file)?;
    let root: Value = serde_norway::from_str(&text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        file_error(file, line, format!("is not valid YAML: {e}"))
    })?;
    let top = match root {
        Value::Null => return Ok(Vec::new()),
        Value::Object(top) => top,
        other => {
            return Err(file_error(
                file,
                None,
                format!("must map resource names to their settings, not be {}", kind(&other)),
            ))
        }
    };
    let mut out: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut add = |name: String, value: Value| -> Result<()> {
        let Value::Object(settings) = value else {
            return Err(file_error(
                file,
                line_of(&text, &name),
                format!("resource '{name}' must be a mapping of settings, not {}", kind(&value)),
            ));
        };
        if out.iter().any(|(n, _)| *n == name) {
            return Err(file_error(file, line_of(&text, &name), format!("resource '{name}' is defined twice")));
        }
        out.push((name, settings));
        Ok(())
    };
    for (key, value) in top {
        match value {
            Value::Object(inner) if is_category(&key, &inner) => {
                for (name, settings) in inner {
                    add(format!("{key}:{name}"), settings)?;
                }
            }
            value => add(key, value)?,
        }
    }
    Ok(out)
}

/// A top-level key that groups resources: no `:` in it, and a non-empty mapping of mappings.
fn is_category(key: &str, inner: &Map<String, Value>) -> bool {
    !key.contains(':') && !inner.is_empty() && inner.values().all(Value::is_object)
}

/// The first line that starts (after indentation) with the last segment of `name` and a colon.
fn line_of(text: &str, name: &str) -> Option<usize> {
    let last = name.rsplit(':').next().unwrap_or(name);
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches(['"', '\'']);
            l.starts_with(name) || l.starts_with(last)
        })
        .map(|i| i + 1)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The variables of a `.env` file, in file order (dotenvy's syntax: `KEY=value`, quotes,
/// comments, `export`, and `${VAR}` expanded from the environment and earlier lines).
pub(super) fn read_env_file(file: &Path) -> Result<Vec<(String, String)>> {
    let text = read_text(file)?;
    let mut out = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok(pair) => out.push(pair),
            Err(dotenvy::Error::LineParse(line, at)) => {
                let number = text.lines().position(|l| l.contains(line.trim())).map(|i| i + 1);
                return Err(file_error(
                    file,
                    number,
                    format!("is not a valid .env file: cannot parse {line:?} (at character {at})"),
                ));
            }
            Err(e) => return Err(file_error(file, None, format!("is not a valid .env file: {e}"))),
        }
    }
    Ok(out)
}
