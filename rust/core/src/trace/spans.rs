//! [`SpanLog`]: the op executions of one run, recorded by the run layer ([`crate::run::Run`]) as
//! they start and end. A run with no tracer has no log (the run keeps an `Option<Box<SpanLog>>`
//! that is `None`), so it pays one test per op call and nothing else.
//!
//! A log made [`SpanLog::with_values`] also keeps each execution's inputs and outputs as JSON (the
//! Python package's traces show them); the Rust API's traces do not, and their logs keep none.
//! The values are written as JSON text into one buffer of the log (no allocation, no hashing per
//! op on the run's thread) and parsed when the trace is built, off it.

use std::time::{Duration, Instant, SystemTime};

use rustc_hash::FxHashMap;
use std::ops::Range;

use serde_json::{Map, Value};

use crate::plan::OpId;
use crate::scheduler::{CtxId, Path};

/// The most text and spans a log keeps the memory of when it restarts.
const KEPT_TEXT: usize = 2 << 20;
const KEPT_SPANS: usize = 16_384;

/// How an op execution ended.
#[doc = include_str!("../../doc/trace/spans/SpanStatus.md")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanStatus {
    /// Not back yet (at the end of a run: the run stopped before it came back).
    Open,
    /// It returned its outputs.
    Ok,
    /// It failed: why, in words.
    Error(String),
}

/// One op execution.
#[doc = include_str!("../../doc/trace/spans/Span.md")]
#[derive(Debug, Clone)]
pub struct Span {
    /// The op.
    pub op: OpId,
    /// The context it ran in.
    pub path: Path,
    /// When it started, from the start of the run.
    pub start: Duration,
    /// When it ended, from the start of the run.
    pub end: Option<Duration>,
    /// How it ended.
    pub status: SpanStatus,
    /// Items yielded (generators).
    pub items: u32,
    /// Its inputs by name (a JSON object in the log's text; a log with values only).
    pub inputs: Option<Range<u32>>,
    /// Its outputs (a JSON object in the log's text; a log with values only).
    pub outputs: Option<Range<u32>>,
    /// A generator's items, each a JSON object in the log's text (a log with values only).
    pub yielded: Vec<Range<u32>>,
    /// Attributes the op gave its span (under `"$span"` in its outputs, or in a
    /// [`SpanLog::annotate`] note), each a JSON object in the log's text.
    pub attributes: Vec<Range<u32>>,
}

/// The op executions of one run.
#[doc = include_str!("../../doc/trace/spans/SpanLog.md")]
#[derive(Debug)]
pub struct SpanLog {
    epoch: Instant,
    wall: SystemTime,
    spans: Vec<Span>,
    /// The spans not ended yet, by op instance, but for the one begun last (`recent`).
    open: FxHashMap<(OpId, CtxId), usize>,
    /// The span begun last, while open: a sync op ends before the next one begins, so most spans
    /// open and close without a hash.
    recent: Option<((OpId, CtxId), usize)>,
    /// The span ended last, by op instance (an op whose outputs are refused just after it came
    /// back fails that span).
    last: Option<((OpId, CtxId), usize)>,
    values: bool,
    /// The JSON text of the values recorded.
    text: Vec<u8>,
    /// The run's inputs and the last value of each graph output (a log with values only).
    run_io: (Option<Range<u32>>, Vec<Range<u32>>),
}

impl Default for SpanLog {
    fn default() -> Self {
        SpanLog::new()
    }
}

impl SpanLog {
    /// An empty log that keeps no values; the run starts now.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.new.md")]
    pub fn new() -> Self {
        SpanLog {
            epoch: Instant::now(),
            wall: SystemTime::now(),
            spans: Vec::new(),
            open: FxHashMap::default(),
            recent: None,
            last: None,
            values: false,
            text: Vec::new(),
            run_io: (None, Vec::new()),
        }
    }

    /// An empty log that keeps the inputs and outputs of each execution; the run starts now.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.with_values.md")]
    pub fn with_values() -> Self {
        SpanLog { values: true, ..SpanLog::new() }
    }

