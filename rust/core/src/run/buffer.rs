//! The frames of a run in order, the consumer's cursor, and which frames are kept.

use std::collections::VecDeque;

use crate::plan::OpId;
use crate::scheduler::Path;

/// Unconsumed frames above which generators stop being pulled when frames are not retained.
#[doc = include_str!("../../doc/run/buffer/HIGH_WATER.md")]
pub const HIGH_WATER: usize = 1024;
/// Unconsumed frames below which paused generators resume.
#[doc = include_str!("../../doc/run/buffer/LOW_WATER.md")]
pub const LOW_WATER: usize = 256;

/// One result of an op bound to a graph output.
#[doc = include_str!("../../doc/run/buffer/Frame.md")]
#[derive(Debug, Clone)]
pub struct Frame<V> {
    /// The op that produced it.
    pub op: OpId,
    /// The context it ran in.
    pub path: Path,
    /// Its forwarded outputs, under their graph-output names.
    pub data: V,
    /// From a loop iteration that was not the last: it streamed, but is not in the run's result.
    pub superseded: bool,
}

/// The frames of a run: kept for the result (unless frames are not retained), consumed once by
/// iteration.
#[doc = include_str!("../../doc/run/buffer/FrameBuffer.md")]
#[derive(Debug)]
pub struct FrameBuffer<V> {
    frames: VecDeque<Frame<V>>,
    /// Absolute index of `frames[0]`.
    base: usize,
    /// Absolute index of the next frame iteration delivers.
    cursor: usize,
    retain: bool,
    drained: bool,
}

impl<V> FrameBuffer<V> {
    /// An empty buffer; with `retain`, consumed frames are kept for the result.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.new.md")]
    pub fn new(retain: bool) -> Self {
        FrameBuffer { frames: VecDeque::new(), base: 0, cursor: 0, retain, drained: false }
    }

    /// Drops every frame and starts over, keeping the buffer.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.reset.md")]
    pub fn reset(&mut self, retain: bool) {
        self.frames.clear();
        self.base = 0;
        self.cursor = 0;
        self.retain = retain;
        self.drained = false;
    }

    /// True when consumed frames are kept.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.retains.md")]
    pub fn retains(&self) -> bool {
        self.retain
    }

    /// Appends a frame.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.push.md")]
    #[inline]
    pub fn push(&mut self, frame: Frame<V>) {
        self.frames.push_back(frame);
    }

    /// Number of frames emitted so far.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.total.md")]
    pub fn total(&self) -> usize {
        self.base + self.frames.len()
    }

    /// Frames not yet delivered to the iterating consumer.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.pending.md")]
    #[inline]
    pub fn pending(&self) -> usize {
        self.total() - self.cursor
    }

    /// True when unconsumed frames pile up past [`HIGH_WATER`] and are not retained anyway:
    /// generators pause until the consumer catches up.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.is_full.md")]
    pub fn is_full(&self) -> bool {
        !self.retain && self.pending() >= HIGH_WATER
    }

    /// True when iteration has ended (exhausted, or `collect()` took the rest).
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.is_drained.md")]
    pub fn is_drained(&self) -> bool {
        self.drained
    }

    /// Marks iteration as ended.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.drain.md")]
    pub fn drain(&mut self) {
        self.drained = true;
    }

    /// Takes the next undelivered frame: a copy (made by `copy`) when frames are retained, else
    /// the frame itself.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.next.md")]
    pub fn next(&mut self, copy: impl FnOnce(&V) -> V) -> Option<Frame<V>> {
        if self.cursor >= self.total() {
            return None;
        }
        let f = if self.retain {
            let f = &self.frames[self.cursor - self.base];
            Frame { op: f.op, path: f.path.clone(), data: copy(&f.data), superseded: f.superseded }
        } else {
            self.base += 1;
            self.frames.pop_front()?
        };
        self.cursor += 1;
        Some(f)
    }

    /// Marks the retained frames from absolute index `since` on whose context is inside `path`
    /// and whose op `member` accepts as superseded (a loop iteration that was not the last).
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.supersede.md")]
    pub fn supersede(&mut self, since: usize, path: &Path, member: impl Fn(OpId) -> bool) {
        let from = since.saturating_sub(self.base);
        for f in self.frames.iter_mut().skip(from) {
            if f.path.starts_with(path) && member(f.op) {
                f.superseded = true;
            }
        }
    }

    /// Every retained frame, in order.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.all.md")]
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &Frame<V>> {
        self.frames.iter()
    }

    /// Every retained frame that is part of the run's result (not superseded), in order.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.kept.md")]
    pub fn kept(&self) -> impl Iterator<Item = &Frame<V>> {
        self.frames.iter().filter(|f| !f.superseded)
    }

    /// [`FrameBuffer::kept`], to move data out of frames of a run that is over.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.kept_mut.md")]
    pub fn kept_mut(&mut self) -> impl Iterator<Item = &mut Frame<V>> {
        self.frames.iter_mut().filter(|f| !f.superseded)
    }

    /// The newest retained frame of `op` for which `pick` finds something.
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.latest.md")]
    pub fn latest<T, E>(&self, op: OpId, mut pick: impl FnMut(&V) -> Result<Option<T>, E>) -> Result<Option<T>, E> {
        for f in self.frames.iter().rev() {
            if f.op == op {
                if let Some(v) = pick(&f.data)? {
                    return Ok(Some(v));
                }
            }
        }
        Ok(None)
    }

    /// Takes every frame out (the end of a run of the Rust driver).
    #[doc = include_str!("../../doc/run/buffer/FrameBuffer.into_frames.md")]
    pub fn into_frames(self) -> VecDeque<Frame<V>> {
        self.frames
    }
}
