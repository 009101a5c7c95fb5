"""What the cancellation tests (tests/test_cancel*.py) share: an event log, instrumented ops and a
streaming graph built from them, and checks that nothing is left running."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, START, GraphOp, op


T = 5  # seconds: bound on every await that could hang


async def settle(turns: int = 5) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


def leftover(before: set) -> set:
    """Tasks not done that did not exist before (the current task excluded)."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}


class Log:
    def __init__(self) -> None:
        self.events: list = []
        self.started = asyncio.Event()

    def add(self, *event) -> None:
        self.events.append(event)

    def has(self, *event) -> bool:
        return event in self.events

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e[0] == kind)


def make_ops(log: Log):
    """Instrumented ops: a sync and an async generator, a slow async op, a plain sync op."""

    @op
    def sgen(n):
        log.add("gen_enter")
        try:
            for i in range(n):
                log.add("pull", i)
                yield {"item": i}
        finally:
            log.add("gen_finally")

    @op
    async def agen(n, pause=0.001):
        log.add("gen_enter")
        try:
            for i in range(n):
                await asyncio.sleep(pause)
                log.add("pull", i)
                yield {"item": i}
        except BaseException as stop:  # GeneratorExit (aclose) or CancelledError (its await)
            log.add("gen_closed", type(stop))
            raise
        finally:
            log.add("gen_finally")

    @op
    async def slow(x, wait=10.0):
        log.add("slow_start", x)
        log.started.set()
        try:
            await asyncio.sleep(wait)
        except asyncio.CancelledError:
            log.add("slow_cancelled", x)
            raise
        finally:
            log.add("slow_finally", x)
        log.add("slow_end", x)
        return {"y": x}

    @op
    def after(y):
        log.add("after", y)
        return {"z": y}

    return sgen, agen, slow, after


def streaming_graph(log: Log, kind: str, n: int = 100_000, wait: float = 10.0):
    """generator a (to END) -> slow async per-item op b -> after c (to END)."""
    sgen, agen, slow, after = make_ops(log)
    source = sgen if kind == "sync" else agen
    with GraphOp(name="g") as g:
        a = source(n=n)
        b = slow(x=a["item"], wait=wait)
        c = after(y=b["y"])
        START >> a >> b >> c
        [a, c] >> END
    return g


KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


async def drain(handle) -> list:
    return [frame async for frame in handle]
