//! [`SpanLog`]: the op executions of one run, recorded by a driver as they start and end. A run
//! with no tracer has no log (drivers keep an `Option<Box<SpanLog>>` that is `None`), so it pays
//! one test per op call and nothing else.

use std::time::{Duration, Instant, SystemTime};

use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::plan::OpId;
use crate::run::{Model, OpFailure, Run};
use crate::scheduler::{CtxId, Path};
use crate::value::json_type;

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
}

/// The op executions of one run.
#[doc = include_str!("../../doc/trace/spans/SpanLog.md")]
#[derive(Debug)]
pub struct SpanLog {
    epoch: Instant,
    wall: SystemTime,
    spans: Vec<Span>,
    /// The spans not ended yet, by op instance.
    open: FxHashMap<(OpId, CtxId), usize>,
}

impl Default for SpanLog {
    fn default() -> Self {
        SpanLog::new()
    }
}

impl SpanLog {
    /// An empty log; the run starts now.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.new.md")]
    pub fn new() -> Self {
        SpanLog { epoch: Instant::now(), wall: SystemTime::now(), spans: Vec::new(), open: FxHashMap::default() }
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

    /// Op `op` is called in context `ctx` of `run`.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.begin.md")]
    pub fn begin<M: Model>(&mut self, run: &Run<M>, op: OpId, ctx: CtxId) {
        let path = run.state().contexts().path(ctx);
        self.open.insert((op, ctx), self.spans.len());
        self.spans.push(Span { op, path, start: self.epoch.elapsed(), end: None, status: SpanStatus::Open, items: 0 });
    }

    /// The call of `op` in `ctx` came back with `outcome` (a generator: its end).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.end.md")]
    pub fn end(&mut self, op: OpId, ctx: CtxId, outcome: &Result<Value, OpFailure<String>>) {
        let status = match outcome {
            Ok(Value::Object(_) | Value::Null) => SpanStatus::Ok,
            Ok(other) => SpanStatus::Error(format!("returned {}, not a mapping of outputs", json_type(other))),
            Err(failure) => SpanStatus::Error(describe(failure)),
        };
        self.close(op, ctx, status);
    }

    /// The call of `op` in `ctx` failed with `failure` (it never ran, or its generator stopped).
    #[doc = include_str!("../../doc/trace/spans/SpanLog.fail.md")]
    pub fn fail(&mut self, op: OpId, ctx: CtxId, failure: &OpFailure<String>) {
        self.close(op, ctx, SpanStatus::Error(describe(failure)));
    }

    /// Generator `op` in `ctx` yielded an item.
    #[doc = include_str!("../../doc/trace/spans/SpanLog.item.md")]
    pub fn item(&mut self, op: OpId, ctx: CtxId) {
        if let Some(&i) = self.open.get(&(op, ctx)) {
            self.spans[i].items += 1;
        }
    }

    fn close(&mut self, op: OpId, ctx: CtxId, status: SpanStatus) {
        if let Some(i) = self.open.remove(&(op, ctx)) {
            let span = &mut self.spans[i];
            span.end = Some(self.epoch.elapsed());
            span.status = status;
        }
    }
}

/// An op failure in words, as the run's error words it (without the op and context around it).
fn describe(failure: &OpFailure<String>) -> String {
    match failure {
        OpFailure::Raised(message) | OpFailure::BadReturn(message) => message.clone(),
        OpFailure::Panicked(message) => format!("panicked: {message}"),
        OpFailure::Missing(input, _) => format!("missing required input '{input}'"),
        OpFailure::Input(input, e) => format!("evaluating input '{input}' raised {e}"),
        OpFailure::Until(message, None) => message.clone(),
        OpFailure::Until(message, Some(e)) => format!("{message}: {e}"),
        OpFailure::TimedOut(seconds) => format!("timed out after {seconds} s"),
        OpFailure::Attempts(n, last) => format!("failed after {n} attempts; the last: {}", describe(last)),
    }
}
