//! The context arena: where each op instance runs. The root context is `("main",)`; each item a
//! generator yields opens a child context (`"[i]"`), and a collected consumer runs in a child
//! `"__collect__"` context; each iteration of a loop opens one (`"loop_n"`). A context is freed as soon as no work is left in it, so a stream of any
//! length runs in memory bounded by what is in flight.

use smallvec::SmallVec;

use crate::plan::OpId;

/// Dense id of a context (reused after it is freed).
#[doc = include_str!("../../doc/scheduler/contexts/CtxId.md")]
pub type CtxId = u32;

/// The root context of a run.
#[doc = include_str!("../../doc/scheduler/contexts/ROOT.md")]
pub const ROOT: CtxId = 0;

/// The last segment of a context path.
#[doc = include_str!("../../doc/scheduler/contexts/Segment.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The root, `"main"`.
    Root,
    /// Item `i` of a generator's stream, `"[i]"`.
    Item(u32),
    /// A collected consumer, `"__collect__"`.
    Collect,
    /// Iteration `n` of a loop, `"loop_n"`.
    Loop(u32),
}

/// A rendered context path, cheap to keep after the context itself is freed.
#[doc = include_str!("../../doc/scheduler/contexts/Path.md")]
pub type Path = SmallVec<[Segment; 4]>;

#[derive(Debug, Clone)]
struct Context {
    parent: CtxId,
    segment: Segment,
    depth: u16,
    origin: OpId,
    live: u32,
}

/// Every context of a run.
#[doc = include_str!("../../doc/scheduler/contexts/Contexts.md")]
#[derive(Debug, Clone)]
pub struct Contexts {
    arena: Vec<Context>,
    free: Vec<CtxId>,
    freed: Vec<CtxId>,
    settled: Vec<CtxId>,
}

impl Default for Contexts {
    fn default() -> Self {
        let mut contexts = Contexts::empty();
        contexts.reset();
        contexts
    }
}

impl Contexts {
    /// No context at all (not even the root), allocating nothing; [`Contexts::reset`] makes it usable.
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.empty.md")]
    pub fn empty() -> Self {
        Contexts { arena: Vec::new(), free: Vec::new(), freed: Vec::new(), settled: Vec::new() }
    }

    /// Back to the root context alone, keeping the buffers.
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.reset.md")]
    pub fn reset(&mut self) {
        self.arena.clear();
        self.arena.push(Context { parent: ROOT, segment: Segment::Root, depth: 0, origin: OpId::MAX, live: 1 });
        self.free.clear();
        self.freed.clear();
        self.settled.clear();
    }

    /// Opens a child of `parent` made by `origin` (the generator, or the collected op).
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.open.md")]
    pub fn open(&mut self, parent: CtxId, segment: Segment, origin: OpId) -> CtxId {
        let depth = self.arena[parent as usize].depth + 1;
        self.arena[parent as usize].live += 1;
        let ctx = Context { parent, segment, depth, origin, live: 0 };
        match self.free.pop() {
            Some(id) => {
                self.arena[id as usize] = ctx;
                id
            }
            None => {
                self.arena.push(ctx);
                (self.arena.len() - 1) as CtxId
            }
        }
    }

    /// Counts one more piece of work (an op instance, a child) in `ctx`.
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.hold.md")]
    #[inline]
    pub fn hold(&mut self, ctx: CtxId) {
        self.arena[ctx as usize].live += 1;
    }

    /// Counts one piece of work of `ctx` as done; frees the context (and then its ancestors) when
    /// nothing is left in it. A loop iteration keeps one hold of its loop's: when only that one is
    /// left, the iteration has settled and is listed for [`Contexts::pop_settled`].
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.release.md")]
    pub fn release(&mut self, mut ctx: CtxId) {
        loop {
            let c = &mut self.arena[ctx as usize];
            c.live -= 1;
            if c.live == 1 && matches!(c.segment, Segment::Loop(_)) {
                self.settled.push(ctx);
                return;
            }
            if c.live > 0 || ctx == ROOT {
                return;
            }
            let parent = c.parent;
            self.free.push(ctx);
            self.freed.push(ctx);
            ctx = parent;
        }
    }

    /// A loop iteration that settled (only its loop's hold is left), once.
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.pop_settled.md")]
    #[inline]
    pub fn pop_settled(&mut self) -> Option<CtxId> {
        self.settled.pop()
    }

    /// The last segment of a context's path.
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.segment.md")]
    #[inline]
    pub fn segment(&self, ctx: CtxId) -> Segment {
        self.arena[ctx as usize].segment
    }

    /// True when contexts were freed since the last [`Contexts::drain_freed`].
    #[inline]
    pub(crate) fn has_freed(&self) -> bool {
        !self.freed.is_empty()
    }

    /// Contexts freed since the last call (their values can be dropped).
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.drain_freed.md")]
    pub fn drain_freed(&mut self) -> std::vec::Drain<'_, CtxId> {
        self.freed.drain(..)
    }

    /// The depth of a context (the root is 0).
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.depth.md")]
    #[inline]
    pub fn depth(&self, ctx: CtxId) -> u16 {
        self.arena[ctx as usize].depth
    }

    /// The parent of a context (the root is its own parent).
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.parent.md")]
    #[inline]
    pub fn parent(&self, ctx: CtxId) -> CtxId {
        self.arena[ctx as usize].parent
    }

    /// The op that opened a context.
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.origin.md")]
    #[inline]
    pub fn origin(&self, ctx: CtxId) -> OpId {
        self.arena[ctx as usize].origin
    }

    /// The ancestor of `ctx` (or `ctx` itself) at `depth`; `None` when `ctx` is shallower.
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.ancestor.md")]
    #[inline]
    pub fn ancestor(&self, mut ctx: CtxId, depth: u16) -> Option<CtxId> {
        let mut d = self.depth(ctx);
        if d < depth {
            return None;
        }
        while d > depth {
            ctx = self.parent(ctx);
            d -= 1;
        }
        Some(ctx)
    }

    /// The path from the root to `ctx`.
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.path.md")]
    pub fn path(&self, mut ctx: CtxId) -> Path {
        if ctx == ROOT {
            // the usual frame's: one segment, no walk and no reversal
            return SmallVec::from_elem(self.arena[ROOT as usize].segment, 1);
        }
        let mut path = Path::new();
        loop {
            let c = &self.arena[ctx as usize];
            path.push(c.segment);
            if ctx == ROOT {
                break;
            }
            ctx = c.parent;
        }
        path.reverse();
        path
    }

    /// Number of contexts alive (the root included).
    #[doc = include_str!("../../doc/scheduler/contexts/Contexts.alive.md")]
    pub fn alive(&self) -> usize {
        self.arena.len() - self.free.len()
    }
}

/// Renders a path the way frames show it: `["main", "[0]", "__collect__"]`.
#[doc = include_str!("../../doc/scheduler/contexts/render.md")]
pub fn render(path: &[Segment]) -> Vec<String> {
    path.iter()
        .map(|s| match s {
            Segment::Root => crate::scheduler::ROOT_CONTEXT.to_string(),
            Segment::Item(i) => format!("[{i}]"),
            Segment::Collect => "__collect__".to_string(),
            Segment::Loop(n) => format!("loop_{n}"),
        })
        .collect()
}
