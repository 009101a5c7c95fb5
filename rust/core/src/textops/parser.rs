//! The parser op (document type `"parser"`): JSON, XML or YAML text (an LLM's answer, typically) into
//! the fields its `extract` list names by dot path, each converted to its type, checked by validators
//! with fallbacks. A failure is a value, never an error: the outputs are then only `error`, the
//! message (`Parse error (json): ...`, `Validation failed: ...`); on success `error` is null.

use serde_json::{Map, Value};

use super::text::{py_repr, py_str};

/// The text formats the parser reads.
#[doc = include_str!("../../doc/textops/parser/Format.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (serde_json).
    Json,
    /// XML (quick-xml): a single root becomes `{root: {...}}`, several top-level elements merge
    /// into one object, leaves are the element's text, repeated elements a list.
    Xml,
    /// YAML (serde_norway).
    Yaml,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Xml => "xml",
            Format::Yaml => "yaml",
        }
    }
}

/// The type a field is converted to.
#[doc = include_str!("../../doc/textops/parser/FieldType.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Kept as it is.
    Any,
    /// A whole number, when the value converts.
    Int,
    /// A number, when the value converts.
    Float,
    /// true/1/yes and false/0/no/"" (any case).
    Bool,
    /// The value's text, stripped.
    Str,
}

/// One field of `extract` (`"a.b: int"`): its output key (the path's last segment), path and type.
#[doc = include_str!("../../doc/textops/parser/Field.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The output key.
    pub key: String,
    /// The dot path.
    pub path: Vec<String>,
    /// The conversion.
    pub kind: FieldType,
}

/// A compiled parser op.
#[doc = include_str!("../../doc/textops/parser/ParserSpec.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct ParserSpec {
    /// The text format.
    pub format: Format,
    /// The fields, in order.
    pub fields: Vec<Field>,
}

impl ParserSpec {
    /// Reads `format` and the `extract` entries (`"path"` or `"path: type"`).
    #[doc = include_str!("../../doc/textops/parser/ParserSpec.new.md")]
    pub fn new(format: &str, extract: &[String]) -> Result<ParserSpec, String> {
        let format = match format {
            "json" => Format::Json,
            "xml" => Format::Xml,
            "yaml" => Format::Yaml,
            other => return Err(format!("format '{other}' is not one of json, xml, yaml")),
        };
        if extract.is_empty() {
            return Err("extract lists no field (give e.g. [\"answer.text: str\"])".into());
        }
        let fields = extract.iter().map(|e| field(e)).collect::<Result<Vec<_>, _>>()?;
        Ok(ParserSpec { format, fields })
    }

    /// The output keys, in order (then `error`).
    #[doc = include_str!("../../doc/textops/parser/ParserSpec.keys.md")]
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.key.as_str())
    }

    /// Parses `text` and extracts the fields: `{field: value, ..., "error": null}`, or
    /// `{"error": message}` when the text does not parse or a validator refuses a value.
    /// `validators` is `{field: [allowed, ..., "@fallback"]}` or null.
    #[doc = include_str!("../../doc/textops/parser/ParserSpec.run.md")]
    pub fn run(&self, text: &Value, validators: &Value) -> Map<String, Value> {
        match self.extract(text, validators) {
            Ok(mut out) => {
                out.insert("error".into(), Value::Null);
                out
            }
            Err(message) => Map::from_iter([("error".to_string(), Value::String(message))]),
        }
    }

    fn extract(&self, text: &Value, validators: &Value) -> Result<Map<String, Value>, String> {
        if !matches!(validators, Value::Null | Value::Object(_)) {
            return Err(format!("validators must be a dict, got {}", py_repr(validators)));
        }
        let text = match text {
            Value::String(s) if !s.trim().is_empty() => s,
            Value::String(_) | Value::Null => return Err("Empty input text".into()),
            other => {
                return Err(format!(
                    "Parse error ({}): the text is not a string: {}",
                    self.format.name(),
                    py_repr(other)
                ))
            }
        };
        let body = strip_fence(text);
        let data = match self.format {
            Format::Json => serde_json::from_str(body).map_err(|e| e.to_string()),
            Format::Yaml => serde_norway::from_str::<Value>(body).map_err(|e| e.to_string()),
            Format::Xml => super::xml::to_json(body),
        }
        .map_err(|e| format!("Parse error ({}): {e}", self.format.name()))?;
        let mut out = Map::new();
        for f in &self.fields {
            let raw = f.path.iter().try_fold(&data, |v, k| v.as_object().and_then(|o| o.get(k)));
            out.insert(f.key.clone(), convert(raw.cloned().unwrap_or(Value::Null), f.kind));
        }
        if let Value::Object(checks) = validators {
            for (name, allowed) in checks {
                validate(&mut out, name, allowed)?;
            }
        }
        Ok(out)
    }
}

/// `"a.b: int"` as a field.
fn field(entry: &str) -> Result<Field, String> {
    let (path, kind) = match entry.split_once(':') {
        Some((p, t)) => (p.trim(), t.trim()),
        None => (entry.trim(), "any"),
    };
    let kind = match kind.to_ascii_lowercase().as_str() {
        "int" => FieldType::Int,
        "float" | "number" => FieldType::Float,
        "bool" | "boolean" => FieldType::Bool,
        "str" | "string" => FieldType::Str,
        _ => FieldType::Any, // dict, list, any...: kept as they are
    };
    let path: Vec<String> = path.split('.').map(str::to_string).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!("extract entry {entry:?} has an empty path segment"));
    }
    let key = path.last().cloned().unwrap_or_default();
    Ok(Field { key, path, kind })
}

