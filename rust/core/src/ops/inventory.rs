//! Ops registered at link time by [`#[op]`](crate::op): each annotated function submits an
//! [`OpEntry`] to the [`inventory`] crate, and [`OperonBuilder::auto_register`] reads them all.
//!
//! [`OperonBuilder::auto_register`]: crate::OperonBuilder::auto_register

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{AsyncFn, Implementation, Inputs, Items, OpFuture, Outputs};
use crate::error::OperonError;
use crate::value::json_type;

/// Whether an [`OpEntry`] is a plain op or a generator (`#[op(generator)]`).
#[doc = include_str!("../../doc/ops/inventory/OpKind.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// A plain op: one set of outputs per call.
    Regular,
    /// A generator op: a stream of items per call.
    Generator,
}

/// The function of an entry, in one of the engine's op shapes.
#[derive(Clone, Copy)]
enum Call {
    /// The published crate's untyped shape: every input as one object, the outputs as a value.
    Value(fn(&Value) -> Value),
    /// Inputs by value, outputs or an error (what `#[op]` writes for sync functions).
    Map(fn(Map<String, Value>) -> Result<Value, OperonError>),
    /// Borrowed inputs (the fast path of `OperonBuilder::op_ref`).
    Ref(fn(&Inputs) -> Result<Outputs, String>),
    /// A generator over borrowed inputs (`OperonBuilder::gen`).
    Items(fn(&Inputs) -> Result<Items, String>),
    /// An async op.
    Async(fn(Map<String, Value>) -> OpFuture),
}

/// One op registered by [`#[op]`](crate::op), collected at link time.
///
/// `#[op]` writes these; a program has no need to, but may submit one by hand:
///
/// ```
/// use serde_json::{json, Value};
///
/// fn double(inputs: &Value) -> Value {
///     json!({"y": inputs["x"].as_i64().unwrap_or(0) * 2})
/// }
/// operonx::inventory::submit! { operonx::OpEntry::new_op("double", module_path!(), double) }
///
/// let entry = operonx::inventory::iter::<operonx::OpEntry>().find(|e| e.name == "double").unwrap();
/// assert_eq!(entry.kind, operonx::OpKind::Regular);
/// ```
pub struct OpEntry {
    /// The name: the function's, or the one given by `#[op(name = "...")]`.
    pub name: &'static str,
    /// `module_path!()` where the function is defined (crate name first).
    pub module_path: &'static str,
    /// Plain op or generator.
    pub kind: OpKind,
    call: Call,
    function: &'static str,
    file: &'static str,
    line: u32,
}

inventory::collect!(OpEntry);

impl OpEntry {
    const fn with(name: &'static str, module_path: &'static str, kind: OpKind, call: Call) -> Self {
        OpEntry { name, module_path, kind, call, function: "", file: "", line: 0 }
    }

    /// A plain op of the published crate's untyped shape: every input as one object in, the
    /// outputs (an object; `null` is no output) out.
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.new_op.md")]
    pub const fn new_op(name: &'static str, module_path: &'static str, op_fn: fn(&Value) -> Value) -> Self {
        Self::with(name, module_path, OpKind::Regular, Call::Value(op_fn))
    }

    /// A generator of the published crate's untyped shape: it returns the array of its items,
    /// each an object of outputs.
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.new_gen.md")]
    pub const fn new_gen(name: &'static str, module_path: &'static str, op_fn: fn(&Value) -> Value) -> Self {
        Self::with(name, module_path, OpKind::Generator, Call::Value(op_fn))
    }

    /// A plain op over its inputs by value (the shape of [`OperonBuilder::op`](crate::OperonBuilder::op)).
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.op_map.md")]
    pub const fn op_map(
        name: &'static str,
        module_path: &'static str,
        f: fn(Map<String, Value>) -> Result<Value, OperonError>,
    ) -> Self {
        Self::with(name, module_path, OpKind::Regular, Call::Map(f))
    }

    /// A generator over its inputs by value: it returns the array of its items (`null` is none).
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.gen_map.md")]
    pub const fn gen_map(
        name: &'static str,
        module_path: &'static str,
        f: fn(Map<String, Value>) -> Result<Value, OperonError>,
    ) -> Self {
        Self::with(name, module_path, OpKind::Generator, Call::Map(f))
    }

    /// A plain op over borrowed inputs (the fast path of [`OperonBuilder::op_ref`](crate::OperonBuilder::op_ref)).
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.op_ref.md")]
    pub const fn op_ref(
        name: &'static str,
        module_path: &'static str,
        f: fn(&Inputs) -> Result<Outputs, String>,
    ) -> Self {
        Self::with(name, module_path, OpKind::Regular, Call::Ref(f))
    }

