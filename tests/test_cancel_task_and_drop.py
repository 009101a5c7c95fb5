"""Cancelling a run by cancelling the task that awaits run() (or timing it out), and by dropping its
handle: the run stops as with handle.cancel() (tests/test_cancel.py) and leaves no task pending."""

from __future__ import annotations

import asyncio
import gc

import pytest

from operonx import Operon

from cancel_helpers import KINDS, T, Log, leftover, settle, streaming_graph

pytestmark = pytest.mark.timeout(30)


# ---------------------------------------------------------------------------
# Cancelling the task that awaits run()
# ---------------------------------------------------------------------------


@KINDS
async def test_cancelling_the_run_task_cancels_the_run(kind):
    log = Log()
    engine = Operon(streaming_graph(log, kind))
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(engine.run({}))
    await asyncio.wait_for(log.started.wait(), T)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, T)
    await settle()
    assert log.has("slow_cancelled", 0) and log.has("slow_finally", 0)
    assert log.has("gen_finally",)
    assert log.count("after") == 0
    assert log.count("slow_start") == 1
    assert leftover(before) == set()


async def test_wait_for_timeout_on_run_cancels_the_run():
    log = Log()
    engine = Operon(streaming_graph(log, "async"))
    before = asyncio.all_tasks()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(engine.run({}), 0.05)
    await settle()
    assert log.has("gen_finally",)
    assert {e[1] for e in log.events if e[0] == "slow_start"} == {
        e[1] for e in log.events if e[0] == "slow_finally"
    }
    assert leftover(before) == set()


# ---------------------------------------------------------------------------
# Dropping the handle
# ---------------------------------------------------------------------------


@KINDS
async def test_dropped_handle_cancels_its_run(kind):
    log = Log()
    engine = Operon(streaming_graph(log, kind))
    before = asyncio.all_tasks()
    handle = engine.start({})
    await asyncio.wait_for(log.started.wait(), T)
    del handle
    gc.collect()
    await settle()
    assert log.has("slow_cancelled", 0)
    assert log.has("gen_finally",)
    assert log.count("after") == 0
    assert leftover(before) == set()


async def test_dropped_handle_mid_iteration_cancels_its_run():
    log = Log()
    engine = Operon(streaming_graph(log, "async", wait=0.001))
    before = asyncio.all_tasks()
    handle = engine.start({})

    async def some():
        n = 0
        async for _ in handle:
            n += 1
            if n == 3:
                break

    await asyncio.wait_for(some(), T)
    del handle
    gc.collect()
    await settle()
    assert log.has("gen_finally",)
    assert leftover(before) == set()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dropped_handle_after_sync_for_break_cancels_cleanly(caplog):
    log = Log()
    engine = Operon(streaming_graph(log, "async"))
    handle = engine.start({})
    for i, _ in enumerate(handle):
        if i == 2:
            break
    assert log.has("slow_start", 0)
    del handle
    gc.collect()
    pending = [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]
    assert log.has("gen_finally",)
    assert log.has("slow_cancelled", 0)
    assert pending == []


@pytest.mark.parametrize("last", [False, True])
async def test_an_op_that_cancels_its_own_run(last):
    """A sync op that cancels the run it belongs to: its own outputs stay, nothing after it starts,
    and the handle reports the cancel (also when the op is the run's last)."""
    from operonx import END, PARENT, START, GraphOp, Operon, op
    from operonx.errors import RunCancelled

    holder, started = {}, []

    @op
    def stopper(x):
        started.append("stopper")
        holder["h"].cancel()
        return {"y": x + 1}

    @op
    def after(y):
        started.append("after")
        return {"z": y}

    with GraphOp(name="g") as g:
        s = stopper(x=PARENT["x"])
        if last:
            START >> s >> END
        else:
            a = after(y=s["y"])
            START >> s >> a >> END
    handle = Operon(g).start({"x": 1})
    holder["h"] = handle
    frames = await asyncio.wait_for(handle.collect(), 5)
    assert started == ["stopper"]
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), 5)
    assert frames == ({"y": [2]} if last else {})
