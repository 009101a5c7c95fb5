//! Recording a run's op executions for its tracers, once for every driver: a run given a
//! [`SpanLog`] ([`Run::record_spans`]) records each call the driver makes (from [`Run::prepare`]
//! handing it over to [`Run::complete`] or [`Run::fail_op`]), each item a generator yields, and the
//! built-in ops that stand for a nested graph and a branch. A run with no log pays one test of an
//! `Option` at each of those points; everything else here is out of line.

use crate::plan::{OpId, OpKind};
use crate::scheduler::CtxId;
use crate::trace::{Finished, RunEnd, RunIds, SpanLog};

use super::step::Args;
use super::{Model, OpFailure, Run, Runtime};

/// The output key under which an op gives its span attributes (`"$span"`: a mapping of names to
/// values, shown in the trace's `metadata.attributes`, never as an output).
#[doc = include_str!("../../doc/run/SPAN_KEY.md")]
pub const SPAN_KEY: &str = "$span";

/// [`SPAN_KEY`] as JSON text.
const QUOTED_SPAN_KEY: &[u8] = b"\"$span\"";

impl<M: Model> Run<M> {
    /// Records the run's op executions from now on into `log` (for its tracers).
    #[doc = include_str!("../../doc/run/trace/Run.record_spans.md")]
    pub fn record_spans(&mut self, log: Box<SpanLog>) {
        self.spans = Some(log);
    }

    /// The trace material of this run, over, started with `ids` (all set), recorded in `spans`,
    /// failed with `error` (in words) if it did.
    #[doc = include_str!("../../doc/run/trace/Run.finished.md")]
    pub fn finished(&self, ids: RunIds, spans: Box<SpanLog>, error: Option<String>) -> Finished {
        let status = match self.phase() {
            super::Phase::Failed => "error",
            super::Phase::Cancelled => "cancelled",
            _ => "ok",
        };
        let end = RunEnd {
            plan: std::sync::Arc::clone(&self.plan),
            ids,
            frames: self.frames.total(),
            loop_iterations: self.loop_stats().map(|(_, s)| s.iterations).sum(),
            status,
            error,
        };
        Finished::new(end, spans)
    }

    /// The op executions recorded, if they were (the run records no more).
    #[doc = include_str!("../../doc/run/trace/Run.take_spans.md")]
    pub fn take_spans(&mut self) -> Option<Box<SpanLog>> {
        self.spans.take()
    }

    /// True while the run records its op executions.
    #[doc = include_str!("../../doc/run/trace/Run.records_spans.md")]
    #[inline]
    pub fn records_spans(&self) -> bool {
        self.spans.is_some()
    }

