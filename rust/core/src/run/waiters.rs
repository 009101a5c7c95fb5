//! Consumers waiting on a run: for the next frame, for the first value of `(op, var)`, for the
//! end. Generic over a driver's waker (an asyncio future, a task waker).

/// A consumer waiting for the first frame of op `op` that has key `var`.
#[doc = include_str!("../../doc/run/waiters/ValueWaiter.md")]
#[derive(Debug)]
pub struct ValueWaiter<W> {
    /// The op's short name.
    pub op: String,
    /// The key awaited.
    pub var: String,
    /// Who to wake.
    pub waker: W,
}

/// Every consumer waiting on a run.
#[doc = include_str!("../../doc/run/waiters/Waiters.md")]
#[derive(Debug)]
pub struct Waiters<W> {
    next: Vec<W>,
    values: Vec<ValueWaiter<W>>,
    done: Vec<W>,
}

impl<W> Default for Waiters<W> {
    fn default() -> Self {
        Waiters { next: Vec::new(), values: Vec::new(), done: Vec::new() }
    }
}

impl<W> Waiters<W> {
    /// Adds a consumer waiting for the next frame (or the end), forgetting those `gone` says gave up.
    #[doc = include_str!("../../doc/run/waiters/Waiters.add_next.md")]
    pub fn add_next(&mut self, waker: W, gone: impl FnMut(&W) -> bool) {
        forget(&mut self.next, gone);
        self.next.push(waker);
    }

    /// Adds a consumer waiting for a value, forgetting those `gone` says gave up.
    #[doc = include_str!("../../doc/run/waiters/Waiters.add_value.md")]
    pub fn add_value(&mut self, op: &str, var: &str, waker: W, mut gone: impl FnMut(&W) -> bool) {
        self.values.retain(|w| !gone(&w.waker));
        self.values.push(ValueWaiter { op: op.to_string(), var: var.to_string(), waker });
    }

    /// Adds a consumer waiting for the end, forgetting those `gone` says gave up.
    #[doc = include_str!("../../doc/run/waiters/Waiters.add_done.md")]
    pub fn add_done(&mut self, waker: W, gone: impl FnMut(&W) -> bool) {
        forget(&mut self.done, gone);
        self.done.push(waker);
    }

    /// True when someone waits for the next frame.
    #[doc = include_str!("../../doc/run/waiters/Waiters.wants_next.md")]
    #[inline]
    pub fn wants_next(&self) -> bool {
        !self.next.is_empty()
    }

    /// True when nobody waits (a run's waiters left as they are need no reset).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.next.is_empty() && self.values.is_empty() && self.done.is_empty()
    }

    /// True when someone waits for a value.
    #[doc = include_str!("../../doc/run/waiters/Waiters.wants_values.md")]
    #[inline]
    pub fn wants_values(&self) -> bool {
        !self.values.is_empty()
    }

    /// Takes every consumer waiting for the next frame.
    #[doc = include_str!("../../doc/run/waiters/Waiters.take_next.md")]
    pub fn take_next(&mut self) -> Vec<W> {
        std::mem::take(&mut self.next)
    }

    /// Takes the value waiters of op `op` (give back those a frame did not satisfy with
    /// [`Waiters::put_back`]).
    #[doc = include_str!("../../doc/run/waiters/Waiters.take_values_of.md")]
    pub fn take_values_of(&mut self, op: &str) -> Vec<ValueWaiter<W>> {
        let mut taken = Vec::new();
        let mut i = 0;
        while i < self.values.len() {
            if self.values[i].op == op {
                taken.push(self.values.swap_remove(i));
            } else {
                i += 1;
            }
        }
        taken
    }

    /// Gives back a value waiter taken by [`Waiters::take_values_of`].
    #[doc = include_str!("../../doc/run/waiters/Waiters.put_back.md")]
    pub fn put_back(&mut self, w: ValueWaiter<W>) {
        self.values.push(w);
    }

    /// Takes every waiter (the run is over): next-frame, value and done waiters.
    #[doc = include_str!("../../doc/run/waiters/Waiters.take_all.md")]
    pub fn take_all(&mut self) -> Vec<W> {
        let mut all = std::mem::take(&mut self.next);
        all.extend(self.values.drain(..).map(|w| w.waker));
        all.append(&mut self.done);
        all
    }
}

fn forget<W>(list: &mut Vec<W>, mut gone: impl FnMut(&W) -> bool) {
    list.retain(|w| !gone(w));
}
