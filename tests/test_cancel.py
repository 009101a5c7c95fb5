"""Cancelling a run with handle.cancel().

A cancelled run stops its running async ops (their tasks see CancelledError), closes its running
sync and async generators (their ``finally`` blocks run), starts nothing new, and completes the
handle: iteration ends, ``collect()`` returns what arrived, ``result()`` raises RunCancelled. No
asyncio task created by the run is left pending. Cancelling the task that awaits run() and dropping
the handle: tests/test_cancel_task_and_drop.py; random graphs: tests/test_cancel_random.py.
"""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon
from operonx.errors import RunCancelled

from cancel_helpers import KINDS, T, Log, drain, leftover, make_ops, settle, streaming_graph

pytestmark = pytest.mark.timeout(30)


@KINDS
async def test_cancel_stops_running_op_and_closes_generator(kind):
    log = Log()
    engine = Operon(streaming_graph(log, kind))
    before = asyncio.all_tasks()
    handle = engine.start({})
    await asyncio.wait_for(log.started.wait(), T)
    assert log.has("slow_start", 0)
    handle.cancel()
    assert handle.done
    # iteration ends after the frames that arrived
    frames = await asyncio.wait_for(drain(handle), T)
    assert all(op_name == "a" for op_name, _, _ in frames)
    await settle()
    assert log.has("slow_cancelled", 0) and log.has("slow_finally", 0)
    assert log.has("gen_finally",)
    assert not log.has("slow_end", 0)
    assert log.count("after") == 0
    assert log.count("slow_start") == 1  # nothing new started
    assert leftover(before) == set()
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


@KINDS
async def test_cancel_then_collect_returns_what_arrived(kind):
    log = Log()
    handle = Operon(streaming_graph(log, kind)).start({})
    await asyncio.wait_for(log.started.wait(), T)
    arrived = handle.frame_count
    handle.cancel()
    out = await asyncio.wait_for(handle.collect(), T)
    assert isinstance(out, dict)
    assert set(out) <= {"item"}
    assert len(out.get("item", [])) == handle.frame_count >= arrived
    assert out.get("item", []) == list(range(len(out.get("item", []))))
    assert await asyncio.wait_for(handle.collect(), T) == {}
    with pytest.raises(RunCancelled, match="cancelled"):
        await asyncio.wait_for(handle.result(), T)
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(unwrap=False), T)


@KINDS
async def test_cancel_while_iterating_ends_iteration(kind):
    log = Log()
    before = asyncio.all_tasks()
    handle = Operon(streaming_graph(log, kind, wait=0.0)).start({})
    got = []

    async def go():
        async for frame in handle:
            got.append(frame)
            if len(got) == 3:
                handle.cancel()

    await asyncio.wait_for(go(), T)
    assert len(got) >= 3
    assert handle.done
    frames_then = handle.frame_count
    await settle()
    assert handle.frame_count == frames_then  # nothing more arrives
    assert log.has("gen_finally",)
    assert leftover(before) == set()
    assert await asyncio.wait_for(handle.collect(), T) == {}
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_cancel_async_generator_runs_its_finally():
    log = Log()
    _, agen, _, _ = make_ops(log)
    with GraphOp(name="g") as g:
        a = agen(n=1_000_000, pause=0.001)
        START >> a >> END
    before = asyncio.all_tasks()
    handle = Operon(g).start({})

    async def two():
        n = 0
        async for _ in handle:
            n += 1
            if n == 2:
                return

    await asyncio.wait_for(two(), T)
    handle.cancel()
    await settle()
    assert log.has("gen_finally",)
    closed = [e[1] for e in log.events if e[0] == "gen_closed"]
    assert len(closed) == 1 and closed[0] in (GeneratorExit, asyncio.CancelledError)
    assert leftover(before) == set()
    pulled = log.count("pull")
    await asyncio.sleep(0.01)
    assert log.count("pull") == pulled


async def test_cancel_plain_async_op_and_nothing_downstream_runs():
    log = Log()
    _, _, slow, after = make_ops(log)
    with GraphOp(name="g") as g:
        b = slow(x=PARENT["x"])
        c = after(y=b["y"])
        START >> b >> c >> END
    before = asyncio.all_tasks()
    handle = Operon(g).start({"x": 7})
    await asyncio.wait_for(log.started.wait(), T)
    handle.cancel()
    assert await asyncio.wait_for(handle.collect(), T) == {}
    await settle()
    assert log.has("slow_cancelled", 7)
    assert log.count("after") == 0
    assert leftover(before) == set()


async def test_cancel_parallel_items_cancels_every_running_task():
    log = Log()
    _, agen, slow, after = make_ops(log)
    with GraphOp(name="g") as g:
        a = agen(n=4, pause=0.0)
        b = slow(x=a["item"].parallel())
        c = after(y=b["y"])
        START >> a >> b >> c >> END
    before = asyncio.all_tasks()
    handle = Operon(g).start({})

    async def four_started():
        while log.count("slow_start") < 4:
            await asyncio.sleep(0.001)

    await asyncio.wait_for(four_started(), T)
    handle.cancel()
    await settle()
    assert sorted(e[1] for e in log.events if e[0] == "slow_cancelled") == [0, 1, 2, 3]
    assert log.count("after") == 0
    assert leftover(before) == set()


async def test_cancel_before_the_run_starts_anything():
    log = Log()
    before = asyncio.all_tasks()
    handle = Operon(streaming_graph(log, "async")).start({})
    handle.cancel()
    assert handle.done
    assert await asyncio.wait_for(drain(handle), T) == []
    assert await asyncio.wait_for(handle.collect(), T) == {}
    await settle()
    assert log.count("slow_start") == 0
    if log.has("gen_enter",):
        assert log.has("gen_finally",)
    assert leftover(before) == set()
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_cancel_is_idempotent():
    log = Log()
    handle = Operon(streaming_graph(log, "async")).start({})
    await asyncio.wait_for(log.started.wait(), T)
    handle.cancel()
    handle.cancel()
    await settle()
    handle.cancel()
    assert handle.done
    assert log.count("slow_cancelled") == 1
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_cancel_after_the_end_changes_nothing():
    log = Log()
    handle = Operon(streaming_graph(log, "async", n=3, wait=0.0)).start({})
    result = await asyncio.wait_for(handle.result(), T)
    assert result["z"] == [0, 1, 2]
    handle.cancel()
    assert await asyncio.wait_for(handle.result(), T) == result
    assert handle.done


async def test_cancel_resolves_pending_waiters():
    log = Log()
    handle = Operon(streaming_graph(log, "async")).start({})
    waiter = asyncio.ensure_future(handle.wait_for("c", "z"))
    done = asyncio.ensure_future(handle.result())
    collected = asyncio.ensure_future(handle.collect())
    await asyncio.wait_for(log.started.wait(), T)
    handle.cancel()
    assert await asyncio.wait_for(waiter, T) is None
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(done, T)
    out = await asyncio.wait_for(collected, T)
    assert isinstance(out, dict) and set(out) <= {"item"}


def test_cancel_from_sync_for():
    log = Log()
    handle = Operon(streaming_graph(log, "async", wait=0.0)).start({})
    got = []
    for frame in handle:
        got.append(frame)
        if len(got) == 3:
            handle.cancel()
    assert handle.done and len(got) >= 3
    assert log.has("gen_finally",)
    started = {e[1] for e in log.events if e[0] == "slow_start"}
    finished = {e[1] for e in log.events if e[0] == "slow_finally"}
    assert started == finished