    /// The call of `op` in `ctx` with `args` starts (when the run records).
    #[inline(always)]
    pub(super) fn trace_begin<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, args: &Args<M::Value>) {
        if self.spans.is_some() {
            self.span_begin(rt, op, ctx, args);
        }
    }

    /// See [`Run::span_done`] (when the run records).
    #[inline(always)]
    pub(super) fn trace_done<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, out: Option<&M::Value>) {
        if self.spans.is_some() {
            self.span_done(rt, op, ctx, out);
        }
    }

    /// Op `op` in `ctx` failed with `failure` (when the run records).
    #[inline(always)]
    pub(super) fn trace_fail<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, f: &OpFailure<M::Error>) {
        if self.spans.is_some() {
            self.span_fail(rt, op, ctx, f);
        }
    }

    /// Generator `gen` in `ctx` yielded `item` (when the run records).
    #[inline(always)]
    pub(super) fn trace_item<R: Runtime<M>>(&mut self, rt: &mut R, gen: OpId, ctx: CtxId, item: &M::Value) {
        if self.spans.is_some() {
            self.span_item(rt, gen, ctx, item);
        }
    }

    /// The call of `op` in `ctx` with `args` starts.
    #[cold]
    #[inline(never)]
    fn span_begin<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, args: &Args<M::Value>) {
        let path = self.state.contexts().path(ctx);
        let Some(log) = self.spans.as_deref_mut() else { return };
        let mut inputs = None;
        if log.keeps_values() {
            let from = log.mark();
            let names = self.facts.input_names(&self.plan, op);
            let text = log.text_mut();
            text.push(b'{');
            for (name, v) in names.iter().zip(args.iter()) {
                if rt.is_none(v) {
                    continue;
                }
                let mark = text.len();
                if text.len() > from as usize + 1 {
                    text.push(b',');
                }
                key(text, name);
                if !rt.write_json(v, text) {
                    text.truncate(mark);
                }
            }
            text.push(b'}');
            inputs = Some(log.since(from));
        }
        log.begin(op, ctx, path, inputs);
    }

    /// The call of `op` in `ctx` came back with `out` (before its outputs are checked; `None`: a
    /// generator's end), or a nested graph's entry or end, or a branch, ran with `out` as its
    /// outputs. A failed call is recorded by [`Run::span_fail`].
    #[cold]
    #[inline(never)]
    fn span_done<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, out: Option<&M::Value>) {
        let kind = self.plan.ops[op as usize].kind;
        let builtin = matches!(kind, OpKind::GraphEnter | OpKind::GraphExit | OpKind::Branch);
        let path = if builtin { Some(self.state.contexts().path(ctx)) } else { None };
        let Some(log) = self.spans.as_deref_mut() else { return };
        let outputs = match out {
            Some(v) if log.keeps_values() => write(rt, log, v),
            _ => None,
        };
        // outputs written as text show whether they hold "$span" (a key, the only place the
        // quoted word can stand unescaped): most do not, and are not looked up
        let annotated = match &outputs {
            Some(r) => {
                let text = log.text(r);
                text.contains(&b'$') && text.windows(QUOTED_SPAN_KEY.len()).any(|w| w == QUOTED_SPAN_KEY)
            }
            None => true,
        };
        match path {
            Some(path) if !log.is_open(op, ctx) => log.point(op, path, outputs),
            _ => log.end_ok(op, ctx, outputs),
        }
        if let (Some(v), false, true) = (out, builtin, annotated) {
            if let Ok(Some(attributes)) = rt.get_str(v, SPAN_KEY) {
                self.annotate_span(rt, op, ctx, &attributes);
            }
        }
    }

    /// The execution of `op` in `ctx` (running, or just ended) gets `attributes` (a mapping) on its
    /// span, when the run records: what an op returns under `"$span"`, or what a driver was handed
    /// for it (a generator's note, which is not an item).
    #[doc = include_str!("../../doc/run/Run.annotate_span.md")]
    pub fn annotate_span<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, attributes: &M::Value) {
        let Some(log) = self.spans.as_deref_mut() else { return };
        if let Some(range) = write(rt, log, attributes) {
            log.annotate(op, ctx, range);
        }
    }

    /// Op `op` in `ctx` failed with `failure`.
    #[cold]
    #[inline(never)]
    fn span_fail<R: Runtime<M>>(&mut self, rt: &mut R, op: OpId, ctx: CtxId, failure: &OpFailure<M::Error>) {
        let error = describe(rt, failure);
        if let Some(log) = self.spans.as_deref_mut() {
            log.fail(op, ctx, error);
        }
    }

    /// Generator `gen` in `ctx` yielded `item`.
    #[cold]
    #[inline(never)]
    fn span_item<R: Runtime<M>>(&mut self, rt: &mut R, gen: OpId, ctx: CtxId, item: &M::Value) {
        let Some(log) = self.spans.as_deref_mut() else { return };
        let item = if log.keeps_values() { write(rt, log, item) } else { None };
        log.item(gen, ctx, item);
    }

    /// Records the run's inputs and the last non-null value of each graph output (from the frames
    /// kept), for a log with values; a driver calls it once the run is over, before it takes the
    /// log.
    #[doc = include_str!("../../doc/run/trace/Run.finish_spans.md")]
    pub fn finish_spans<R: Runtime<M>>(&mut self, rt: &mut R) {
        let Some(mut log) = self.spans.take() else { return };
        if log.keeps_values() {
            let inputs = write(rt, &mut log, self.inputs());
            let frames = self.frames.kept().filter(|f| !f.superseded).filter_map(|f| write(rt, &mut log, &f.data));
            let frames = frames.collect();
            log.set_run_io(inputs, frames);
        }
        self.spans = Some(log);
    }
}

/// Writes `"name":` (the name escaped only when it needs to be).
fn key(text: &mut Vec<u8>, name: &str) {
    if name.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        let _ = serde_json::to_writer(&mut *text, name);
    } else {
        text.push(b'"');
        text.extend_from_slice(name.as_bytes());
        text.push(b'"');
    }
    text.push(b':');
}

/// Writes `v` to the log's text; its range, `None` when the runtime wrote nothing.
fn write<M: Model, R: Runtime<M>>(rt: &mut R, log: &mut SpanLog, v: &M::Value) -> Option<std::ops::Range<u32>> {
    let from = log.mark();
    if rt.write_json(v, log.text_mut()) {
        Some(log.since(from))
    } else {
        log.text_mut().truncate(from as usize);
        None
    }
}

/// An op failure in words, as the run's error words it (without the op and context around it).
fn describe<M: Model, R: Runtime<M>>(rt: &mut R, failure: &OpFailure<M::Error>) -> String {
    match failure {
        OpFailure::Raised(e) => rt.describe(e),
        OpFailure::BadReturn(message) => message.clone(),
        OpFailure::Panicked(message) => format!("panicked: {message}"),
        OpFailure::Missing(input, _) => format!("missing required input '{input}'"),
        OpFailure::Input(input, e) => format!("evaluating input '{input}' raised {}", rt.describe(e)),
        OpFailure::Until(message, None) => message.clone(),
        OpFailure::Until(message, Some(e)) => format!("{message}: {}", rt.describe(e)),
        OpFailure::TimedOut(seconds) => format!("timed out after {seconds} s"),
        OpFailure::Attempts(n, last) => format!("failed after {n} attempts; the last: {}", describe(rt, last)),
    }
}
