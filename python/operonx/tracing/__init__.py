"""Tracing: one trace per run, with a span per op execution, recorded in Rust.

::

    from operonx.tracing import LocalTracer

    engine = Operon(g, tracer=LocalTracer(path="./traces", tags=["dev"]))
    await engine.run({"x": 1}, request_id="r1")        # writes ./traces/r1.json
    await engine.run({"x": 2}, tracer=other_tracer)    # this run goes to other_tracer instead

The engine records each op execution (its inputs, outputs, times, error, stream context) in Rust
while the run goes; a run with no tracer records nothing. When the run is over its trace is built on
the engine's tracing thread, off the event loop: a :class:`LocalTracer` writes it there as
``{request_id}.json`` without touching Python; any other :class:`Tracer` receives the trace dicts in
batches on a thread of its own (:meth:`Tracer.flush`). :func:`flush` waits for the traces of the
runs that ended (for a script about to exit, or a test).

The trace dict (and file) is 0.7.1's: ``request_id``, ``user_id``, ``session_id``,
``workflow_name``, ``tags``, ``nodes`` (a root node for the run, a node per op execution, per nested
graph and per stream item, parents first) and ``summary``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Iterable, Protocol, runtime_checkable

from operonx._core import LocalTracer as _FileSink
from operonx._core import SpanNote
from operonx._core import TraceQueue as _TraceQueue
from operonx._core import flush_traces as _flush_traces

__all__ = ["Tracer", "TraceSink", "LocalTracer", "SpanNote", "SPAN_KEY", "flush", "sinks_of"]

#: An op gives its span attributes by returning them (a dict of names to JSON values) under this key of its
#: outputs; a generator op yields a :class:`SpanNote` instead. The trace shows them in the span's
#: ``metadata["attributes"]`` (never as an output), and :class:`~operonx.tracing.otel.OpenTelemetryTracer` sets
#: them as the span's attributes.
SPAN_KEY = "$span"

LOGGER = logging.getLogger("operonx.tracing")

#: How many traces a tracer's thread takes from its queue at once.
BATCH = 256


@runtime_checkable
class TraceSink(Protocol):
    """What an engine accepts as a tracer: an object giving the engine-side sinks of its traces."""

    def trace_sinks(self) -> tuple[Any, ...]:
        """The ``operonx._core`` sinks (``LocalTracer``, ``TraceQueue``) the engine feeds."""
        ...


class Tracer:
    """Base class of tracers written in Python (0.7.1's ``Tracer``): override :meth:`flush`.

    ``flush(trace)`` is called with each traced run's trace dict, on the tracer's own thread (never
    the event loop's), in the order the runs ended; an exception it raises is logged and the next
    trace is still delivered. Override :meth:`flush_batch` to take the traces of several runs at
    once. ``tags`` are added to every trace (before the run's own ``"$tags"``);
    ``stream_trace_limit`` keeps the op executions of the first N items of each stream (``None``:
    all). ``capture()`` runs on the loop thread as each run starts; what it returns (JSON-like)
    comes back in the trace dict under ``"$parent"``.
    """

    def __init__(
        self, tags: Iterable[str] | None = None, stream_trace_limit: int | None = 100, trace_filter: Any = None
    ) -> None:
        self._tags = [str(t) for t in tags or ()]
        self._stream_trace_limit = stream_trace_limit
        self._trace_filter = trace_filter
        self._queue: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def tags(self) -> list[str]:
        """The tags added to every trace."""
        return list(self._tags)

    @property
    def trace_filter(self) -> Any:
        """The filter given at construction (kept for 0.7.1 compatibility; not applied)."""
        return self._trace_filter

    def to_config_dict(self) -> dict[str, Any] | None:
        """0.7.1's hook for tools that export an engine's setup; ``None``."""
        return None

    def capture(self) -> Any:
        """Called on the loop thread as a traced run starts; the default captures nothing."""
        return None

    def flush(self, trace_data: dict[str, Any]) -> None:
        """Receives one run's trace dict (on the tracer's thread)."""
        raise NotImplementedError(f"{type(self).__name__} must implement flush(trace_data)")

    def flush_batch(self, traces: list[dict[str, Any]]) -> None:
        """Receives the traces of several runs; the default calls :meth:`flush` on each."""
        for trace in traces:
            try:
                self.flush(trace)
            except Exception:
                LOGGER.exception("tracer %r failed to flush the trace of request %s", self, trace.get("request_id"))

    def trace_sinks(self) -> tuple[Any, ...]:
        """The engine-side queue this tracer's thread reads (made, and the thread started, once)."""
        with self._lock:
            if self._queue is None:
                capture = None if type(self).capture is Tracer.capture else self.capture
                self._queue = _TraceQueue(self._tags, self._stream_trace_limit, capture)
                self._thread = threading.Thread(
                    target=_drain, args=(weakref.ref(self), self._queue), name=f"operonx-{type(self).__name__}",
                    daemon=True,
                )
                self._thread.start()
                _LIVE.add(self)
        return (self._queue,)

    def force_flush(self, timeout: float = 10.0) -> bool:
        """Waits until every trace of the runs that ended has been handed to :meth:`flush_batch`
        and returned from it, at most ``timeout`` seconds; false when the time ran out."""
        deadline = time.monotonic() + timeout
        if not _flush_traces(timeout):
            return False
        queue = self._queue
        while queue is not None and queue.pending():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
        return True

    def shutdown(self, timeout: float = 10.0) -> None:
        """Delivers what is pending, then stops the tracer's thread."""
        self.force_flush(timeout)
        queue, thread = self._queue, self._thread
        if queue is not None:
            queue.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def _drain(owner: "weakref.ref[Tracer]", queue: Any) -> None:
    """A Python tracer's thread: takes traces in batches and hands them to the tracer."""
    while True:
        batch = queue.take(BATCH, 0.1)
        if batch is None:
            return
        if not batch:
            continue
        tracer = owner()
        try:
            if tracer is not None:
                tracer.flush_batch(batch)
        except Exception:
            LOGGER.exception("tracer %r failed to flush %d traces", tracer, len(batch))
        finally:
            queue.done(len(batch))
            del tracer


class LocalTracer:
    """Writes each run's trace to ``{path}/{request_id}.json`` (pretty-printed JSON), in Rust, off the
    event loop; the file appears at once, whole (written to a temporary file, then renamed).

    ``path`` defaults to ``$OPERON_TRACES_DIR``, else ``~/.operonx/traces``; ``tags`` are added to
    every trace. Every item of every stream is traced.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, tags: Iterable[str] | None = None) -> None:
        chosen = path if path is not None else os.environ.get("OPERON_TRACES_DIR", "~/.operonx/traces")
        self._path = Path(chosen).expanduser()
        self._tags = [str(t) for t in tags or ()]
        self._sink = _FileSink(str(self._path), self._tags)
        _LOCAL.add(self)

    @property
    def path(self) -> Path:
        """The directory traces are written to."""
        return self._path

    @property
    def tags(self) -> list[str]:
        """The tags added to every trace."""
        return list(self._tags)

    def trace_sinks(self) -> tuple[Any, ...]:
        """The Rust file writer the engine feeds."""
        return (self._sink,)

    def force_flush(self, timeout: float = 10.0) -> bool:
        """Waits until the traces of the runs that ended are written, at most ``timeout`` seconds;
        a write that failed is logged (``operonx.tracing``). False when the time ran out."""
        done = _flush_traces(timeout)
        for failure in self._sink.take_failures():
            LOGGER.error("%s", failure)
        return done

    def __repr__(self) -> str:
        return f"<LocalTracer path={self._path}>"


_LIVE: "weakref.WeakSet[Tracer]" = weakref.WeakSet()
_LOCAL: "weakref.WeakSet[LocalTracer]" = weakref.WeakSet()
_USED = [False]  # set once an engine is given a tracer: only then is there anything to deliver at exit


def flush(timeout: float = 10.0) -> bool:
    """Waits until the traces of every run that ended have reached their tracers (files written,
    Python tracers' :meth:`~Tracer.flush_batch` returned), at most ``timeout`` seconds; false when
    the time ran out."""
    deadline = time.monotonic() + timeout
    done = True
    tracers: list[LocalTracer | Tracer] = [*_LOCAL, *_LIVE]
    for tracer in tracers:
        done = tracer.force_flush(max(0.0, deadline - time.monotonic())) and done
    return _flush_traces(max(0.0, deadline - time.monotonic())) and done


def sinks_of(tracer: Any) -> list[Any]:
    """The engine-side sinks of ``tracer``: a tracer, or a list of tracers (0.7.1 accepts both)."""
    tracers = tracer if isinstance(tracer, (list, tuple)) else (tracer,)
    _USED[0] = True
    out: list[Any] = []
    for t in tracers:
        get = getattr(t, "trace_sinks", None)
        if get is None:
            raise TypeError(
                f"tracer= takes an operonx.tracing tracer (LocalTracer, OpenTelemetryTracer, a Tracer subclass) "
                f"or a list of them, not {type(t).__name__}"
            )
        out.extend(get())
    return out


@atexit.register
def _deliver_at_exit() -> None:
    """Before the interpreter finalizes: pending traces are delivered and the tracers' threads
    stopped, so none of them runs Python code while the interpreter shuts down."""
    if not _USED[0]:
        return
    try:
        flush(5.0)
    finally:
        for tracer in list(_LIVE):
            tracer.shutdown(1.0)