    /// A generator over borrowed inputs, as [`OperonBuilder::gen`](crate::OperonBuilder::gen) takes.
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.gen_ref.md")]
    pub const fn gen_ref(name: &'static str, module_path: &'static str, f: fn(&Inputs) -> Result<Items, String>) -> Self {
        Self::with(name, module_path, OpKind::Generator, Call::Items(f))
    }

    /// An async op (the shape of [`OperonBuilder::op_async`](crate::OperonBuilder::op_async)).
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.op_async.md")]
    pub const fn op_async(name: &'static str, module_path: &'static str, f: fn(Map<String, Value>) -> OpFuture) -> Self {
        Self::with(name, module_path, OpKind::Regular, Call::Async(f))
    }

    /// The same entry, made from Rust function `function` defined at `file:line` (for error
    /// messages).
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.at.md")]
    pub const fn at(mut self, function: &'static str, file: &'static str, line: u32) -> Self {
        self.function = function;
        self.file = file;
        self.line = line;
        self
    }

    /// The name qualified by the module, without the crate's name, as the published crate writes
    /// it: `"math::double"` for `double` in `my_crate::math`; the bare name at a crate's root.
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.qualified_name.md")]
    pub fn qualified_name(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_, path)) if !path.is_empty() => format!("{path}::{}", self.name),
            _ => self.name.to_string(),
        }
    }

    /// The name qualified by the whole module path, crate included: `"my_crate::math::double"`.
    /// No two entries of a program may share it.
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.full_name.md")]
    pub fn full_name(&self) -> String {
        format!("{}::{}", self.module_path, self.name)
    }

    /// Where the function is defined, `file:line`, when the entry was given it (`#[op]` does).
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.location.md")]
    pub fn location(&self) -> Option<String> {
        (!self.file.is_empty()).then(|| format!("{}:{}", self.file, self.line))
    }

    /// The name of the Rust function, when the entry was given it (`#[op]` does).
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.function.md")]
    pub fn function(&self) -> Option<&'static str> {
        (!self.function.is_empty()).then_some(self.function)
    }

    /// The file and line of the definition, for sorting.
    pub(crate) fn place(&self) -> (&'static str, u32) {
        (self.file, self.line)
    }

    /// True for an async op.
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.is_async.md")]
    pub fn is_async(&self) -> bool {
        matches!(self.call, Call::Async(_))
    }

    /// The entry as the engine runs it.
    #[doc = include_str!("../../doc/ops/inventory/OpEntry.implementation.md")]
    pub fn implementation(&self) -> Implementation {
        let generator = self.kind == OpKind::Generator;
        match self.call {
            Call::Value(f) if generator => {
                Implementation::Gen(Arc::new(move |i: &Inputs| items(Ok(f(&Value::Object(map_of(i)))))))
            }
            Call::Value(f) => Implementation::Map(Arc::new(move |m: Map<String, Value>| Ok(f(&Value::Object(m))))),
            Call::Map(f) if generator => Implementation::Gen(Arc::new(move |i: &Inputs| items(f(map_of(i))))),
            Call::Map(f) => Implementation::Map(Arc::new(f)),
            Call::Ref(f) => Implementation::Op(Arc::new(f)),
            Call::Items(f) => Implementation::Gen(Arc::new(f)),
            Call::Async(f) => Implementation::Async(Arc::new(AsyncFn(f))),
        }
    }
}

impl std::fmt::Debug for OpEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpEntry")
            .field("name", &self.name)
            .field("module_path", &self.module_path)
            .field("kind", &self.kind)
            .field("async", &self.is_async())
            .field("function", &self.function())
            .field("location", &self.location())
            .finish()
    }
}

/// A copy of borrowed inputs as a map.
fn map_of(inputs: &Inputs) -> Map<String, Value> {
    inputs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// The items of a generator that returned `value`: an array of objects (`null` is no items).
fn items(value: Result<Value, OperonError>) -> Result<Items, String> {
    match value.map_err(|e| e.to_string())? {
        Value::Null => Ok(Box::new(std::iter::empty())),
        Value::Array(list) => Ok(Box::new(list.into_iter().enumerate().map(|(i, item)| match item {
            Value::Object(outputs) => Ok(outputs.into()),
            other => Err(format!(
                "item {i} of the generator is {}; each item must be a mapping (an object) of outputs",
                json_type(&other)
            )),
        }))),
        other => Err(format!("a generator #[op] returns an array of items, not {}", json_type(&other))),
    }
}
