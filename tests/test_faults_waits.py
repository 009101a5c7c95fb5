"""Ordinary programs under faults: a wait for the next frame that is cancelled or times out loses
nothing, and a handle freed by the cyclic garbage collector while its run is stepped cancels the run."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op

from fault_helpers import T

pytestmark = pytest.mark.timeout(120)


# ---------------------------------------------------------------------------
# 3. A cancelled or timed-out wait for the next frame
# ---------------------------------------------------------------------------


def slow_stream(pause: float = 0.05):
    @op
    async def slow(n):
        for i in range(n):
            await asyncio.sleep(pause)
            yield {"i": i}

    with GraphOp(name="s") as g:
        r = slow(n=PARENT["n"])
        START >> r >> END
    return g


async def test_a_timed_out_wait_for_the_next_frame_loses_nothing():
    it = Operon(slow_stream()).start({"n": 3}).__aiter__()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(it.__anext__(), 0.01)  # before the first frame
    await asyncio.sleep(0.08)  # the first frame has arrived meanwhile
    assert await asyncio.wait_for(it.__anext__(), T) == ("r", ("main", "[0]"), {"i": 0})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(it.__anext__(), 0.001)
    assert await asyncio.wait_for(it.__anext__(), T) == ("r", ("main", "[1]"), {"i": 1})
    assert [f async for f in it] == [("r", ("main", "[2]"), {"i": 2})]


async def test_a_new_waiter_replaces_a_cancelled_one():
    it = Operon(slow_stream()).start({"n": 2}).__aiter__()
    waiting = asyncio.ensure_future(it.__anext__())
    await asyncio.sleep(0.01)
    waiting.cancel()
    # asked again before any frame arrived: no "another consumer is waiting", and nothing lost
    assert await asyncio.wait_for(it.__anext__(), T) == ("r", ("main", "[0]"), {"i": 0})
    assert waiting.cancelled()
    assert [f[2]["i"] async for f in it] == [1]


async def test_waits_that_time_out_over_and_over_lose_no_frame():
    handle = Operon(slow_stream(0.0005)).start({"n": 20})
    it = handle.__aiter__()
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(it.__anext__(), 0.0002))
        except TimeoutError:
            continue
        except StopAsyncIteration:
            break
    assert [f[2]["i"] for f in got] == list(range(20))


async def test_concurrent_consumers_share_the_frames_without_loss_or_duplicates():
    handle = Operon(slow_stream(0.001)).start({"n": 60})
    it = handle.__aiter__()

    async def consume() -> list:
        mine = []
        async for frame in it:
            mine.append(frame[2]["i"])
        return mine

    parts = await asyncio.wait_for(asyncio.gather(consume(), consume(), consume()), T)
    assert sorted(i for part in parts for i in part) == list(range(60))
    for part in parts:
        assert part == sorted(part)


async def test_waits_for_a_value_or_the_end_that_time_out_are_forgotten_and_lose_nothing():
    handle = Operon(slow_stream(0.3)).start({"n": 2})
    for _ in range(20):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(handle.wait_for("r", "i"), 0.0001)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(handle.result(), 0.0001)
    assert await asyncio.wait_for(handle.wait_for("r", "i"), T) == 0
    assert (await asyncio.wait_for(handle.result(unwrap=False), T))["i"] == [0, 1]


# ---------------------------------------------------------------------------
# 4. A handle freed by the cyclic garbage collector while its run is being stepped
# ---------------------------------------------------------------------------


async def test_a_handle_collected_while_its_run_is_stepped_cancels_the_run():
    pulled = []
    closed = threading.Event()
    collect_at = 50

    @op
    def endless():
        try:
            i = 0
            while True:
                pulled.append(i)
                yield {"v": i}
                i += 1
        finally:
            closed.set()

    def collect_now(v):
        if v == collect_at:
            gc.collect()  # runs while the driver steps the run (its lock held)
        return v

    @op
    def use(v):
        return {"w": v}

    with GraphOp(name="e") as g:
        src = endless()
        u = use(v=src["v"].apply(collect_now))
        START >> src >> u >> END
    engine = Operon(g)
    gc.collect()
    gc.disable()
    try:
        handle = engine.start({})
        cycle: list = [handle]
        cycle.append(cycle)  # only the cyclic collector frees it
        del handle, cycle
        for _ in range(200):
            await asyncio.sleep(0.005)
            if closed.is_set():
                break
    finally:
        gc.enable()
    assert closed.is_set(), f"the run went on after its handle was collected ({len(pulled)} items pulled)"
    n = len(pulled)
    await asyncio.sleep(0.05)
    assert len(pulled) == n
