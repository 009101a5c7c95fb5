//! Where a run keeps the values its ops produced: per op and context, freed with their context.

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::plan::OpId;
use crate::scheduler::{CtxId, ROOT};

/// The outputs of the op instances of one context (usually one or two).
type CtxValues<V> = SmallVec<[(OpId, V); 2]>;

/// The outputs of every op instance of a run that are still reachable.
#[doc = include_str!("../../doc/run/values/Values.md")]
#[derive(Debug)]
pub struct Values<V> {
    root: Vec<Option<V>>,
    nested: FxHashMap<CtxId, CtxValues<V>>,
    /// The last outputs of each op (what a run's state shows for ops that ran per item).
    last: Vec<Option<V>>,
    /// Items kept for the collected consumers of a generator, by `(generator, its context)`.
    collected: FxHashMap<(OpId, CtxId), Vec<V>>,
    /// When the outputs of ops that feed a nested graph's end arrived (later forwards win).
    arrivals: FxHashMap<(OpId, CtxId), u64>,
    clock: u64,
}

impl<V> Values<V> {
    /// Storage for `n` ops.
    #[doc = include_str!("../../doc/run/values/Values.new.md")]
    pub fn new(n: usize) -> Self {
        let mut values = Values {
            root: Vec::new(),
            nested: FxHashMap::default(),
            last: Vec::new(),
            collected: FxHashMap::default(),
            arrivals: FxHashMap::default(),
            clock: 0,
        };
        values.reset(n);
        values
    }

    /// Drops every value and makes room for `n` ops, keeping the buffers.
    #[doc = include_str!("../../doc/run/values/Values.reset.md")]
    pub fn reset(&mut self, n: usize) {
        self.root.clear();
        self.root.resize_with(n, || None);
        self.nested.clear();
        self.last.clear();
        self.last.resize_with(n, || None);
        self.collected.clear();
        self.arrivals.clear();
        self.clock = 0;
    }

    /// Notes that `op`'s outputs in `ctx` arrived now.
    #[doc = include_str!("../../doc/run/values/Values.stamp.md")]
    pub fn stamp(&mut self, op: OpId, ctx: CtxId) {
        self.clock += 1;
        self.arrivals.insert((op, ctx), self.clock);
    }

    /// When `op`'s outputs in `ctx` arrived (0 when never stamped).
    #[doc = include_str!("../../doc/run/values/Values.arrival.md")]
    pub fn arrival(&self, op: OpId, ctx: CtxId) -> u64 {
        self.arrivals.get(&(op, ctx)).copied().unwrap_or(0)
    }

    /// The outputs of `op` in `ctx`.
    #[doc = include_str!("../../doc/run/values/Values.get.md")]
    #[inline]
    pub fn get(&self, op: OpId, ctx: CtxId) -> Option<&V> {
        if ctx == ROOT {
            self.root[op as usize].as_ref()
        } else {
            self.nested.get(&ctx)?.iter().find(|(o, _)| *o == op).map(|(_, v)| v)
        }
    }

    /// Stores the outputs of `op` in `ctx`; `last` (another reference to them) is what the run's
    /// state shows as the op's latest outputs.
    #[doc = include_str!("../../doc/run/values/Values.put.md")]
    pub fn put(&mut self, op: OpId, ctx: CtxId, value: V, last: V) {
        self.last[op as usize] = Some(last);
        if ctx == ROOT {
            self.root[op as usize] = Some(value);
        } else {
            self.nested.entry(ctx).or_default().push((op, value));
        }
    }

    /// Replaces the outputs of `op` in `ctx` (a loop's variables after an iteration).
    #[doc = include_str!("../../doc/run/values/Values.set.md")]
    #[inline(always)]
    pub fn set(&mut self, op: OpId, ctx: CtxId, value: V) {
        if ctx == ROOT {
            self.root[op as usize] = Some(value);
        } else {
            self.set_nested(op, ctx, value);
        }
    }

    #[inline(never)]
    fn set_nested(&mut self, op: OpId, ctx: CtxId, value: V) {
        let slot = self.nested.entry(ctx).or_default();
        match slot.iter_mut().find(|(o, _)| *o == op) {
            Some((_, v)) => *v = value,
            None => slot.push((op, value)),
        }
    }

    /// Drops the outputs of `op` in `ctx` (nothing reads them again).
    #[doc = include_str!("../../doc/run/values/Values.remove.md")]
    #[inline]
    pub fn remove(&mut self, op: OpId, ctx: CtxId) {
        if ctx == ROOT {
            self.root[op as usize] = None;
        } else if let Some(slot) = self.nested.get_mut(&ctx) {
            slot.retain(|(o, _)| *o != op);
        }
    }

    /// Keeps only the last outputs of `op` (an item nothing downstream reads).
    #[doc = include_str!("../../doc/run/values/Values.put_last.md")]
    pub fn put_last(&mut self, op: OpId, value: V) {
        self.last[op as usize] = Some(value);
    }

    /// The last outputs `op` produced in any context.
    #[doc = include_str!("../../doc/run/values/Values.last.md")]
    pub fn last(&self, op: OpId) -> Option<&V> {
        self.last[op as usize].as_ref()
    }

    /// Ops with outputs and their latest outputs.
    #[doc = include_str!("../../doc/run/values/Values.ops_with_values.md")]
    pub fn ops_with_values(&self) -> impl Iterator<Item = (usize, &V)> {
        self.last.iter().enumerate().filter_map(|(i, v)| Some((i, v.as_ref()?)))
    }

    /// Keeps an item of `gen` (running in `ctx`) for its collected consumers.
    #[doc = include_str!("../../doc/run/values/Values.collect.md")]
    pub fn collect(&mut self, gen: OpId, ctx: CtxId, item: V) {
        self.collected.entry((gen, ctx)).or_default().push(item);
    }

    /// The items of `gen` kept in `ctx`.
    #[doc = include_str!("../../doc/run/values/Values.collected.md")]
    pub fn collected(&self, gen: OpId, ctx: CtxId) -> &[V] {
        self.collected.get(&(gen, ctx)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Drops the values of a freed context.
    #[doc = include_str!("../../doc/run/values/Values.free.md")]
    pub fn free(&mut self, ctx: CtxId) {
        self.nested.remove(&ctx);
        if !self.arrivals.is_empty() {
            self.arrivals.retain(|(_, c), _| *c != ctx);
        }
        if !self.collected.is_empty() {
            self.collected.retain(|(_, c), _| *c != ctx);
        }
    }

    /// Drops the values of every context but the root, the collected items and the arrival
    /// stamps (a run that stopped); the root's outputs stay readable.
    #[doc = include_str!("../../doc/run/values/Values.clear_nested.md")]
    pub fn clear_nested(&mut self) {
        self.nested.clear();
        self.collected.clear();
        self.arrivals.clear();
    }
}
