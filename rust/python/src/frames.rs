//! The frame pump: frames of one run in order, the consumer's cursor, and the futures of consumers
//! waiting for the next frame or for one `(op, var)`.

use std::collections::VecDeque;

use operonx::plan::OpId;
use operonx::scheduler::{Path, Segment};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

/// One result of an op bound to a graph output.
pub(crate) struct Frame {
    pub op: OpId,
    pub path: Path,
    pub data: Py<PyDict>,
    /// From a loop iteration that was not the last: it streamed, but is not in the run's result.
    pub superseded: bool,
}

/// Someone awaiting the first frame of `op` with key `var`.
pub(crate) struct ValueWaiter {
    pub op: String,
    pub var: Py<PyString>,
    pub future: Py<PyAny>,
}

/// The frames of a run: kept for `result()` (unless `retain_frames=False`), consumed once by iteration.
pub(crate) struct FrameBuffer {
    frames: VecDeque<Frame>,
    /// Absolute index of `frames[0]`.
    base: usize,
    /// Absolute index of the next frame iteration delivers.
    cursor: usize,
    /// Keep consumed frames (for `result()`).
    pub retain: bool,
    /// Futures of consumers waiting for the next frame. They are only woken: each consumer takes
    /// its frame from the buffer when it resumes, so a consumer cancelled in between takes nothing.
    pub next_waiters: Vec<Py<PyAny>>,
    /// Consumers waiting for one value.
    pub value_waiters: Vec<ValueWaiter>,
    /// Iteration has been exhausted or `collect()` has taken the rest.
    pub drained: bool,
}

impl FrameBuffer {
    /// An empty buffer.
    pub fn new(retain: bool) -> Self {
        FrameBuffer {
            frames: VecDeque::new(),
            base: 0,
            cursor: 0,
            retain,
            next_waiters: Vec::new(),
            value_waiters: Vec::new(),
            drained: false,
        }
    }

    /// Appends a frame.
    #[inline]
    pub fn push(&mut self, frame: Frame) {
        self.frames.push_back(frame);
    }

    /// Registers a consumer's future to be woken by the next frame (or the end of the run), and
    /// forgets waiters whose consumer gave up (their future is done: cancelled).
    pub fn add_next_waiter(&mut self, py: Python<'_>, future: Py<PyAny>) {
        self.next_waiters.retain(|w| !is_done(py, w.bind(py)));
        self.next_waiters.push(future);
    }

    /// Wakes every consumer waiting for the next frame.
    pub fn wake_next(&mut self, py: Python<'_>) -> PyResult<()> {
        for w in std::mem::take(&mut self.next_waiters) {
            resolve(py, w.bind(py), py.None().into_bound(py))?;
        }
        Ok(())
    }

    /// Number of frames emitted so far.
    pub fn total(&self) -> usize {
        self.base + self.frames.len()
    }

    /// Frames not yet delivered to the iterating consumer.
    #[inline]
    pub fn pending(&self) -> usize {
        self.total() - self.cursor
    }

    /// Takes the next undelivered frame (dropping it when frames are not retained).
    pub fn next(&mut self, py: Python<'_>) -> Option<FrameRef> {
        if self.cursor >= self.total() {
            return None;
        }
        let f = if self.retain {
            let f = &self.frames[self.cursor - self.base];
            FrameRef { op: f.op, path: f.path.clone(), data: f.data.clone_ref(py) }
        } else {
            let f = self.frames.pop_front()?;
            self.base += 1;
            FrameRef { op: f.op, path: f.path, data: f.data }
        };
        self.cursor += 1;
        Some(f)
    }

    /// Marks the retained frames from absolute index `since` on whose context is inside `path`
    /// and whose op `member` accepts as superseded (a loop iteration that was not the last).
    pub fn supersede(&mut self, since: usize, path: &Path, member: impl Fn(OpId) -> bool) {
        let from = since.saturating_sub(self.base);
        for f in self.frames.iter_mut().skip(from) {
            if f.path.starts_with(path) && member(f.op) {
                f.superseded = true;
            }
        }
    }

    /// Every retained frame, in order.
    pub fn all(&self) -> impl Iterator<Item = &Frame> {
        self.frames.iter()
    }

    /// The newest retained frame of `op` that has `var`.
    pub fn latest<'py>(
        &self,
        py: Python<'py>,
        op: OpId,
        var: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        for f in self.frames.iter().rev() {
            if f.op == op {
                if let Some(v) = f.data.bind(py).get_item(var)? {
                    return Ok(Some(v));
                }
            }
        }
        Ok(None)
    }
}

/// True when a future is done (resolved, failed or cancelled); a future that cannot say counts as done.
pub(crate) fn is_done(py: Python<'_>, future: &Bound<'_, PyAny>) -> bool {
    future.call_method0(pyo3::intern!(py, "done")).and_then(|d| d.is_truthy()).unwrap_or(true)
}

/// Sets a future's result unless it is already done (its waiter may have been cancelled).
pub(crate) fn resolve(py: Python<'_>, future: &Bound<'_, PyAny>, value: Bound<'_, PyAny>) -> PyResult<()> {
    if !is_done(py, future) {
        future.call_method1(pyo3::intern!(py, "set_result"), (value,))?;
    }
    Ok(())
}

/// A frame on its way out.
pub(crate) struct FrameRef {
    pub op: OpId,
    pub path: Path,
    pub data: Py<PyDict>,
}

/// Builds the `("main", "[0]", ...)` tuple of a path.
pub(crate) fn path_tuple<'py>(py: Python<'py>, path: &Path, root: &Py<PyTuple>) -> PyResult<Bound<'py, PyTuple>> {
    if path.len() == 1 {
        return Ok(root.bind(py).clone());
    }
    let mut parts: Vec<Bound<'py, PyAny>> = Vec::with_capacity(path.len());
    let mut buf = String::with_capacity(12);
    for s in path {
        parts.push(match s {
            Segment::Root => pyo3::intern!(py, "main").clone().into_any(),
            Segment::Collect => pyo3::intern!(py, "__collect__").clone().into_any(),
            Segment::Item(i) => {
                use std::fmt::Write;
                buf.clear();
                let _ = write!(buf, "[{i}]");
                PyString::new(py, &buf).into_any()
            }
            Segment::Loop(n) => {
                use std::fmt::Write;
                buf.clear();
                let _ = write!(buf, "loop_{n}");
                PyString::new(py, &buf).into_any()
            }
        });
    }
    PyTuple::new(py, parts)
}
