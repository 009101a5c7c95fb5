"""The handle of a streaming run: ``handle = engine.start(inputs)``.

::

    handle = engine.start({"topic": "rust"})
    async for frame in handle:                # a Frame per result of every op bound to END/PARENT
        print(frame.op, frame.context, frame.data)   # or: async for op, ctx, data in handle
    result = await handle.result()            # grouped by key, from every frame (also after iteration)

Other ways to read it: ``await handle.wait_for("op", "var")`` (or ``await handle["op", "var"]``),
``await handle.collect()``, ``for frame in handle`` from code with no running event loop, and
``handle.cancel()``. Frames are pumped by the engine in Rust; a handle can be iterated once.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Awaitable, Iterator, Literal, overload

from operonx._core import Frame
from operonx._core import Handle as _Handle
from operonx.errors import OperonUsageError, RunCancelled

__all__ = ["ExecutionHandle", "Frame"]


class ExecutionHandle:
    """A running graph: iterate its frames, wait for values, collect results, or cancel it.

    A frame is a :class:`Frame` ``(op, context, data)``, a named tuple: the op's short name, its
    context path (``("main",)`` for a plain op, ``("main", "[i]")`` for item ``i`` of a generator's
    stream) and its forwarded outputs. An op error is raised by the iteration after every frame
    produced before it. A handle dropped while its run is going cancels the run.
    """

    __slots__ = ("_inner", "_graph", "_loop")

    def __init__(self, inner: _Handle, graph_name: str) -> None:
        self._inner = inner
        self._graph = graph_name
        self._loop: asyncio.AbstractEventLoop | None = None

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._inner

    def __repr__(self) -> str:
        inner = self._inner
        return f"<ExecutionHandle graph={self._graph!r} state={inner.state!r} frame_count={inner.frame_count}>"

    def __iter__(self) -> Iterator[Frame]:
        """Iterates the frames from code with no running event loop (a private loop drives async ops)."""
        loop = self._private_loop("iterate the handle with `for`")
        anext = self._inner.__anext__
        try:
            while True:
                try:
                    frame = loop.run_until_complete(_await(anext))
                except StopAsyncIteration:
                    return
                yield frame
        finally:
            # Left early (break, an exception): the run cannot go on without this loop turning.
            if not self._inner.done:
                self._inner.cancel()
                _finish_tasks(loop)

    def wait_for(self, op: str, var: str) -> Awaitable[Any]:
        """Awaitable: the value of ``var`` in op ``op``'s frames: the last one already buffered, else
        the first to arrive; ``None`` once the run has ended without one."""
        return self._inner.wait_for(op, var)

    def __getitem__(self, key: tuple[str, str]) -> Awaitable[Any]:
        op, var = key
        return self._inner.wait_for(op, var)

    @overload
    async def collect(self, mode: Literal["group"] = "group", unwrap: bool = False) -> dict[str, Any]: ...
    @overload
    async def collect(self, mode: Literal["flat"], unwrap: bool = False) -> list[dict[str, Any]]: ...

    async def collect(self, mode: str = "group", unwrap: bool = False) -> Any:
        """Waits for the end of the run and returns the frames not yet consumed.

        ``mode="group"``: a dict of key → list of values in frame order (``unwrap=True`` makes
        one-element lists scalars), plus ``"$errors"`` with ``errors="continue"``; ``mode="flat"``: the
        list of frame data dicts. After a
        cancellation it returns what arrived. Raises the run's error, if it failed.
        """
        if mode not in ("group", "flat"):
            raise OperonUsageError(f"collect(mode={mode!r}): use 'group' or 'flat'")
        self._require_retained("collect()")
        await self._inner.wait_done()
        if mode == "flat":
            frames = self._inner.take_rest()
            self._raise_if_failed(cancelled_ok=True)
            return [data for _, _, data in frames]
        grouped = self._inner.collect_rest(unwrap)
        self._raise_if_failed(cancelled_ok=True)
        return grouped

    async def result(self, unwrap: bool = True) -> dict[str, Any]:
        """Waits for the end of the run and groups every frame by key (also after iteration).

        ``unwrap=True`` makes keys with one value scalars. With ``errors="continue"`` the failed ops'
        errors are listed under ``"$errors"``, as :meth:`Operon.run` does. Raises the run's error if it
        failed, and :class:`~operonx.errors.RunCancelled` if it was cancelled.
        """
        self._require_retained("result()")
        await self._inner.wait_done()
        self._raise_if_failed(cancelled_ok=False)
        return self._inner.result(unwrap)

    def cancel(self) -> None:
        """Cancels the run: async ops and generators are stopped, nothing new starts; iteration ends
        after the frames that arrived, ``collect()`` returns them, ``result()`` raises RunCancelled."""
        self._inner.cancel()

    @property
    def done(self) -> bool:
        """True once the run is over (finished, failed or cancelled)."""
        return self._inner.done

    @property
    def cancelled(self) -> bool:
        """True when the run was cancelled (by :meth:`cancel`, by dropping the handle, or by
        cancelling the task that awaited it)."""
        return self._inner.cancelled

    @property
    def errors(self) -> list[BaseException]:
        """The errors of the ops that failed so far in a run started with ``errors="continue"``, in
        the order they happened (each an :class:`~operonx.errors.OpError` or
        :class:`~operonx.errors.InputError`). Empty with ``errors="raise"``, where the first error
        fails the run and is raised by iteration, :meth:`collect` and :meth:`result`."""
        return self._inner.errors()

    @property
    def frame_count(self) -> int:
        """Number of frames the run emitted so far."""
        return self._inner.frame_count

    def __del__(self) -> None:
        # Dropping the engine-side handle (once nothing iterates it either) cancels the run. A
        # finalizer must not turn an event loop (it can run at any point, even inside another
        # loop), so a private loop is only closed here; iteration that stops early drains it.
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed():
            try:
                if not self._inner.done:
                    self._inner.cancel()
            finally:
                loop.close()

    def _private_loop(self, what: str) -> asyncio.AbstractEventLoop:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise OperonUsageError(f"cannot {what} inside a running event loop (graph '{self._graph}'); use `async for`")
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    def _require_retained(self, what: str) -> None:
        # Without retained frames a stream waits for its consumer: waiting for the end would hang.
        if not self._inner.retain_frames:
            raise OperonUsageError(
                f"{what} needs the run's frames, but this handle of graph '{self._graph}' was started with "
                "retain_frames=False: frames are dropped once consumed; iterate the handle instead"
            )

    def _raise_if_failed(self, cancelled_ok: bool) -> None:
        error = self._inner.error()
        if error is not None:
            raise error
        if self._inner.cancelled and not cancelled_ok:
            raise RunCancelled(f"run of graph '{self._graph}' was cancelled")


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Runs a private loop until the tasks left on it (cancelled ops and pumps) have finished."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


async def _await(anext: Any) -> Any:
    return await anext()
