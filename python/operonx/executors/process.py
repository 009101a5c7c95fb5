"""The process executor: ``bound="process"`` ops run on a pool of worker processes.

::

    @op(bound="process")
    def crunch(n):
        return {"total": sum(i * i for i in range(n))}

    engine = Operon(g, processes=4)      # the engine's own pool: 4 workers (default: the CPU count)

The pool is made by the engine that needs it and started at its first call (``start()`` starts it
before, e.g. to keep the workers' start-up out of a measurement); ``Operon(g, executors={"process":
ProcessExecutor(...)})`` shares one pool between engines instead. Workers are started with the
``spawn`` method (a fresh interpreter: safe with threads in the caller, the same on every platform),
so a script that runs ops on processes must guard its entry point with ``if __name__ ==
"__main__":``, as any ``spawn`` user must.

Each worker runs one job at a time. Functions and values travel by pickle (an ``@op`` function by
its module and name; closures and lambdas by cloudpickle when it is installed); one that cannot
travel fails its op with :class:`~operonx.executors.TransferError` naming it. A worker that dies
(killed, crashed) fails only the op it was running, with :class:`~operonx.executors.WorkerDiedError`
(``@op(retries=N)`` retries it), and a new worker takes its place. A generator function streams its
items back as it yields them. A cancelled job is dropped if it is still queued; if it is running,
its worker is killed and replaced, so no worker stays busy with a call nobody waits for.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import weakref
from typing import Any, AsyncIterator, Callable, Mapping

from operonx.executors._jobs import Job, Stream
from operonx.executors._pool import Pool
from operonx.executors._transfer import dump_args

__all__ = ["ProcessExecutor"]

_live: "weakref.WeakSet[ProcessExecutor]" = weakref.WeakSet()


class ProcessExecutor:
    """A pool of ``processes`` worker processes (default: ``os.cpu_count()``), an
    :class:`~operonx.executors.Executor` that also streams generators (``submit_stream``)."""

    def __init__(self, processes: int | None = None) -> None:
        if processes is None:
            processes = os.cpu_count() or 1
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ValueError(f"processes must be a whole number >= 1, got {processes!r}")
        self._pool = Pool(processes)
        _live.add(self)

    @property
    def processes(self) -> int:
        """How many worker processes the pool keeps."""
        return self._pool.size

    @property
    def busy(self) -> int:
        """How many workers are running a job now."""
        return self._pool.busy()

    @property
    def queued(self) -> int:
        """How many jobs wait for a worker."""
        return self._pool.queued

    @property
    def pids(self) -> list[int]:
        """The process ids of the live workers (started or starting)."""
        return self._pool.pids()

    def start(self, timeout: float | None = 60) -> None:
        """Starts the workers now, if they are not started, and waits until each is ready to take a job
        (blocking, at most ``timeout`` seconds: ``TimeoutError`` after). The first call starts them
        otherwise."""
        self._pool.start()
        if not self._pool.wait_ready(timeout):
            raise TimeoutError(f"the process pool's {self.processes} workers were not ready after {timeout} s")

    def submit(
        self,
        fn: Callable[..., Any],
        kwargs: dict[str, Any],
        *,
        cancel: Any,
        options: Mapping[str, Any] | None = None,
    ) -> asyncio.Future[Any]:
        """Runs ``fn(**kwargs)`` on a worker; returns a future of its return value on the running loop."""
        job = self._job(fn, kwargs, options, None)
        future = job.future
        assert future is not None  # a job without a stream has one
        self._pool.put(job)
        cancel.add_callback(lambda: self._pool.cancel(job))
        return future

    async def submit_stream(
        self,
        fn: Callable[..., Any],
        kwargs: dict[str, Any],
        *,
        cancel: Any,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Any]:
        """Runs the generator function ``fn(**kwargs)`` on a worker, yielding its items as they come."""
        stream = Stream()
        job = self._job(fn, kwargs, options, stream)
        pool = self._pool
        pool.put(job)
        cancel.add_callback(lambda: pool.cancel(job))
        items = stream.items
        try:
            while True:
                while items:
                    yield items.popleft()
                if stream.done:
                    if stream.error is not None:
                        raise stream.error
                    return
                stream.waiter = job.loop.create_future()
                await stream.waiter
        finally:
            if not stream.done:
                pool.cancel(job)

    def _job(self, fn: Callable[..., Any], kwargs: dict[str, Any], options: Any, stream: Stream | None) -> Job:
        if options:
            raise TypeError(f"the process executor takes no options, got {dict(options)!r}")
        loop = asyncio.get_running_loop()
        return Job(self._pool.function(fn), dump_args(kwargs), loop, stream)

    def shutdown(self, wait: bool = True) -> None:
        """Stops the pool: queued and running jobs fail with ``RuntimeError``, workers exit (or are
        killed after ``wait``-ing a second for them). Called again, it does nothing."""
        self._pool.shutdown(wait)

    def __repr__(self) -> str:
        return f"<ProcessExecutor processes={self.processes} busy={self.busy} queued={self.queued}>"


def _shutdown_all() -> None:
    for ex in list(_live):
        ex.shutdown(wait=False)


atexit.register(_shutdown_all)
