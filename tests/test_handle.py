"""The handle of a streaming run (``engine.start()``): iteration from async and sync code. wait_for /
handle[op, var], collect / result, frame_count / done: tests/test_handle_results.py; retain_frames=False:
tests/test_handle_retain.py; errors raised mid-stream: tests/test_handle_errors.py."""

from __future__ import annotations

import asyncio
import gc

import pytest

from operonx import END, START, GraphOp, Operon, op
from operonx.errors import OperonUsageError

from handle_helpers import T, agen, chain, drain, gen, stream_graph

pytestmark = pytest.mark.timeout(30)


async def test_async_for_unpacks_op_ctx_data():
    handle = Operon(stream_graph(n=2)).start({})
    seen = []

    async def go():
        async for op_name, ctx, data in handle:
            seen.append((op_name, ctx, data))

    await asyncio.wait_for(go(), T)
    assert sorted(seen) == sorted([
        ("a", ("main", "[0]"), {"item": 0}),
        ("a", ("main", "[1]"), {"item": 1}),
        ("b", ("main", "[0]"), {"y": 1}),
        ("b", ("main", "[1]"), {"y": 2}),
    ])
    assert handle.done


async def test_plain_op_frames_have_main_context():
    frames = await drain(Operon(chain()).start({"x": 1}))
    assert frames == [("a", ("main",), {"y": 2}), ("b", ("main",), {"z": 3})]


async def test_iterating_a_temporary_handle_gets_every_frame():
    # nothing but the `async for` holds the handle: the run must not be cancelled by its wrapper
    engine = Operon(stream_graph(n=3))

    async def go():
        return [f async for f in engine.start({})]

    frames = await asyncio.wait_for(go(), T)
    assert len(frames) == 6

    async def go2():
        out = []
        async for f in engine.start({}):
            gc.collect()
            out.append(f)
        return out

    assert len(await asyncio.wait_for(go2(), T)) == 6


def test_sync_for_from_code_without_a_loop():
    handle = Operon(stream_graph(n=3)).start({})
    frames = list(handle)
    assert len(frames) == 6
    assert [f for f in frames if f[0] == "a"] == [("a", ("main", f"[{i}]"), {"item": i}) for i in range(3)]
    assert sorted(f[2]["y"] for f in frames if f[0] == "b") == [1, 2, 3]
    assert handle.done
    assert list(handle) == []  # iterated once


def test_sync_for_with_async_ops_and_sleeps():
    @op
    async def slow(x):
        await asyncio.sleep(0.005)
        return {"s": x * 3}

    with GraphOp(name="g") as g:
        a = agen(n=4, pause=0.002)
        b = slow(x=a["item"].parallel())
        START >> a >> b >> END
    handle = Operon(g).start({})
    got = []
    for op_name, ctx, data in handle:
        got.append((op_name, ctx, data))
    assert sorted(got) == [("b", ("main", f"[{i}]"), {"s": 3 * i}) for i in range(4)]
    assert handle.frame_count == 4


def test_sync_for_all_sync_graph():
    handle = Operon(stream_graph(source=gen, n=2)).start({})
    assert len([f for f in handle]) == 4


async def test_sync_for_inside_a_running_loop_is_a_usage_error():
    handle = Operon(stream_graph(n=2)).start({})
    with pytest.raises(OperonUsageError, match="running event loop"):
        for _ in handle:
            pass
    # the handle is still usable the right way
    assert len(await drain(handle)) == 4


def start_graph(log):
    @op
    def first(x):
        log.append("first")
        return {"y": x}

    with GraphOp(name="g") as g:
        a = first(x=1)
        b = agen(n=3, pause=0.001)
        START >> [a, b]
        [a, b] >> END
    return g


async def test_start_inside_a_loop_runs_without_a_consumer():
    log = []
    handle = Operon(start_graph(log)).start({})
    assert not handle.done

    async def until_done():
        while not handle.done:
            await asyncio.sleep(0.001)

    await asyncio.wait_for(until_done(), T)
    assert log == ["first"] and handle.frame_count == 4
    assert await asyncio.wait_for(handle.result(), T) == {"y": 1, "item": [0, 1, 2]}


def test_start_from_sync_code_waits_for_the_first_iteration():
    log = []
    handle = Operon(start_graph(log)).start({})
    assert log == [] and handle.frame_count == 0 and not handle.done
    frames = list(handle)
    assert log == ["first"]
    assert frames == [("a", ("main",), {"y": 1})] + [("b", ("main", f"[{i}]"), {"item": i}) for i in range(3)]


async def test_handle_iterates_once():
    handle = Operon(stream_graph(n=2)).start({})
    assert len(await drain(handle)) == 4
    assert await drain(handle) == []
    assert await asyncio.wait_for(handle.collect(), T) == {}
    assert await asyncio.wait_for(handle.collect("flat"), T) == []


async def test_slow_consumer_loses_no_frame():
    @op
    def many(n):
        for i in range(n):
            yield {"item": i}

    with GraphOp(name="g") as g:
        a = many(n=200)
        START >> a >> END
    handle = Operon(g).start({})
    got = []

    async def go():
        async for _op, _ctx, data in handle:
            got.append(data["item"])
            if len(got) % 20 == 0:
                await asyncio.sleep(0.005)
            else:
                await asyncio.sleep(0)

    await asyncio.wait_for(go(), T)
    assert got == list(range(200))
    assert handle.frame_count == 200


async def test_slow_consumer_of_async_generator_loses_no_frame():
    handle = Operon(stream_graph(source=agen, n=30)).start({})
    got = []

    async def go():
        async for frame in handle:
            got.append(frame)
            await asyncio.sleep(0.002)

    await asyncio.wait_for(go(), T)
    assert len(got) == 60
    assert sorted(d["item"] for o, _, d in got if o == "a") == list(range(30))
