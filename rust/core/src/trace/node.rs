//! One node of a trace document, typed: rendered as a `serde_json` map (the dict Python tracers
//! receive) or written straight to pretty JSON text (the `LocalTracer` file), the same fields in the
//! published order either way.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::document::OpSource;
use super::pretty::{self, Obj};
use super::spans::SpanLog;

/// Each op's function source as a JSON string (escaped once per engine, not once per trace).
pub(super) type Codes = Rc<[Option<Box<[u8]>>]>;

/// An engine's op functions, as a run record holds them.
type Sources = Arc<[Option<OpSource>]>;

thread_local! {
    /// The escaped sources of the engines whose traces this thread wrote last (each kept with
    /// the engine's sources, so that the key stays theirs).
    static CODES: RefCell<Vec<(Sources, Codes)>> = const { RefCell::new(Vec::new()) };
}

/// The escaped sources of `sources` (an engine's), from the thread's cache.
pub(super) fn escaped_codes(sources: &Sources) -> Codes {
    CODES.with_borrow_mut(|cache| {
        if let Some((_, codes)) = cache.iter().find(|(s, _)| Arc::ptr_eq(s, sources)) {
            return Rc::clone(codes);
        }
        let codes: Codes = sources
            .iter()
            .map(|s| {
                let code = s.as_ref()?.code.as_deref()?;
                let mut text = Vec::with_capacity(code.len() + 16);
                pretty::string(&mut text, code);
                Some(text.into_boxed_slice())
            })
            .collect();
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push((Arc::clone(sources), Rc::clone(&codes)));
        codes
    })
}

/// A node's inputs or outputs.
pub(super) enum Io {
    /// `{}`.
    Empty,
    /// A JSON object in the span log's text (its `$` keys left out).
    Text(std::ops::Range<u32>),
    /// An object put together from several (a generator's items, the frames of a run).
    Map(Map<String, Value>),
}

/// A node's `metadata`, its members in the published order (each left out when `None`).
#[derive(Default)]
pub(super) struct Meta<'r> {
    /// The op whose function this is (its escaped source is looked up by it).
    pub(super) op: Option<u32>,
    pub(super) kind: Option<&'static str>,
    pub(super) function_name: Option<&'r str>,
    pub(super) code: Option<&'r str>,
    pub(super) yield_count: Option<u32>,
    pub(super) error: Option<&'r str>,
}

/// One node of the document, with what places it in the tree.
pub(super) struct Node<'r> {
    pub(super) key: String,
    pub(super) parent: Option<String>,
    pub(super) sort: (usize, u64, String),
    pub(super) op_name: Option<&'r str>,
    pub(super) display: String,
    pub(super) node_type: &'static str,
    pub(super) kind: &'static str,
    pub(super) inputs: Io,
    pub(super) outputs: Io,
    pub(super) start: Option<String>,
    pub(super) end: Option<String>,
    pub(super) duration: Option<f64>,
    pub(super) meta: Meta<'r>,
}

impl Io {
    fn value(&self, log: &SpanLog) -> Value {
        Value::Object(match self {
            Io::Empty => Map::new(),
            Io::Text(r) => log.object(Some(r)),
            Io::Map(m) => m.clone(),
        })
    }

    fn write(&self, log: &SpanLog, out: &mut Vec<u8>, depth: usize) {
        match self {
            Io::Empty => out.extend_from_slice(b"{}"),
            Io::Text(r) => pretty::object(out, log.text(r), depth),
            Io::Map(m) if m.is_empty() => out.extend_from_slice(b"{}"),
            Io::Map(m) => pretty::value(out, &Value::Object(m.clone()), depth),
        }
    }
}

impl Meta<'_> {
    fn value(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(k) = self.kind {
            m.insert("kind".into(), k.into());
        }
        if let Some(f) = self.function_name {
            m.insert("function_name".into(), f.into());
        }
        if let Some(c) = self.code {
            m.insert("code_fn".into(), c.into());
        }
        if let Some(n) = self.yield_count {
            m.insert("yield_count".into(), n.into());
        }
        if let Some(e) = self.error {
            m.insert("error".into(), e.into());
        }
        m
    }

    fn write(&self, out: &mut Vec<u8>, depth: usize, codes: &[Option<Box<[u8]>>]) {
        let mut o = Obj::open(out, depth);
        if let Some(k) = self.kind {
            o.str("kind", k);
        }
        if let Some(f) = self.function_name {
            o.str("function_name", f);
        }
        if let Some(c) = self.code {
            match self.op.and_then(|op| codes.get(op as usize)) {
                Some(Some(escaped)) => o.key("code_fn").extend_from_slice(escaped),
                _ => o.str("code_fn", c),
            }
        }
        if let Some(n) = self.yield_count {
            o.u64("yield_count", u64::from(n));
        }
        if let Some(e) = self.error {
            o.str("error", e);
        }
        o.close();
    }
}

impl Node<'_> {
    /// The node as a map, in the published field order.
    pub(super) fn value(&self, log: &SpanLog) -> Map<String, Value> {
        let mut n = Map::new();
        n.insert("trace_key".into(), self.key.as_str().into());
        n.insert("parent_trace_key".into(), self.parent.as_deref().into());
        n.insert("op_name".into(), self.op_name.into());
        n.insert("display_name".into(), self.display.as_str().into());
        n.insert("node_type".into(), self.node_type.into());
        n.insert("kind".into(), self.kind.into());
        n.insert("inputs".into(), self.inputs.value(log));
        n.insert("outputs".into(), self.outputs.value(log));
        n.insert("start_time".into(), self.start.as_deref().into());
        n.insert("end_time".into(), self.end.as_deref().into());
        n.insert("duration_ms".into(), self.duration.into());
        n.insert("metadata".into(), Value::Object(self.meta.value()));
        n.insert("model".into(), Value::Null);
        n.insert("usage".into(), Value::Null);
        n.insert("cost".into(), Value::Null);
        n.insert("media".into(), Value::Array(Vec::new()));
        n
    }

    /// Writes the node as pretty JSON text, its `{` at nesting `depth`.
    pub(super) fn write(&self, log: &SpanLog, out: &mut Vec<u8>, depth: usize, codes: &[Option<Box<[u8]>>]) {
        let mut o = Obj::open(out, depth);
        let inner = o.depth();
        o.str("trace_key", &self.key);
        o.opt_str("parent_trace_key", self.parent.as_deref());
        o.opt_str("op_name", self.op_name);
        o.str("display_name", &self.display);
        o.str("node_type", self.node_type);
        o.str("kind", self.kind);
        self.inputs.write(log, o.key("inputs"), inner);
        self.outputs.write(log, o.key("outputs"), inner);
        o.opt_str("start_time", self.start.as_deref());
        o.opt_str("end_time", self.end.as_deref());
        o.f64("duration_ms", self.duration);
        self.meta.write(o.key("metadata"), inner, codes);
        for k in ["model", "usage", "cost"] {
            o.key(k).extend_from_slice(b"null");
        }
        o.key("media").extend_from_slice(b"[]");
        o.close();
    }
}
