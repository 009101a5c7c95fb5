//! Frames of a run of the Rust driver: emitted in order, superseded when they belong to a loop
//! iteration that was not the last, and grouped into the run's outputs.

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use crate::ops::Outputs;
use crate::plan::{Forward, LoopPlan, OpId, Plan};
use crate::scheduler::CtxId;

/// One result of an op bound to a graph output.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The op's short name.
    pub op: String,
    /// The context path, starting with `"main"`.
    pub context: Vec<String>,
    /// The forwarded outputs under their graph-output names.
    pub data: Map<String, Value>,
}

/// The frames of a run, with which ones belong to loop iterations that were not the last.
#[derive(Default)]
pub(crate) struct FrameLog {
    frames: Vec<Frame>,
    ops: Vec<OpId>,
    superseded: Vec<bool>,
    /// Per open loop iteration: the index of its first frame.
    starts: FxHashMap<CtxId, usize>,
}

impl FrameLog {
    pub(crate) fn emit(&mut self, plan: &Plan, op: OpId, context: &dyn Fn() -> Vec<String>, outputs: &Outputs) {
        let p = &plan.ops[op as usize];
        if !p.forward.emits() {
            return;
        }
        let data = forwarded(plan, &p.forward, outputs);
        self.frames.push(Frame { op: p.name.clone(), context: context(), data });
        self.ops.push(op);
        self.superseded.push(false);
    }

    /// Marks the frames of an iteration that was not the last: they streamed, but the run's
    /// outputs are the last iteration's.
    pub(crate) fn supersede(&mut self, lp: &LoopPlan, exit: OpId, since: usize) {
        for i in since..self.frames.len() {
            if self.ops[i] == exit || lp.body.contains(&self.ops[i]) {
                self.superseded[i] = true;
            }
        }
    }

    /// Notes where iteration `ctx`'s frames start.
    pub(crate) fn open_iteration(&mut self, ctx: CtxId) {
        self.starts.insert(ctx, self.frames.len());
    }

    /// The index of iteration `ctx`'s first frame, forgetting it.
    pub(crate) fn close_iteration(&mut self, ctx: CtxId) -> usize {
        self.starts.remove(&ctx).unwrap_or(0)
    }

    /// The frames that make the run's outputs: every one but those of superseded iterations.
    pub(crate) fn kept(&self) -> Vec<Frame> {
        self.frames.iter().zip(&self.superseded).filter(|(_, s)| !**s).map(|(f, _)| f.clone()).collect()
    }

    /// Every frame, in order.
    pub(crate) fn into_frames(self) -> Vec<Frame> {
        self.frames
    }
}

/// The outputs a forwarding spec passes on, under their graph-output names.
pub(crate) fn forwarded(plan: &Plan, forward: &Forward, outputs: &Outputs) -> Map<String, Value> {
    match forward {
        Forward::Nothing => Map::new(),
        Forward::All => {
            outputs.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        Forward::Mapped(pairs) => pairs
            .iter()
            .filter_map(|&(from, to)| Some((plan.var(to).to_string(), outputs.get(plan.var(from))?.clone())))
            .collect(),
    }
}

/// Groups frames by key in frame order: a key seen once keeps its value, a key seen more often a list.
pub fn group_frames(frames: &[Frame]) -> Map<String, Value> {
    let mut grouped: Map<String, Value> = Map::new();
    let mut counts: FxHashMap<String, usize> = FxHashMap::default();
    for frame in frames {
        for (k, v) in &frame.data {
            let n = counts.entry(k.clone()).or_insert(0);
            *n += 1;
            match (*n, grouped.get_mut(k)) {
                (1, _) => {
                    grouped.insert(k.clone(), v.clone());
                }
                (2, Some(first)) => *first = Value::Array(vec![first.take(), v.clone()]),
                (_, Some(Value::Array(list))) => list.push(v.clone()),
                _ => {}
            }
        }
    }
    grouped
}
