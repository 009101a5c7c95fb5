"""An engine's executors, and the call each executor op makes: to the driver, an executor op is an
``async def`` op (an async generator op, for a generator function) whose awaitable is the executor's
``submit`` (``submit_stream``). The run's cancellation reaches the executor through the call's task:
a run that fails or is cancelled, or an attempt that times out, cancels the task, and the call sets
its :class:`~operonx.executors.CancelToken`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, AsyncIterator, Callable

from operonx._authoring.external import THREADS, ExternalCall
from operonx._authoring.resources import resolved_resources
from operonx.errors import GraphError, GraphTypeError, OperonUsageError
from operonx.executors._contract import CancelToken
from operonx.executors.process import ProcessExecutor

__all__ = ["bind_executors", "check_executors", "check_processes", "shutdown_all"]


def check_processes(processes: Any) -> int | None:
    """``Operon(processes=N)``: a whole number >= 1, or ``None`` (the CPU count)."""
    if processes is None:
        return None
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise OperonUsageError(f"processes= must be a whole number >= 1 (or None: the CPU count), got {processes!r}")
    return processes


def check_executors(executors: Any, processes: int | None) -> dict[str, Any]:
    """``Operon(executors={...})`` checked: names to objects with ``submit`` and ``shutdown``."""
    if executors is None:
        return {}
    if not isinstance(executors, Mapping):
        raise GraphTypeError(f"executors= takes a dict of name -> executor, got {type(executors).__name__}")
    table: dict[str, Any] = {}
    for name, ex in executors.items():
        if not isinstance(name, str) or not name:
            raise GraphTypeError(f"executors= names must be non-empty strings, got {name!r}")
        if name in THREADS:
            raise OperonUsageError(
                f"executors={{{name!r}: ...}}: {name!r} is the engine's own worker threads (bound='cpu'); "
                f"give your executor another name and ops executor=<that name>"
            )
        if not callable(getattr(ex, "submit", None)) or not callable(getattr(ex, "shutdown", None)):
            raise GraphTypeError(
                f"executors[{name!r}] is {type(ex).__name__}, which has no submit() and shutdown(); "
                f"an executor follows operonx.executors.Executor"
            )
        table[name] = ex
    if processes is not None and "process" in table:
        raise OperonUsageError(
            "Operon(processes=N) sizes the engine's own process pool, and executors= gives one under 'process': "
            "size that one where it is made (ProcessExecutor(processes=N))"
        )
    return table


def bind_executors(
    hosts: list[Any], table: dict[str, Any], processes: int | None, hub: Any = None,
) -> tuple[list[Any], list[Any]]:
    """``(hosts, owned)``: ``hosts`` with each :class:`ExternalCall` replaced by the call of its
    executor, and the executors the engine made for itself (its process pool, made when an op needs
    it and ``table`` has none), which it shuts down. ``table`` gains them. Raises
    :class:`~operonx.errors.GraphError` naming every op whose executor the engine has not got, or
    cannot run it."""
    calls = [(i, h) for i, h in enumerate(hosts) if type(h) is ExternalCall]
    if not calls:
        return hosts, []
    owned: list[Any] = []
    if "process" not in table and any(h.executor == "process" for _, h in calls):
        table["process"] = ProcessExecutor(processes)
        owned.append(table["process"])
    problems = [p for _, h in calls if (p := _problem(h, table.get(h.executor))) is not None]
    if problems:
        raise GraphError(
            f"the engine cannot run {len(problems)} op{'' if len(problems) == 1 else 's'} on its executor"
            f"{'' if len(problems) == 1 else 's'}:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    out = list(hosts)
    for i, h in calls:
        out[i] = _stream_call(table[h.executor], h, hub) if h.is_gen else _call(table[h.executor], h, hub)
    return out, owned


def _problem(h: ExternalCall, ex: Any) -> str | None:
    if ex is None:
        return (
            f"op '{h.op}' runs on executor '{h.executor}', which this engine was not given: pass "
            f"Operon(..., executors={{'{h.executor}': <executor>}})"
        )
    if h.is_gen and not callable(getattr(ex, "submit_stream", None)):
        return (
            f"op '{h.op}' is a generator, and executor '{h.executor}' ({type(ex).__name__}) has no "
            f"submit_stream() to stream its items: run it elsewhere"
        )
    if h.options and isinstance(ex, ProcessExecutor):
        return f"op '{h.op}' gives executor options {h.options!r}, which the process executor does not take"
    return None


def _inputs(h: ExternalCall, hub: Any) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """What adds an op's resources to its inputs (resolved here, then sent), ``None`` when it has none."""
    if not h.resources:
        return None
    name = getattr(h.func, "__qualname__", repr(h.func))

    def add(kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.update(resolved_resources(h.resources, hub, name))
        return kwargs

    return add


def _call(ex: Any, h: ExternalCall, hub: Any) -> Callable[..., Any]:
    submit, fn, options, add = ex.submit, h.func, h.options, _inputs(h, hub)

    async def call(**kwargs: Any) -> Any:
        token = CancelToken()
        try:
            return await submit(fn, kwargs if add is None else add(kwargs), cancel=token, options=options)
        except asyncio.CancelledError:  # the run stopped, or the attempt timed out
            token.cancel()
            raise

    call.__qualname__ = call.__name__ = getattr(fn, "__qualname__", "call")
    return call


def _stream_call(ex: Any, h: ExternalCall, hub: Any) -> Callable[..., AsyncIterator[Any]]:
    submit_stream, fn, options, add = ex.submit_stream, h.func, h.options, _inputs(h, hub)

    async def stream(**kwargs: Any) -> AsyncIterator[Any]:
        token = CancelToken()
        items = submit_stream(fn, kwargs if add is None else add(kwargs), cancel=token, options=options)
        finished = False
        try:
            async for item in items:
                yield item
            finished = True
        finally:
            if not finished:  # closed early (the run stopped) or failed
                token.cancel()
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()

    stream.__qualname__ = stream.__name__ = getattr(fn, "__qualname__", "stream")
    return stream


def shutdown_all(executors: list[Any]) -> None:
    """Shuts each executor down (an engine's own, when it closes or is dropped)."""
    for ex in executors:
        ex.shutdown()
