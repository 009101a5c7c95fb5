//! The built-in ops that turn text into values and values into text, run by the engine itself
//! (no host function): the parser op (JSON, XML, YAML into fields) and the prompt op (a template
//! into chat messages). Pure functions over JSON values; the run layer calls them with a driver's
//! values converted (`run/builtins.rs`).

pub mod parser;
pub mod prompt;
pub mod text;
mod xml;