/// The text inside a code fence on the first and last line (```` ```json ... ``` ````), else the
/// text, trimmed.
fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    if !t.starts_with("```") {
        return t;
    }
    let body = t.split_once('\n').map_or("", |(_, rest)| rest);
    match body.rsplit_once('\n') {
        Some((inner, last)) if last.trim_start().starts_with("```") => inner,
        _ if body.trim_start().starts_with("```") => "",
        _ => body,
    }
}

/// `value` converted to `kind` when it converts; else as it is.
fn convert(value: Value, kind: FieldType) -> Value {
    match (kind, &value) {
        (FieldType::Bool, Value::Null | Value::Bool(_)) => value,
        (FieldType::Bool, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" | "" => Value::Bool(false),
            _ => Value::Bool(true), // a non-empty string is true
        },
        (FieldType::Bool, Value::Number(n)) => Value::Bool(n.as_f64() != Some(0.0)),
        (FieldType::Bool, Value::Array(a)) => Value::Bool(!a.is_empty()),
        (FieldType::Bool, Value::Object(o)) => Value::Bool(!o.is_empty()),
        (_, Value::Null) | (FieldType::Any, _) => value,
        (FieldType::Int, Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(_), _) => value,
            (None, Some(f)) if f.is_finite() && f.abs() < 9.2e18 => Value::from(f.trunc() as i64),
            _ => value,
        },
        (FieldType::Int, Value::String(s)) => s.trim().parse::<i64>().map(Value::from).unwrap_or(value),
        (FieldType::Int, Value::Bool(b)) => Value::from(i64::from(*b)),
        (FieldType::Float, Value::Number(n)) => n.as_f64().map(Value::from).unwrap_or(value),
        (FieldType::Float, Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Value::from(f),
            _ => value,
        },
        (FieldType::Float, Value::Bool(b)) => Value::from(if *b { 1.0 } else { 0.0 }),
        (FieldType::Str, _) => Value::String(py_str(&value).trim().to_string()),
        _ => value,
    }
}

/// Checks field `name` against `allowed` (`"@x"`: allowed, and the fallback for a value that is
/// not): the fallback replaces a refused value; with none, validation fails.
fn validate(out: &mut Map<String, Value>, name: &str, allowed: &Value) -> Result<(), String> {
    let Value::Array(allowed) = allowed else {
        return Err(format!(
            "Validation failed: the allowed values of '{name}' must be a list, got {}",
            py_repr(allowed)
        ));
    };
    let clean: Vec<Value> = allowed
        .iter()
        .map(|v| match v {
            Value::String(s) => Value::String(s.strip_prefix('@').unwrap_or(s).to_string()),
            other => other.clone(),
        })
        .collect();
    let fallback = allowed.iter().find_map(|v| v.as_str().and_then(|s| s.strip_prefix('@')));
    let value = out.get(name).cloned().unwrap_or(Value::Null);
    if !value.is_null() && clean.contains(&value) {
        return Ok(());
    }
    match fallback {
        Some(f) => {
            out.insert(name.to_string(), Value::String(f.to_string()));
            Ok(())
        }
        None => Err(format!(
            "Validation failed: '{name}' value '{}' not in {}",
            py_str(&value),
            py_repr(&Value::Array(clean))
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::ParserSpec;

    fn run(format: &str, extract: &[&str], text: &str, validators: Value) -> Value {
        let extract: Vec<String> = extract.iter().map(|s| s.to_string()).collect();
        Value::Object(ParserSpec::new(format, &extract).unwrap().run(&json!(text), &validators))
    }

    #[test]
    fn fields_are_extracted_typed_and_validated() {
        let text = "```json\n{\"a\": {\"b\": \"7\"}, \"c\": \"yes\", \"d\": \" x \"}\n```";
        assert_eq!(
            run("json", &["a.b: int", "c: bool", "d: str", "missing"], text, Value::Null),
            json!({"b": 7, "c": true, "d": "x", "missing": null, "error": null})
        );
        assert_eq!(
            run("yaml", &["n: bool", "f: float"], "n: no\nf: '2'", Value::Null),
            json!({"n": false, "f": 2.0, "error": null})
        );
        assert_eq!(run("xml", &["r.a: int"], "<r><a>5</a></r>", Value::Null), json!({"a": 5, "error": null}));
        assert_eq!(run("json", &["d"], "{\"d\": \"x\"}", json!({"d": ["y", "@z"]})), json!({"d": "z", "error": null}));
        assert_eq!(
            run("json", &["d"], "{\"d\": \"x\"}", json!({"d": ["y", "w"]})),
            json!({"error": "Validation failed: 'd' value 'x' not in ['y', 'w']"})
        );
        let bad = run("json", &["d"], "{bad", Value::Null);
        assert!(bad["error"].as_str().unwrap().starts_with("Parse error (json): "), "{bad}");
        assert_eq!(run("json", &["d"], "  ", Value::Null), json!({"error": "Empty input text"}));
        assert!(ParserSpec::new("csv", &["a".into()]).is_err());
        assert!(ParserSpec::new("json", &[]).is_err());
        assert!(ParserSpec::new("json", &["a..b".into()]).is_err());
    }
}
