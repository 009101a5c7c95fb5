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
    /// What the op gave its span (`"$span"`); its GenAI ones also fill the node's `model` and `usage`.
    pub(super) attributes: Option<Map<String, Value>>,
}

/// One node of the document, with what places it in the tree.
pub(super) struct Node<'r> {
    pub(super) key: String,
    pub(super) parent: Option<String>,
    /// Siblings sort by (this, then the key).
    pub(super) sort: (usize, u64),
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
        if let Some(a) = &self.attributes {
            m.insert("attributes".into(), Value::Object(a.clone()));
        }
        m
    }

    /// The node's `model` and `usage` (`null` unless the op gave GenAI attributes).
    fn model_and_usage(&self) -> (Value, Value) {
        self.attributes.as_ref().map_or((Value::Null, Value::Null), super::genai::model_and_usage)
    }

    fn write(&self, out: &mut Vec<u8>, depth: usize, codes: &[Option<Box<[u8]>>]) {
        let mut o = Obj::open(out, depth);
        let inner = o.depth();
        if let Some(k) = self.kind {
            o.word("kind", k);
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
        if let Some(a) = &self.attributes {
            pretty::value(o.key("attributes"), &Value::Object(a.clone()), inner);
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
        let (model, usage) = self.meta.model_and_usage();
        n.insert("model".into(), model);
        n.insert("usage".into(), usage);
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
        o.word("node_type", self.node_type);
        o.word("kind", self.kind);
        self.inputs.write(log, o.key("inputs"), inner);
        self.outputs.write(log, o.key("outputs"), inner);
        o.opt_str("start_time", self.start.as_deref());
        o.opt_str("end_time", self.end.as_deref());
        o.f64("duration_ms", self.duration);
        self.meta.write(o.key("metadata"), inner, codes);
        let (model, usage) = self.meta.model_and_usage();
        for (k, v) in [("model", &model), ("usage", &usage), ("cost", &Value::Null)] {
            match v {
                Value::Null => o.key(k).extend_from_slice(b"null"),
                v => pretty::value(o.key(k), v, inner),
            }
        }
        o.key("media").extend_from_slice(b"[]");
        o.close();
    }
}

/// A time as RFC 3339 text, UTC, to the microsecond (`2026-01-01T12:00:00.000001Z`): what
/// `humantime::format_rfc3339_micros` writes, without the formatting machinery.
pub(super) fn timestamp(t: std::time::SystemTime) -> String {
    let since = t.duration_since(std::time::UNIX_EPOCH).ok().filter(|d| d.as_secs() < 253_402_300_800);
    let Some(since) = since else { return humantime::format_rfc3339_micros(t).to_string() };
    let secs = since.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // a trace's times fall on one day: its date is worked out once
    thread_local! {
        static DATE: std::cell::Cell<(u64, [u8; 10])> = const { std::cell::Cell::new((u64::MAX, [0; 10])) };
    }
    let (day, mut date) = DATE.get();
    if day != days {
        let (year, month, mday) = civil(i64::try_from(days).unwrap_or(0));
        let mut d = *b"0000-00-00";
        for (at, width, mut v) in [(0, 4, year), (5, 2, month), (8, 2, mday)] {
            for i in (at..at + width).rev() {
                d[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        DATE.set((days, d));
        date = d;
    }
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    b[..10].copy_from_slice(&date);
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(11, 2, rem / 3600);
    put(14, 2, rem / 60 % 60);
    put(17, 2, rem % 60);
    put(20, 6, u64::from(since.subsec_micros()));
    std::str::from_utf8(&b).unwrap_or_default().to_owned()
}

/// The civil date (year, month, day) of a day counted from 1970-01-01 (H. Hinnant's algorithm).
fn civil(days: i64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let num = |v: i64| u64::try_from(v).unwrap_or(0);
    (num(year), num(month), num(day))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn timestamps_are_what_humantime_writes() {
        let mut t = 0u64;
        while t < 4_000_000_000_000_000 {
            let at = UNIX_EPOCH + Duration::from_nanos(t.wrapping_mul(7_919));
            assert_eq!(super::timestamp(at), humantime::format_rfc3339_micros(at).to_string());
            t = t * 3 + 1_234_567_891;
        }
        let now = SystemTime::now();
        assert_eq!(super::timestamp(now), humantime::format_rfc3339_micros(now).to_string());
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(super::timestamp(leap), "2000-02-29T00:00:00.000000Z");
    }
}