    /// Empties the log, keeping the memory it took (its next run allocates nothing until it records
    /// more than this one did; up to a few MB), and starts its clock again: the run starts now.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.restart.md")]
    pub fn restart(&mut self) {
        // a log that grew very big (a long run) gives its memory back rather than keep it
        if self.text.capacity() > KEPT_TEXT {
            self.text = Vec::new();
        }
        if self.spans.capacity() > KEPT_SPANS {
            self.spans = Vec::new();
        }
        self.spans.clear();
        self.open.clear();
        self.recent = None;
        self.last = None;
        self.text.clear();
        self.run_io.0 = None;
        self.run_io.1.clear();
        self.epoch = Instant::now();
        self.wall = SystemTime::now();
    }

    /// Makes room for `spans` more spans and `text` more bytes of values, so that a run recording
    /// about as much as the last one grows no buffer as it goes.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.reserve.md")]
    pub fn reserve(&mut self, spans: usize, text: usize) {
        self.spans.reserve(spans.min(KEPT_SPANS));
        self.text.reserve(text.min(KEPT_TEXT));
    }

    /// True when the log keeps inputs and outputs.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.keeps_values.md")]
    pub fn keeps_values(&self) -> bool {
        self.values
    }

    /// When the run started (wall clock).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.started_at.md")]
    pub fn started_at(&self) -> SystemTime {
        self.wall
    }

    /// Time since the run started.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.elapsed.md")]
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// The spans, in the order they started.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.spans.md")]
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The run's inputs (a log with values only).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.run_inputs.md")]
    pub fn run_inputs(&self) -> Map<String, Value> {
        self.object(self.run_io.0.as_ref())
    }

    /// The last non-null value of each graph output (a log with values only).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.run_outputs.md")]
    pub fn run_outputs(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for r in &self.run_io.1 {
            out.extend(self.object(Some(r)));
        }
        out
    }

    /// Where the run's inputs are in the text (a log with values only).
    pub(crate) fn run_input_range(&self) -> Option<Range<u32>> {
        self.run_io.0.clone()
    }

    /// Where the data of the run's frames are in the text (a log with values only).
    pub(crate) fn run_output_ranges(&self) -> &[Range<u32>] {
        &self.run_io.1
    }

    /// The text written at `range`.
    pub(crate) fn text(&self, range: &Range<u32>) -> &[u8] {
        self.text.get(range.start as usize..range.end as usize).unwrap_or_default()
    }

    /// Sets the run's inputs and its frames' data (each an object in the text), at its end.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.set_run_io.md")]
    pub fn set_run_io(&mut self, inputs: Option<Range<u32>>, frames: Vec<Range<u32>>) {
        self.run_io = (inputs, frames);
    }

    /// The buffer values are written to as JSON text: a caller notes [`SpanLog::mark`] before it
    /// writes and passes the range to the method recording it.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.text_mut.md")]
    pub fn text_mut(&mut self) -> &mut Vec<u8> {
        &mut self.text
    }

    /// Where the next value written to [`SpanLog::text_mut`] starts.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.mark.md")]
    pub fn mark(&self) -> u32 {
        u32::try_from(self.text.len()).unwrap_or(u32::MAX)
    }

    /// The range from `from` to the end of the text (what was written since [`SpanLog::mark`]).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.since.md")]
    pub fn since(&self, from: u32) -> Range<u32> {
        from..self.mark()
    }

