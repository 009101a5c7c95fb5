"""The jobs of :class:`~operonx.executors.ProcessExecutor`'s pool and how their replies reach the
event loop that waits for them: once per loop per batch, by ``call_soon_threadsafe``."""

from __future__ import annotations

import pickle
from collections import deque
from typing import Any, Callable

from operonx.executors._contract import TransferError
from operonx.executors._transfer import END, ERROR, ITEM, REPLY, RESULT, WorkerTraceback, dump_function

__all__ = ["CANCELLED", "DONE", "QUEUED", "RUNNING", "Fn", "Job", "Stream", "Worker", "deliver", "reply_value"]

QUEUED, RUNNING, DONE, CANCELLED = range(4)


class Stream:
    """What a generator job has sent back so far (read on the loop thread)."""

    __slots__ = ("items", "waiter", "done", "error")

    def __init__(self) -> None:
        self.items: deque[Any] = deque()
        self.waiter: Any = None
        self.done = False
        self.error: BaseException | None = None


class Fn:
    """A function the pool has been given: its key and the payload a worker rebuilds it from."""

    __slots__ = ("fn", "key", "payload")

    def __init__(self, fn: Callable[..., Any], key: int) -> None:
        self.fn, self.key, self.payload = fn, key, dump_function(fn)


class Job:
    """One call: its function, pickled inputs, loop, future (or stream), and where it is."""

    __slots__ = ("id", "fn", "args", "loop", "future", "stream", "state", "worker")

    def __init__(self, fn: Fn, args: bytes, loop: Any, stream: Stream | None) -> None:
        self.id = 0
        self.fn, self.args, self.loop, self.stream = fn, args, loop, stream
        self.future = loop.create_future() if stream is None else None
        self.state = QUEUED
        self.worker: Worker | None = None


class Worker:
    """A worker process, its pipe, the functions it was sent, its job."""

    __slots__ = ("proc", "conn", "fns", "job", "ready", "killed")

    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc, self.conn = proc, conn
        self.fns: set[int] = set()
        self.job: Job | None = None
        self.ready = False
        self.killed = False


def reply_value(kind: int, data: bytes) -> Any:
    """The value a reply carries (an exception for an error, with the worker's traceback as cause)."""
    if kind == END:
        return None
    try:
        value = pickle.loads(memoryview(data)[REPLY.size :])
    except Exception as e:
        side = {RESULT: "result", ITEM: "item"}.get(kind, "exception")
        err = TransferError(f"the {side} sent back by the worker process cannot be unpickled here: {e!r}", side)
        err.__cause__ = e
        return err
    if kind == ERROR:
        exc, text = value
        exc.__cause__ = WorkerTraceback(text)
        return exc
    return value


def deliver(out: list[tuple[Job, int, Any]]) -> None:
    """Hands replies to their jobs, one ``call_soon_threadsafe`` per event loop."""
    by_loop: dict[Any, list[tuple[Job, int, Any]]] = {}
    for item in out:
        by_loop.setdefault(item[0].loop, []).append(item)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, items)
        except RuntimeError:  # the loop is closed: nobody waits for these
            pass


def _settle(items: list[tuple[Job, int, Any]]) -> None:
    for job, kind, value in items:
        stream = job.stream
        if stream is None:
            future = job.future
            if not future.done():
                if kind == RESULT:
                    future.set_result(value)
                else:
                    future.set_exception(value)
            continue
        if kind == ITEM:
            stream.items.append(value)
        else:
            stream.done = True
            if kind == ERROR:
                stream.error = value
        waiter = stream.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
