"""Executors: where an op's call runs.

The scheduler always stays in the caller's process; an executor only runs an op's *call* somewhere
else (a pool of worker processes, a Ray cluster) and hands the result back. Every executor speaks
one contract, :class:`Executor`::

    class MyExecutor:
        def submit(self, fn, kwargs, *, cancel, options=None):
            ...   # -> an awaitable of fn(**kwargs)
        def submit_stream(self, fn, kwargs, *, cancel, options=None):
            ...   # optional: -> an async iterator of the items a generator function yields
        def shutdown(self):
            ...

An engine is given executors by name, and each op names the one it runs on::

    @op(bound="process")              # the built-in pool of worker processes ("process")
    def crunch(x): ...

    @op(executor="gpu")               # any executor the engine was given under that name
    def infer(x): ...

    @op(ray={"num_cpus": 2})          # options for the executor; with no executor named: "ray"
    def heavy(x): ...

    engine = Operon(g, executors={"gpu": MyExecutor()}, processes=4)

``bound="cpu"`` ops keep running on the engine's built-in worker threads (the executor name
``"threads"`` is that pool: ``@op(executor="threads")`` is ``bound="cpu"``). The engine calls
``submit`` on its event loop thread, once per attempt of the op (retries submit again), with the
op's inputs as ``kwargs`` and a fresh :class:`CancelToken`. When the run fails or is cancelled, or
an attempt times out (``@op(timeout=...)``), the engine cancels the awaitable it awaits and sets the
token: an executor drops the job if it has not started, and stops it if it has. A generator function
goes to ``submit_stream`` (an executor without it cannot run generator ops: the engine refuses them
when it is built).

What an executor raises fails the op with :class:`~operonx.errors.OpError` naming the graph, the op
and the context, the executor's exception as its ``__cause__``; ``@op(retries=N)`` retries it like
any other failure. :class:`WorkerDiedError` and :class:`TransferError` are the failures of the
executor's own machinery that executors share.
"""

from operonx.executors._contract import CancelToken, Executor, StreamingExecutor, TransferError, WorkerDiedError
from operonx.executors.process import ProcessExecutor
from operonx.executors.ray import RayExecutor, RayWorkerDied  # Ray itself is imported by RayExecutor()

__all__ = [
    "CancelToken",
    "Executor",
    "ProcessExecutor",
    "RayExecutor",
    "RayWorkerDied",
    "StreamingExecutor",
    "TransferError",
    "WorkerDiedError",
]
