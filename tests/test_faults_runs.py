"""Ordinary programs under faults: cancelled or failed runs start none of their queued cpu jobs,
errors="continue" through the handle, cpu ops see the caller's contextvars, and run inputs are checked
before middleware sees them."""

from __future__ import annotations

import asyncio
import contextvars
import time

import pytest

from operonx import END, PARENT, START, GraphOp, Middleware, Operon, op
from operonx.errors import InputError, OpError, RunCancelled

from fault_helpers import MAX_WORKERS, T

pytestmark = pytest.mark.timeout(120)


# ---------------------------------------------------------------------------
# 5. Cancelled or failed runs start none of their queued cpu jobs
# ---------------------------------------------------------------------------

def cpu_fanout(calls: list, fail: bool, n: int = 32):
    @op(bound="cpu")
    def work(x):
        calls.append(x)
        time.sleep(0.02)
        return {"y": x}

    @op
    def boom(x):
        raise RuntimeError("boom")

    with GraphOp(name="fan") as g:
        workers = [work(x=i, name=f"w{i}") for i in range(n)]
        START >> workers >> END
        if fail:
            b = boom(x=1)
            START >> b >> END
    return g


async def test_a_failed_run_starts_none_of_its_queued_cpu_jobs():
    calls: list = []
    with pytest.raises(OpError, match="boom"):
        await asyncio.wait_for(Operon(cpu_fanout(calls, fail=True)).run({}), T)
    at_failure = len(calls)
    await asyncio.sleep(0.3)  # long enough for 32 jobs on 2+ threads to have run
    assert len(calls) == at_failure <= MAX_WORKERS


async def test_a_cancelled_run_starts_none_of_its_queued_cpu_jobs():
    calls: list = []
    handle = Operon(cpu_fanout(calls, fail=False)).start({})
    await asyncio.sleep(0.03)
    handle.cancel()
    at_cancel = len(calls)
    await asyncio.sleep(0.3)
    assert len(calls) <= at_cancel + MAX_WORKERS and len(calls) < 32
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_a_cpu_op_running_when_its_run_is_cancelled_starts_no_successor():
    events: list = []

    @op(bound="cpu")
    def slow(x):
        events.append("slow")
        time.sleep(0.15)
        return {"y": x}

    @op
    def after(y):
        events.append("after")
        return {"z": y}

    with GraphOp(name="c") as g:
        s = slow(x=1)
        a = after(y=s["y"])
        START >> s >> a >> END
    handle = Operon(g).start({})
    await asyncio.sleep(0.05)
    assert events == ["slow"]
    handle.cancel()
    await asyncio.sleep(0.3)
    assert events == ["slow"]
    # the pool is free for the next run
    assert (await asyncio.wait_for(Operon(g).run({}), T))["z"] == 1


# ---------------------------------------------------------------------------
# 6. errors="continue" through the handle
# ---------------------------------------------------------------------------


def half_failing():
    @op
    def gen(n):
        for i in range(n):
            yield {"i": i}

    @op
    def check(i):
        if i % 2:
            raise ValueError(f"odd {i}")
        return {"even": i}

    with GraphOp(name="h") as g:
        s = gen(n=PARENT["n"])
        c = check(i=s["i"])
        START >> s >> c >> END
    return g


async def test_start_with_errors_continue_keeps_every_failure():
    engine = Operon(half_failing())
    ran = await asyncio.wait_for(engine.run({"n": 6}, errors="continue"), T)
    handle = engine.start({"n": 6}, errors="continue")
    result = await asyncio.wait_for(handle.result(), T)
    assert [str(e) for e in handle.errors] == [str(e) for e in ran["$errors"]]
    assert len(handle.errors) == 3 and all(isinstance(e, OpError) for e in handle.errors)
    assert [e.context for e in result["$errors"]] == [("main", "[1]"), ("main", "[3]"), ("main", "[5]")]
    assert result["even"] == ran["even"] == [0, 2, 4]
    collected = await asyncio.wait_for(engine.start({"n": 6}, errors="continue").collect(), T)
    assert len(collected["$errors"]) == 3 and collected["even"] == [0, 2, 4]


async def test_a_raising_run_lists_no_errors_on_its_handle():
    handle = Operon(half_failing()).start({"n": 1})
    assert await asyncio.wait_for(handle.result(), T) == {"even": 0}
    assert handle.errors == []
    failing = Operon(half_failing()).start({"n": 2})
    with pytest.raises(OpError, match="odd 1"):
        await asyncio.wait_for(failing.result(), T)
    assert failing.errors == []


# ---------------------------------------------------------------------------
# 7. cpu ops see the caller's contextvars
# ---------------------------------------------------------------------------

REQUEST = contextvars.ContextVar("request", default="unset")


async def test_cpu_ops_see_the_callers_contextvars():
    @op(bound="cpu")
    def read(x):
        REQUEST.set("changed inside")  # a copy: the caller's value stays
        return {"seen": x}

    @op(bound="cpu")
    def look(seen):
        return {"value": REQUEST.get(), "seen": seen}

    with GraphOp(name="cv") as g:
        r = read(x=1)
        lk = look(seen=r["seen"])
        START >> r >> lk >> END
    REQUEST.set("from the caller")
    out = await asyncio.wait_for(Operon(g).run({}), T)
    assert out["value"] == "from the caller"
    assert REQUEST.get() == "from the caller"


# ---------------------------------------------------------------------------
# 9. Run inputs are checked before middleware sees them
# ---------------------------------------------------------------------------


class Recorder(Middleware):
    def __init__(self) -> None:
        self.seen: list = []

    async def before_run(self, graph, inputs, context):
        self.seen.append(inputs)
        return inputs


@pytest.mark.parametrize("bad", [[("x", 1)], "ab", 5, 1.5, b"x"], ids=repr)
@pytest.mark.parametrize("with_middleware", [False, True])
def test_run_inputs_that_are_not_a_mapping_are_an_input_error(bad, with_middleware):
    @op
    def f(x):
        return {"y": x}

    with GraphOp(name="c") as g:
        a = f(x=PARENT["x"])
        START >> a >> END
    recorder = Recorder()
    engine = Operon(g, middleware=[recorder] if with_middleware else [])
    with pytest.raises(InputError, match=r"run inputs of graph 'c' must be a mapping") as raised:
        engine.run_sync(bad)
    assert raised.value.graph == "c"
    assert recorder.seen == []
    assert engine.run_sync({"x": 2})["y"] == 2
