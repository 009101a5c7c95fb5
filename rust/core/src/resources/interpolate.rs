//! `${VAR}` in the string values of `resources.yaml`.
//!
//! - `${VAR}`: the variable's value; a variable set nowhere is reported (the text is kept as
//!   written, and the resource fails when it is used).
//! - `${VAR:-default}`: `default` when the variable is unset or empty (the shell's rule).
//! - `${VAR:default}`: `default` when the variable is unset (the published 0.7.1 form).
//! - `$${`: a literal `${`.
//!
//! A `${...}` whose name is not a variable name (`[A-Za-z_][A-Za-z0-9_]*`), or with no closing
//! brace, is text. Only string values are interpolated, never keys.

use serde_json::{Map, Value};

/// Where a variable's value comes from: the process environment, then the `.env` file.
pub(super) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A `${VAR}` (no default) whose variable is set nowhere: the variable and the key path that
/// reads it (`llm:gpt.api_key`, `llm:gpt.headers[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Missing {
    pub var: String,
    pub path: String,
}

/// `value` with every `${...}` of its strings replaced; variables set nowhere go to `missing`.
pub(super) fn interpolate(value: &Value, path: &str, env: Lookup<'_>, missing: &mut Vec<Missing>) -> Value {
    match value {
        Value::String(s) => Value::String(substitute(s, path, env, missing)),
        Value::Object(map) => Value::Object(interpolate_map(map, path, env, missing)),
        Value::Array(items) => Value::Array(
            items.iter().enumerate().map(|(i, v)| interpolate(v, &format!("{path}[{i}]"), env, missing)).collect(),
        ),
        other => other.clone(),
    }
}

/// A mapping with every `${...}` of its strings replaced (see [`interpolate`]).
pub(super) fn interpolate_map(
    map: &Map<String, Value>,
    path: &str,
    env: Lookup<'_>,
    missing: &mut Vec<Missing>,
) -> Map<String, Value> {
    map.iter().map(|(k, v)| (k.clone(), interpolate(v, &format!("{path}.{k}"), env, missing))).collect()
}

/// True for a variable name: a letter or `_`, then letters, digits and `_`.
fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One string with its `${...}` replaced.
pub(super) fn substitute(s: &str, path: &str, env: Lookup<'_>, missing: &mut Vec<Missing>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            continue;
        }
        let Some(body) = tail.strip_prefix("${") else {
            out.push('$');
            rest = &tail[1..];
            continue;
        };
        let Some(close) = body.find('}') else {
            out.push_str(tail);
            return out;
        };
        let inner = &body[..close];
        let (name, default) = match inner.split_once(':') {
            Some((name, d)) => match d.strip_prefix('-') {
                Some(d) => (name, Some((d, true))),
                None => (name, Some((d, false))),
            },
            None => (inner, None),
        };
        if !is_var_name(name) {
            out.push_str(&tail[..close + 3]);
        } else {
            match (env(name), default) {
                (Some(v), Some((d, true))) if v.is_empty() => out.push_str(d),
                (Some(v), _) => out.push_str(&v),
                (None, Some((d, _))) => out.push_str(d),
                (None, None) => {
                    missing.push(Missing { var: name.to_string(), path: path.to_string() });
                    out.push_str(&tail[..close + 3]);
                }
            }
        }
        rest = &body[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{interpolate, substitute, Missing};
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("example.org".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn sub(s: &str) -> (String, Vec<Missing>) {
        let mut missing = Vec::new();
        (substitute(s, "k", &env, &mut missing), missing)
    }

    #[test]
    fn variables_are_replaced_and_defaults_apply() {
        assert_eq!(sub("https://${HOST}/v1").0, "https://example.org/v1");
        assert_eq!(sub("${NOPE:-fallback}").0, "fallback");
        assert_eq!(sub("${NOPE:fallback}").0, "fallback");
        assert_eq!(sub("${NOPE:-}").0, "");
        // `:-` also replaces an empty value (the shell's rule); `:` only an unset one (0.7.1's)
        assert_eq!(sub("${EMPTY:-x}").0, "x");
        assert_eq!(sub("${EMPTY:x}").0, "");
        assert_eq!(sub("${HOST:-x}").0, "example.org");
        // a default may hold a colon (a URL)
        assert_eq!(sub("${NOPE:-http://h:1}").0, "http://h:1");
    }

    #[test]
    fn unset_variables_are_reported_with_their_key_and_kept_as_written() {
        let (text, missing) = sub("Bearer ${TOKEN} ${HOST} ${OTHER}");
        assert_eq!(text, "Bearer ${TOKEN} example.org ${OTHER}");
        assert_eq!(
            missing,
            vec![
                Missing { var: "TOKEN".into(), path: "k".into() },
                Missing { var: "OTHER".into(), path: "k".into() }
            ]
        );
    }

    #[test]
    fn text_that_is_not_a_variable_stays_text() {
        for s in ["$5 and $$", "${}", "${1X}", "${A B}", "${unclosed", "no dollar", "é${HOST}ü"] {
            let (text, missing) = sub(s);
            assert!(missing.is_empty(), "{s}");
            assert_eq!(text, s.replace("${HOST}", "example.org"), "{s}");
        }
        assert_eq!(sub("$${HOST}").0, "${HOST}");
    }

    #[test]
    fn nested_values_are_walked_with_their_key_paths() {
        let value = json!({"api_key": "${KEY}", "n": 3, "headers": ["x", "${H}"], "sub": {"url": "${HOST}"}});
        let mut missing = Vec::new();
        let out = interpolate(&value, "llm:gpt", &env, &mut missing);
        assert_eq!(out["sub"]["url"], json!("example.org"));
        assert_eq!(out["n"], json!(3));
        let paths: Vec<_> = missing.iter().map(|m| (m.var.as_str(), m.path.as_str())).collect();
        assert_eq!(paths, vec![("KEY", "llm:gpt.api_key"), ("H", "llm:gpt.headers[1]")]);
    }
}
