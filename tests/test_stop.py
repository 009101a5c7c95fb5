"""A run that fails, is cancelled or is dropped starts nothing more: no worker-thread job, no task, no
generator item and no successor of an op still running when it stopped.

Each test counts the calls of every kind of op at the moment the run stops, waits long enough for
everything queued to have run, and checks that no count moved.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest

from operonx import END, START, GraphOp, Operon, op
from operonx.errors import OpError, RunCancelled

pytestmark = pytest.mark.timeout(60)

T = 5  # seconds: bound on every await that could hang
WIDTH = 16


class Calls:
    """Starts per kind of op; cpu ops count from worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = {"cpu": 0, "after_cpu": 0, "task": 0, "after_task": 0, "item": 0, "per_item": 0}

    def add(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] += 1

    def snapshot(self) -> dict:
        with self.lock:
            return dict(self.counts)


def busy_graph(calls: Calls, fail_after: float | None) -> GraphOp:
    @op(bound="cpu")
    def crunch(x):
        calls.add("cpu")
        time.sleep(0.01)
        return {"y": x}

    @op
    def after_cpu(y):
        calls.add("after_cpu")
        return {"z": y}

    @op
    async def wait(x):
        calls.add("task")
        await asyncio.sleep(0.01 * (x % 4 + 1))
        return {"y": x}

    @op
    def after_task(y):
        calls.add("after_task")
        return {"z": y}

    @op
    async def stream(n):
        for i in range(n):
            calls.add("item")
            await asyncio.sleep(0.002)
            yield {"i": i}

    @op
    def per_item(i):
        calls.add("per_item")
        return {"j": i}

    @op
    async def boom(delay):
        await asyncio.sleep(delay)
        raise RuntimeError("boom")

    with GraphOp(name="busy") as g:
        for i in range(WIDTH):
            c = crunch(x=i, name=f"c{i}")
            w = wait(x=i, name=f"w{i}")
            START >> c >> after_cpu(y=c["y"], name=f"ac{i}") >> END
            START >> w >> after_task(y=w["y"], name=f"at{i}") >> END
        s = stream(n=10_000)
        START >> s >> per_item(i=s["i"]) >> END
        if fail_after is not None:
            START >> boom(delay=fail_after) >> END
    return g


async def assert_nothing_starts(calls: Calls, at_stop: dict) -> None:
    await asyncio.sleep(0.3)  # 16 cpu jobs of 10 ms on 2+ threads, every task and item, would be done
    assert calls.snapshot() == at_stop


async def test_a_failed_run_starts_nothing_more():
    calls = Calls()
    with pytest.raises(OpError, match="boom"):
        await asyncio.wait_for(Operon(busy_graph(calls, fail_after=0.015)).run({}), T)
    at_stop = calls.snapshot()
    assert at_stop["cpu"] < WIDTH and at_stop["item"] < 10_000
    await assert_nothing_starts(calls, at_stop)


async def test_a_cancelled_run_starts_nothing_more():
    calls = Calls()
    handle = Operon(busy_graph(calls, fail_after=None)).start({})
    await asyncio.sleep(0.015)
    handle.cancel()
    at_stop = calls.snapshot()
    await assert_nothing_starts(calls, at_stop)
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_a_dropped_handle_starts_nothing_more():
    calls = Calls()
    handle = Operon(busy_graph(calls, fail_after=None)).start({})
    await asyncio.sleep(0.015)
    del handle
    gc.collect()
    at_stop = calls.snapshot()
    await assert_nothing_starts(calls, at_stop)


async def test_a_run_whose_awaiting_task_is_cancelled_starts_nothing_more():
    calls = Calls()
    task = asyncio.ensure_future(Operon(busy_graph(calls, fail_after=None)).run({}))
    await asyncio.sleep(0.015)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    at_stop = calls.snapshot()
    await assert_nothing_starts(calls, at_stop)
