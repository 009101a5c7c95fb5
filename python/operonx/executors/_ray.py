"""The driver side of :mod:`operonx.executors.ray`: remote functions per op function and option set,
and Ray's completion callbacks handed to the event loop in batches."""

from __future__ import annotations

import asyncio
import collections
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from operonx.errors import OperonUsageError
from operonx.executors.ray_tasks import Picks, kind_of, task_body

__all__ = ["SHUT_DOWN", "Completions", "Failed", "Remote", "Waiter"]

SHUT_DOWN = "RayExecutor.shutdown() while the op's Ray task ran"

WINDOW = 32
"""How many of the tasks in flight (the oldest) the waiter passes to one ``ray.wait``."""
SWEEP = 0.05
"""Seconds between two looks at the tasks in flight beyond the ``WINDOW`` oldest."""
BATCH_PART = 4
"""The waiter returns once a quarter of its window has finished (or after ``BATCH_WAIT``)."""
IDLE_WAIT = 0.5
"""Seconds the waiter blocks at most in one ``ray.wait`` when nothing has finished."""
BATCH_WAIT = 0.002
"""Seconds the waiter holds finished tasks back while fewer than ``1 / BATCH_PART`` of its window are done."""

OWN_OPTIONS = ("num_returns",)
"""Task options the executor sets itself: refused in ``@op(ray={...})``."""


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


