"""The jobs of :class:`~operonx.executors.ProcessExecutor`'s pool and how their replies reach the
event loop that waits for them: once per loop per batch, by ``call_soon_threadsafe``."""

from __future__ import annotations

import pickle
import signal
from collections import deque
from typing import Any, Callable

from operonx.executors._contract import TransferError, WorkerDiedError
from operonx.executors._transfer import END, ERROR, ITEM, REPLY, RESULT, WorkerTraceback, dump_function

__all__ = [
    "CANCELLED", "DONE", "LONG", "QUEUED", "RUNNING", "SENT", "STOLEN", "Fn", "Job", "Stream", "Worker", "deliver",
    "died_error", "how_died", "kill_process", "reply_value",
]

#: what a call of a function not yet timed counts as in a worker's backlog (seconds)
LONG = 1.0

#: where a job is: in the pool's queue, sent to a worker, started there, answered, cancelled, or
#: being taken back from a worker that has not started it, for an idle one
QUEUED, SENT, RUNNING, DONE, CANCELLED, STOLEN = range(6)


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

    __slots__ = ("fn", "key", "payload", "avg")

    def __init__(self, fn: Callable[..., Any], key: int) -> None:
        self.fn, self.key, self.payload = fn, key, dump_function(fn)
        #: how long a call takes, on average (seconds; ``None`` until one has finished)
        self.avg: float | None = None

    def took(self, seconds: float) -> None:
        self.avg = seconds if self.avg is None else 0.8 * self.avg + 0.2 * seconds


class Job:
    """One call: its function, pickled inputs, loop, future (or stream), and where it is."""

    __slots__ = ("id", "fn", "args", "loop", "future", "stream", "state", "worker", "started")

    def __init__(self, fn: Fn, args: bytes, loop: Any, stream: Stream | None) -> None:
        self.id = 0
        self.fn, self.args, self.loop, self.stream = fn, args, loop, stream
        self.future = loop.create_future() if stream is None else None
        self.state = QUEUED
        self.worker: Worker | None = None
        self.started = 0.0


class Worker:
    """A worker process and its pipe, the functions it was sent, the jobs it holds (``inflight``, in
    the order sent: it runs them in that order) and the one it runs. ``ready``: it has started;
    ``gone``: it takes no more jobs (it died or is being killed); ``killed``: by the pool."""

    __slots__ = ("proc", "conn", "fns", "inflight", "running", "ready", "gone", "killed")

    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc, self.conn = proc, conn
        self.fns: set[int] = set()
        self.inflight: deque[Job] = deque()
        self.running: Job | None = None
        self.ready = self.gone = self.killed = False

    def backlog(self) -> float:
        """Seconds of work the worker holds, by its functions' averages (unknown: ``LONG``)."""
        return sum(LONG if j.fn.avg is None else j.fn.avg for j in self.inflight)

    def holds(self, job_id: int) -> Job | None:
        for job in self.inflight:
            if job.id == job_id:
                return job
        return None


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
            if future is not None and not future.done():
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


def how_died(proc: Any) -> str:
    code = proc.exitcode
    if code is None:
        return "its exit status is unknown"
    if code < 0:
        try:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def died_error(proc: Any) -> BaseException:
    return WorkerDiedError(
        f"the worker process (pid {proc.pid}) running this call died: {how_died(proc)}", proc.pid, proc.exitcode
    )


def kill_process(proc: Any) -> None:
    try:
        proc.kill()
    except (OSError, ValueError, AttributeError):
        pass