    /// The JSON object written at `range` (keys starting with `$` left out); empty when there is
    /// none or it is not an object.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.object.md")]
    pub fn object(&self, range: Option<&Range<u32>>) -> Map<String, Value> {
        let Some(r) = range else { return Map::new() };
        let bytes = self.text.get(r.start as usize..r.end as usize).unwrap_or_default();
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(mut map)) => {
                map.retain(|k, _| !k.starts_with('$'));
                map
            }
            _ => Map::new(),
        }
    }

    /// A span's outputs: a generator's as each key's items in a list.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.outputs_of.md")]
    pub fn outputs_of(&self, span: &Span) -> Map<String, Value> {
        if span.yielded.is_empty() {
            return self.object(span.outputs.as_ref());
        }
        let mut out = Map::new();
        for r in &span.yielded {
            for (k, v) in self.object(Some(r)) {
                if let Value::Array(items) = out.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
                    items.push(v);
                }
            }
        }
        out
    }

    /// Op `op` is called in context `ctx` (at `path`) with `inputs` (written to the text).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.begin.md")]
    pub fn begin(&mut self, op: OpId, ctx: CtxId, path: Path, inputs: Option<Range<u32>>) {
        if let Some((key, i)) = self.recent.replace(((op, ctx), self.spans.len())) {
            self.open.insert(key, i);
        }
        self.spans.push(Span {
            op,
            path,
            start: self.epoch.elapsed(),
            end: None,
            status: SpanStatus::Open,
            items: 0,
            inputs,
            outputs: None,
            yielded: Vec::new(),
            attributes: Vec::new(),
        });
    }

    /// True while `op` runs in `ctx`.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.is_open.md")]
    pub fn is_open(&self, op: OpId, ctx: CtxId) -> bool {
        self.find(op, ctx).is_some()
    }

    /// The index of the open span of `op` in `ctx`.
    fn find(&self, op: OpId, ctx: CtxId) -> Option<usize> {
        match self.recent {
            Some((key, i)) if key == (op, ctx) => Some(i),
            _ => self.open.get(&(op, ctx)).copied(),
        }
    }

    /// A built-in op that ran at once (a nested graph's entry or end, a branch): a span of no
    /// length with its outputs.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.point.md")]
    pub fn point(&mut self, op: OpId, path: Path, outputs: Option<Range<u32>>) {
        let now = self.epoch.elapsed();
        self.spans.push(Span {
            op,
            path,
            start: now,
            end: Some(now),
            status: SpanStatus::Ok,
            items: 0,
            inputs: None,
            outputs,
            yielded: Vec::new(),
            attributes: Vec::new(),
        });
    }

    /// The call of `op` in `ctx` came back with its outputs (a generator: its end, its outputs
    /// being the items it yielded).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.end_ok.md")]
    pub fn end_ok(&mut self, op: OpId, ctx: CtxId, outputs: Option<Range<u32>>) {
        if let Some(i) = self.close(op, ctx, SpanStatus::Ok) {
            if outputs.is_some() {
                self.spans[i].outputs = outputs;
            }
        }
    }

    /// The call of `op` in `ctx` failed with `error` (in words): the span still open, or the one
    /// that just ended (its outputs were refused).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.fail.md")]
    pub fn fail(&mut self, op: OpId, ctx: CtxId, error: String) {
        if self.close(op, ctx, SpanStatus::Error(error.clone())).is_some() {
            return;
        }
        if let Some(((lop, lctx), i)) = self.last {
            if (lop, lctx) == (op, ctx) {
                self.spans[i].status = SpanStatus::Error(error);
            }
        }
    }

    /// Generator `op` in `ctx` yielded an item (`item`: its outputs in the text, in a log with
    /// values).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.item.md")]
    pub fn item(&mut self, op: OpId, ctx: CtxId, item: Option<Range<u32>>) {
        let Some(i) = self.find(op, ctx) else { return };
        let span = &mut self.spans[i];
        span.items += 1;
        span.yielded.extend(item);
    }

    /// The span of `op` in `ctx` (open, or the one that just ended) gets the attributes written
    /// at `attributes` (a JSON object in the text); later ones win over earlier ones of the same name.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.annotate.md")]
    pub fn annotate(&mut self, op: OpId, ctx: CtxId, attributes: Range<u32>) {
        let i = match (self.find(op, ctx), self.last) {
            (Some(i), _) => i,
            (None, Some((last, i))) if last == (op, ctx) => i,
            _ => return,
        };
        self.spans[i].attributes.push(attributes);
    }

    /// The attributes `span` was given, merged (a later value of a name wins).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.attributes_of.md")]
    pub fn attributes_of(&self, span: &Span) -> Map<String, Value> {
        let mut out = Map::new();
        for r in &span.attributes {
            let bytes = self.text.get(r.start as usize..r.end as usize).unwrap_or_default();
            if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) {
                out.extend(map);
            }
        }
        out
    }

    fn close(&mut self, op: OpId, ctx: CtxId, status: SpanStatus) -> Option<usize> {
        let i = match self.recent {
            Some((key, i)) if key == (op, ctx) => {
                self.recent = None;
                i
            }
            _ => self.open.remove(&(op, ctx))?,
        };
        let span = &mut self.spans[i];
        span.end = Some(self.epoch.elapsed());
        span.status = status;
        self.last = Some(((op, ctx), i));
        Some(i)
    }
}