class Remote:
    """One function's Ray remote functions: one per option set and shape of call (the input names,
    and which of them arrive as ``ObjectRef``), made on first use."""

    __slots__ = ("fn", "kind", "ray", "variants")

    def __init__(self, ray: Any, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.kind = kind_of(fn)
        self.ray = ray
        self.variants: dict[Any, Any] = {}

    def variant(self, options: Mapping[str, Any] | None, streaming: bool, names: tuple[str, ...],
                picks: Picks) -> Any:
        """The remote function to call as ``.remote(*values)`` with the values of ``names``."""
        key = (_freeze(options) if options else (), streaming, names, picks)
        try:
            return self.variants[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable option value: not cached
            return self.make(options, streaming, names, picks)
        variant = self.variants[key] = self.make(options, streaming, names, picks)
        return variant

    def make(self, options: Mapping[str, Any] | None, streaming: bool, names: tuple[str, ...], picks: Picks) -> Any:
        given = dict(options or {})
        own = [k for k in OWN_OPTIONS if k in given]
        if own:
            raise OperonUsageError(f"ray={{...}} of {self.fn.__qualname__}: {own[0]!r} is set by the executor")
        merged = {"max_retries": 0, "name": getattr(self.fn, "__qualname__", "op"), **given}
        if streaming:
            merged["num_returns"] = "streaming"
        remote = self.ray.remote(task_body(self.fn, self.kind, names, picks))
        try:
            return remote.options(**merged)
        except (ValueError, TypeError) as e:
            raise OperonUsageError(f"ray={dict(given)!r} of {self.fn.__qualname__}: {e}") from e


class Failed:
    """A task outcome that is neither a value nor a Ray error: the exception the op raises."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Completions:
    """Ray completion callbacks (on Ray's threads) queued and handed to the loop in batches: the loop
    is woken once per batch, not once per task. Also takes the :class:`Waiter`'s batches."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: collections.deque[tuple[Any, Any]] = collections.deque()
        self.lock = threading.Lock()
        self.scheduled = False

    def push(self, call: Any, result: Any) -> None:
        self.extend(((call, result),))

    def extend(self, outcomes: Iterable[tuple[Any, Any]]) -> None:
        with self.lock:
            self.queue.extend(outcomes)
            if self.scheduled:
                return
            self.scheduled = True
        try:
            self.loop.call_soon_threadsafe(self.drain)
        except RuntimeError:  # the loop is closed: nobody awaits these any more
            with self.lock:
                self.queue.clear()
                self.scheduled = False

    def drain(self) -> None:
        with self.lock:
            batch = list(self.queue)
            self.queue.clear()
            self.scheduled = False
        for call, result in batch:
            try:
                call.settle(result)
            except Exception as e:  # noqa: BLE001 - the awaiting op fails rather than hangs
                if not call.out.done():
                    call.out.set_exception(e)


class Waiter:
    """Waits for the executor's tasks on one thread of its own with ``ray.wait`` over every task in
    flight, fetches the finished ones with one ``ray.get`` per batch, and hands each batch to the
    awaiting loop's :class:`Completions` (one loop wake per batch).

    A task submitted while the thread is blocked in ``ray.wait`` cannot join that wait: it is watched
    by Ray's completion callback instead, so it is never delayed behind the tasks being waited for.
    Tasks submitted by one loop step reach the thread together, after the step (:meth:`watch`), so a
    fan-out is waited for as one set.
    """

    def __init__(self, ray: Any) -> None:
        self.ray = ray
        self.cond = threading.Condition(threading.Lock())
        self.incoming: list[tuple[Any, Any, Completions]] = []
        self.waiting = False
        self.closed = False
        self.flushing: set[asyncio.AbstractEventLoop] = set()
        self.thread: threading.Thread | None = None
        self.next_sweep = 0.0

    def watch(self, ref: Any, call: Any, completions: Completions) -> None:
        """Watch ``ref``; its outcome goes to ``call.settle`` on ``completions``' loop. Loop thread only."""
        with self.cond:
            if not self.waiting and not self.closed:
                self.incoming.append((ref, call, completions))
                loop = completions.loop
                if loop in self.flushing:
                    return
                self.flushing.add(loop)
                loop.call_soon(self.flush, loop)
                return
        ref._on_completed(lambda result: completions.push(call, result))  # noqa: SLF001

    def flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake the thread for what this loop's step submitted."""
        with self.cond:
            self.flushing.discard(loop)
            if self.thread is None and not self.closed:
                self.thread = threading.Thread(target=self.run, name="operonx-ray-waiter", daemon=True)
                self.thread.start()
            self.cond.notify()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread: the tasks it still waits for fail with ``OperonUsageError``. Returns once
        the thread has stopped (or ``timeout`` seconds)."""
        with self.cond:
            self.closed = True
            self.cond.notify()
            thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def run(self) -> None:
        pending: dict[Any, tuple[Any, Completions]] = {}
        while True:
            with self.cond:
                while not self.incoming and not pending and not self.closed:
                    self.cond.wait()
                for ref, call, completions in self.incoming:
                    pending[ref] = (call, completions)
                self.incoming.clear()
                if self.closed:
                    break
                self.waiting = True
            error: Failed | None = None
            try:
                ready = self.ready(pending)
            except Exception as e:  # noqa: BLE001 - Ray stopped under us: every task waited for fails
                ready, error = list(pending), Failed(e)
            finally:
                with self.cond:
                    self.waiting = False
            self.hand_over([(ref, *pending.pop(ref)) for ref in ready], error)
        gone = Failed(OperonUsageError(SHUT_DOWN))
        self.hand_over([(ref, *outcome) for ref, outcome in pending.items()], gone)

    def ready(self, refs: dict[Any, Any]) -> list[Any]:
        """Blocks until some of ``refs`` (in submission order) have finished (at most ``IDLE_WAIT`` seconds); returns those.

        ``ray.wait`` costs about 1.5 µs per task not finished yet, at every call, so only the
        ``WINDOW`` oldest tasks (in submission order, the order a fan-out mostly finishes in) are waited
        for; the others are looked at every ``SWEEP`` seconds, so one finishing early is not held back
        longer than that."""
        wait = self.ray.wait
        window = list(itertools.islice(refs, WINDOW))
        later = len(refs) > WINDOW
        want = max(1, len(window) // BATCH_PART)
        ready, rest = wait(window, num_returns=want, timeout=BATCH_WAIT, fetch_local=True)
        if not ready:  # none finished yet: the first to finish (or a timeout, for the sweep or a shutdown)
            ready, rest = wait(window, num_returns=1, timeout=SWEEP if later else IDLE_WAIT, fetch_local=True)
        if ready and rest:
            more, _ = wait(rest, num_returns=len(rest), timeout=0, fetch_local=True)
            ready.extend(more)
        now = time.monotonic()
        if later and now >= self.next_sweep:
            beyond = list(itertools.islice(refs, WINDOW, None))
            more, _ = wait(beyond, num_returns=len(beyond), timeout=0, fetch_local=True)
            ready.extend(more)
            self.next_sweep = now + SWEEP
        return ready

    def hand_over(self, finished: list[tuple[Any, Any, Completions]], error: Failed | None) -> None:
        """Fetch the finished tasks' values (one ``ray.get`` for the batch, one per task only when some
        failed) and queue them for their loops; with ``error``, that is every task's outcome."""
        refs = [ref for ref, _, _ in finished]
        if error is not None:
            values: list[Any] = [error] * len(refs)
        else:
            try:
                values = self.ray.get(refs)
            except Exception:  # noqa: BLE001 - one of them failed: each fetched on its own
                values = [self.outcome(ref) for ref in refs]
        by_loop: dict[Completions, list[tuple[Any, Any]]] = {}
        for (_, call, completions), value in zip(finished, values, strict=True):
            by_loop.setdefault(completions, []).append((call, value))
        for completions, outcomes in by_loop.items():
            completions.extend(outcomes)

    def outcome(self, ref: Any) -> Any:
        """One task's value, or the ``RayError`` it failed with (what Ray's callback gives), or
        :class:`Failed` for anything else."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as e:
            return e
        except Exception as e:  # noqa: BLE001 - fails the op, not the waiter
            return Failed(e)
