//! Compiling the built-in text ops: a parser op's format and fields, a prompt op's template.

use super::Compiler;
use crate::error::Problem;
use crate::graph::schema::OpDoc;
use crate::plan::types::{Builtin, Forward};
use crate::textops::parser::ParserSpec;
use crate::textops::prompt::PromptSpec;

impl Compiler<'_> {
    /// What parser or prompt op `name` does; a problem (and nothing) when its settings are wrong.
    pub(super) fn textop(&mut self, name: &str, op: &OpDoc) -> Builtin {
        let made = match op.kind.as_str() {
            "parser" => {
                let format = op.format.as_deref().unwrap_or("json");
                let extract = op.extract.as_deref().unwrap_or_default();
                ParserSpec::new(format, extract).map(|s| Builtin::Parser(Box::new(s)))
            }
            _ => match &op.template {
                Some(t) => PromptSpec::new(t).map(|s| Builtin::Prompt(Box::new(s))),
                None => Err("a prompt op needs a \"template\" (role -> text)".to_string()),
            },
        };
        made.unwrap_or_else(|why| {
            self.problem(Problem::new("invalid", format!("{} op '{name}': {why}", op.kind)).op(name));
            Builtin::None
        })
    }

    /// A parser op forwards its fields, never its `error`: forwarding "every output" means each
    /// field under its own name.
    pub(super) fn parser_forward(&mut self, builtin: &Builtin, forward: Forward) -> Forward {
        match (builtin, forward) {
            (Builtin::Parser(spec), Forward::All) => {
                let keys: Vec<String> = spec.keys().map(str::to_string).collect();
                Forward::Mapped(keys.iter().map(|k| (self.intern(k), self.intern(k))).collect())
            }
            (_, forward) => forward,
        }
    }
}
