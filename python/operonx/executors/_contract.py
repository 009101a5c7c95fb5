"""The executor contract (:class:`Executor`, :class:`CancelToken`) and the errors executors share;
re-exported by :mod:`operonx.executors`, whose documentation describes them."""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Protocol, runtime_checkable

__all__ = ["CancelToken", "Executor", "StreamingExecutor", "TransferError", "WorkerDiedError"]

_log = logging.getLogger("operonx")


class CancelToken:
    """Tells an executor that a job it was given should stop.

    The engine makes one per submitted call and sets it when the call is cancelled (the run failed or
    was cancelled, the attempt timed out). ``cancelled`` reads it; ``add_callback(fn)`` has ``fn()``
    called once, when the token is set, on the event loop thread (at once if it is set already).
    """

    __slots__ = ("_cancelled", "_callbacks")

    def __init__(self) -> None:
        self._cancelled = False
        self._callbacks: list[Callable[[], Any]] | None = None

    @property
    def cancelled(self) -> bool:
        """True once the call was cancelled."""
        return self._cancelled

    def add_callback(self, fn: Callable[[], Any]) -> None:
        """Calls ``fn()`` once when the token is set (now, if it is set already)."""
        if self._cancelled:
            _call(fn)
        elif self._callbacks is None:
            self._callbacks = [fn]
        else:
            self._callbacks.append(fn)

    def remove_callback(self, fn: Callable[[], Any]) -> None:
        """Forgets ``fn`` (a job that finished need not be told about a cancel); no error if absent."""
        callbacks = self._callbacks
        if callbacks is not None:
            try:
                callbacks.remove(fn)
            except ValueError:
                pass

    def cancel(self) -> None:
        """Sets the token and calls its callbacks in the order they were added (the engine does this;
        calling it again does nothing). A callback that raises is logged, and the others still run."""
        if self._cancelled:
            return
        self._cancelled = True
        callbacks, self._callbacks = self._callbacks, None
        for fn in callbacks or ():
            _call(fn)

    def __repr__(self) -> str:
        return f"<CancelToken {'cancelled' if self._cancelled else 'active'}>"


def _call(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # one executor's broken callback must not keep the others from stopping their jobs
        _log.exception("a CancelToken callback raised")


@runtime_checkable
class Executor(Protocol):
    """Where op calls run (see the module's documentation)."""

    def submit(
        self,
        fn: Callable[..., Any],
        kwargs: dict[str, Any],
        *,
        cancel: CancelToken,
        options: Mapping[str, Any] | None = None,
    ) -> Awaitable[Any]:
        """Runs ``fn(**kwargs)`` and returns an awaitable of its return value, awaited on the event
        loop that called ``submit``. ``options`` are the op's executor options (``@op(ray={...})``),
        ``None`` when it has none. Cancelling the awaitable or setting ``cancel`` stops the call."""
        ...

    def shutdown(self) -> None:
        """Stops the executor: running calls are stopped, queued ones fail, and its resources are
        released. Called again, it does nothing."""
        ...


@runtime_checkable
class StreamingExecutor(Executor, Protocol):
    """An executor that also runs generator functions, streaming their items back."""

    def submit_stream(
        self,
        fn: Callable[..., Any],
        kwargs: dict[str, Any],
        *,
        cancel: CancelToken,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Any]:
        """Runs the generator function ``fn(**kwargs)`` and returns an async iterator of its items,
        each as soon as it is produced. Closing the iterator early, or setting ``cancel``, stops it."""
        ...


class WorkerDiedError(RuntimeError):
    """The worker running an op's call died (killed, crashed, out of memory) before it answered.

    Only that op fails; ``@op(retries=N)`` runs it again. ``.pid`` and ``.exitcode`` (negative: the
    signal's number) say which worker and how, when known."""

    def __init__(self, message: str, pid: int | None = None, exitcode: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid
        self.exitcode = exitcode


class TransferError(TypeError):
    """A value could not travel between the caller's process and a worker (pickling failed).

    ``.side`` says which value: ``"function"``, ``"argument"`` (then ``.key`` is the input's name),
    ``"result"``, ``"item"`` (a generator's) or ``"exception"``; ``.key`` is ``None`` when no single
    key is to blame. The pickling error is the ``__cause__`` when it was raised in this process."""

    def __init__(self, message: str, side: str, key: str | None = None) -> None:
        super().__init__(message)
        self.side = side
        self.key = key

    def __reduce__(self) -> Any:
        return (TransferError, (self.args[0], self.side, self.key))



for _cls in (CancelToken, Executor, StreamingExecutor, TransferError, WorkerDiedError):
    _cls.__module__ = "operonx.executors"
