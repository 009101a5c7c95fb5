//! The prompt op (document type `"prompt"`): a template of chat messages, `{"system": "...",
//! "user": "Hello {name}!"}`, rendered with the op's inputs into its output `messages`, a list of
//! `{"role": ..., "content": ...}` in the template's order. `{name}` is replaced by input `name` (a
//! string as it is, any other value as Python's `str()` writes it); `{{` and `}}` are literal braces.

use serde_json::{Map, Value};

use super::text::py_str;

/// One piece of a message template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Var(String),
}

/// A compiled prompt op.
#[doc = include_str!("../../doc/textops/prompt/PromptSpec.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSpec {
    messages: Vec<(String, Vec<Piece>)>,
}

impl PromptSpec {
    /// Reads a template: an object of role → text, or a text (one user message).
    #[doc = include_str!("../../doc/textops/prompt/PromptSpec.new.md")]
    pub fn new(template: &Value) -> Result<PromptSpec, String> {
        if let Value::String(text) = template {
            return PromptSpec::new(&serde_json::json!({ "user": text }));
        }
        let Value::Object(roles) = template else {
            return Err(format!("the template must be an object of role -> text, got {template}"));
        };
        if roles.is_empty() {
            return Err("the template has no message".into());
        }
        let mut messages = Vec::with_capacity(roles.len());
        for (role, text) in roles {
            let Value::String(text) = text else {
                return Err(format!("the template's {role:?} message must be a string, got {text}"));
            };
            messages.push((role.clone(), pieces(text).map_err(|e| format!("the {role:?} message: {e}"))?));
        }
        Ok(PromptSpec { messages })
    }

    /// The variables the template reads, each once, in order.
    #[doc = include_str!("../../doc/textops/prompt/PromptSpec.variables.md")]
    pub fn variables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (_, pieces) in &self.messages {
            for p in pieces {
                if let Piece::Var(v) = p {
                    if !out.contains(&v.as_str()) {
                        out.push(v);
                    }
                }
            }
        }
        out
    }

    /// The messages rendered with `vars` (input name → value); the name of a variable with no value
    /// (absent or null) otherwise.
    #[doc = include_str!("../../doc/textops/prompt/PromptSpec.render.md")]
    pub fn render(&self, vars: &Map<String, Value>) -> Result<Value, String> {
        let mut out = Vec::with_capacity(self.messages.len());
        for (role, pieces) in &self.messages {
            let mut content = String::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => content.push_str(t),
                    Piece::Var(v) => match vars.get(v) {
                        Some(value) if !value.is_null() => content.push_str(&py_str(value)),
                        _ => return Err(v.clone()),
                    },
                }
            }
            out.push(serde_json::json!({"role": role, "content": content}));
        }
        Ok(Value::Array(out))
    }
}

/// A template's pieces: text, `{name}` variables, `{{` / `}}` braces.
fn pieces(text: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                buf.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                buf.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(format!("'{{{name}' is not closed (write {{{{ for a brace)")),
                    }
                }
                let name = name.trim().to_string();
                if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(format!("'{{{name}}}' is not a variable name (write {{{{ and }}}} for braces)"));
                }
                if !buf.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut buf)));
                }
                out.push(Piece::Var(name));
            }
            '}' => return Err("a '}' closes nothing (write }} for a brace)".into()),
            c => buf.push(c),
        }
    }
    if !buf.is_empty() {
        out.push(Piece::Text(buf));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::PromptSpec;

    #[test]
    fn messages_render_in_the_templates_order() {
        let p = PromptSpec::new(&json!({"system": "Be brief {{ok}}.", "user": "Hello {name}! {n} {name}"})).unwrap();
        assert_eq!(p.variables(), ["name", "n"]);
        let vars = json!({"name": "Ada", "n": [1, true]});
        assert_eq!(
            p.render(vars.as_object().unwrap()).unwrap(),
            json!([{"role": "system", "content": "Be brief {ok}."}, {"role": "user", "content": "Hello Ada! [1, True] Ada"}])
        );
        assert_eq!(p.render(json!({"name": "x"}).as_object().unwrap()).unwrap_err(), "n");
        assert!(PromptSpec::new(&json!({"user": "{oops"})).is_err());
        assert!(PromptSpec::new(&json!({"user": "a } b"})).is_err());
        assert!(PromptSpec::new(&json!({"user": "{a b}"})).is_err());
    }
}
