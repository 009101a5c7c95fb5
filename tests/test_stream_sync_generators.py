"""Streams in the engine: sync generators stream as they produce (frames and downstream items before the
generator ends, other tasks keep running) and keep the FIFO order of an all-sync graph."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, START, GraphOp, Operon, op

from stream_helpers import T, frames_of, run

pytestmark = pytest.mark.timeout(30)


BIG = 100_000


async def test_sync_generator_first_frame_before_exhaustion():
    pulled = 0

    @op
    def big(n):
        nonlocal pulled
        for i in range(n):
            pulled += 1
            yield {"item": i}

    with GraphOp(name="g") as g:
        a = big(n=BIG)
        START >> a >> END
    handle = Operon(g).start({})
    at_first = None
    count = 0

    async def consume():
        nonlocal at_first, count
        async for _op, ctx, data in handle:
            if at_first is None:
                at_first = pulled
                assert (ctx, data) == (("main", "[0]"), {"item": 0})
            count += 1

    await asyncio.wait_for(consume(), 25)
    assert count == BIG
    assert at_first is not None and at_first < BIG // 10


async def test_sync_generator_items_flow_downstream_before_it_ends():
    pulled = 0
    seen_at = {}

    @op
    def big(n):
        nonlocal pulled
        for i in range(n):
            pulled += 1
            yield {"item": i}

    @op
    def per(x):
        seen_at.setdefault(x, pulled)
        return {"y": x}

    with GraphOp(name="g") as g:
        a = big(n=BIG)
        b = per(x=a["item"])
        START >> a >> b >> END
    handle = Operon(g).start({})
    at_first = None
    count = 0

    async def consume():
        nonlocal at_first, count
        async for _op, _ctx, _data in handle:
            if at_first is None:
                at_first = pulled
            count += 1

    await asyncio.wait_for(consume(), 25)
    assert count == BIG
    assert seen_at[0] < BIG // 10 and at_first < BIG // 10
    assert seen_at[BIG - 1] == BIG


async def test_sync_generator_other_tasks_keep_running_while_it_streams():
    ticks = 0
    stop = False

    async def ticker():
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0)

    @op
    def big(n):
        for i in range(n):
            yield {"item": i}

    with GraphOp(name="g") as g:
        a = big(n=20_000)
        START >> a >> END
    task = asyncio.create_task(ticker())
    try:
        handle = Operon(g).start({})
        count = 0
        async for _ in handle:
            count += 1
    finally:
        stop = True
        await asyncio.wait_for(task, T)
    assert count == 20_000
    assert ticks > 1


async def test_all_sync_graph_keeps_fifo_order():
    order = []

    @op
    def rec(tag):
        order.append(tag)
        return {"t": tag}

    with GraphOp(name="g") as g:
        a = rec(tag="a")
        b2 = rec(tag="b2")
        b1 = rec(tag="b1")
        c = rec(tag="c")
        START >> [a, b2]
        a >> b1
        b2 >> c
        [a, b2, b1, c] >> END
    frames = await frames_of(Operon(g), {})
    assert order == ["a", "b2", "b1", "c"]
    assert [(f[0], f[2]) for f in frames] == [("a", {"t": "a"}), ("b2", {"t": "b2"}), ("b1", {"t": "b1"}), ("c", {"t": "c"})]
    assert all(ctx == ("main",) for _, ctx, _ in frames)


async def test_sync_generator_keeps_its_place_unrelated_ops_after_it():
    order = []

    @op
    def items(n):
        for i in range(n):
            order.append(("gen", i))
            yield {"item": i}

    @op
    def other(v):
        order.append(("other", v))
        return {"o": v}

    with GraphOp(name="g") as g:
        a = items(n=3)
        b = other(v=1)
        START >> [a, b]
        [a, b] >> END
    result = await run(Operon(g), {})
    assert order == [("gen", 0), ("gen", 1), ("gen", 2), ("other", 1)]
    assert (result["item"], result["o"]) == ([0, 1, 2], 1)
