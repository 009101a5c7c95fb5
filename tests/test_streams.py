"""Streams in the engine: generator ops and item contexts. The sequential / parallel / collect policies and
batch values broadcast to per-item ops: tests/test_stream_policies.py; sync generators that stream as
they produce: tests/test_stream_sync_generators.py."""

from __future__ import annotations


import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op

from stream_helpers import GENERATORS, agen, dbl, frames_of, gen, run, sub

pytestmark = pytest.mark.timeout(30)


@GENERATORS
async def test_generator_to_end_one_frame_per_item(source):
    with GraphOp(name="g") as g:
        a = source(n=PARENT["n"])
        START >> a >> END
    engine = Operon(g)
    frames = await frames_of(engine, {"n": 3})
    assert frames == [
        ("a", ("main", "[0]"), {"item": 0}),
        ("a", ("main", "[1]"), {"item": 1}),
        ("a", ("main", "[2]"), {"item": 2}),
    ]
    result = await run(engine, {"n": 3})
    assert result["item"] == [0, 1, 2]
    assert set(result) == {"item", "$state"}


@GENERATORS
async def test_context_root_is_main_whatever_the_graph_name(source):
    with GraphOp(name="pipeline") as g:
        a = source(n=2)
        START >> a >> END
    frames = await frames_of(Operon(g), {})
    assert [ctx for _, ctx, _ in frames] == [("main", "[0]"), ("main", "[1]")]


async def test_generator_fed_by_generator_nests_contexts():
    with GraphOp(name="g") as g:
        a = agen(n=PARENT["n"])
        b = sub(x=a["item"])
        START >> a >> b >> END
    engine = Operon(g)
    frames = await frames_of(engine, {"n": 4})
    assert [(op_, ctx, data) for op_, ctx, data in frames] == [
        ("b", ("main", "[1]", "[0]"), {"z": (1, 0)}),
        ("b", ("main", "[2]", "[0]"), {"z": (2, 0)}),
        ("b", ("main", "[2]", "[1]"), {"z": (2, 1)}),
        ("b", ("main", "[3]", "[0]"), {"z": (3, 0)}),
        ("b", ("main", "[3]", "[1]"), {"z": (3, 1)}),
        ("b", ("main", "[3]", "[2]"), {"z": (3, 2)}),
    ]
    result = await run(engine, {"n": 4})
    assert result["z"] == [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]


@GENERATORS
async def test_per_item_downstream_op_gets_item_context(source):
    calls = []

    @op
    def per(x):
        calls.append(x)
        return {"y": x * 10}

    with GraphOp(name="g") as g:
        a = source(n=PARENT["n"])
        b = per(x=a["item"])
        START >> a >> b >> END
    engine = Operon(g)
    frames = await frames_of(engine, {"n": 3})
    assert frames == [
        ("b", ("main", "[0]"), {"y": 0}),
        ("b", ("main", "[1]"), {"y": 10}),
        ("b", ("main", "[2]"), {"y": 20}),
    ]
    assert calls == [0, 1, 2]
    result = await run(engine, {"n": 3})
    assert result["y"] == [0, 10, 20]


async def test_generator_and_per_item_op_both_to_end():
    with GraphOp(name="g") as g:
        a = gen(n=2)
        b = dbl(x=a["item"])
        START >> a >> b
        [a, b] >> END
    engine = Operon(g)
    frames = await frames_of(engine, {})
    assert sorted(frames) == sorted([
        ("a", ("main", "[0]"), {"item": 0}),
        ("a", ("main", "[1]"), {"item": 1}),
        ("b", ("main", "[0]"), {"y": 0}),
        ("b", ("main", "[1]"), {"y": 2}),
    ])
    # each item's own frame comes before the frame of the op it feeds
    assert frames.index(("a", ("main", "[0]"), {"item": 0})) < frames.index(("b", ("main", "[0]"), {"y": 0}))
    result = await run(engine, {})
    assert (result["item"], result["y"]) == ([0, 1], [0, 2])


@GENERATORS
async def test_generator_yielding_nothing_adds_no_key(source):
    with GraphOp(name="g") as g:
        a = source(n=0)
        b = dbl(x=a["item"])
        START >> a >> b
        [a, b] >> END
    engine = Operon(g)
    result = await run(engine, {})
    assert "item" not in result and "y" not in result
    assert set(result) == {"$state"}
    assert await frames_of(engine, {}) == []


@GENERATORS
async def test_single_item_generator_result_is_scalar(source):
    with GraphOp(name="g") as g:
        a = source(n=1)
        START >> a >> END
    assert (await run(Operon(g), {}))["item"] == 0


async def test_generator_yields_several_keys_and_the_mapping_only():
    @op
    def pairs(n):
        for i in range(n):
            yield {"k": i, "v": str(i)}

    with GraphOp(name="g") as g:
        a = pairs(n=2)
        b = pairs(n=2, name="b", outputs={"v": PARENT["vv"]})
        START >> [a, b]
        [a, b] >> END
    frames = await frames_of(Operon(g), {})
    assert ("a", ("main", "[1]"), {"k": 1, "v": "1"}) in frames
    assert ("b", ("main", "[1]"), {"vv": "1"}) in frames
    assert len(frames) == 4


async def test_run_with_two_generators_groups_each():
    with GraphOp(name="g") as g:
        a = gen(n=3)
        b = agen(n=2, outputs={"item": PARENT["other"]}, name="b")
        START >> [a, b]
        [a, b] >> END
    result = await run(Operon(g), {})
    assert result["item"] == [0, 1, 2]
    assert result["other"] == [0, 1]


async def test_an_op_failing_on_an_async_generators_item_fails_the_run():
    import asyncio

    from operonx.errors import OpError

    @op
    async def ticks(n):
        for i in range(n):
            await asyncio.sleep(0.001)
            yield {"i": i}

    @op
    def picky(i):
        if i == 3:
            raise ValueError("no 3")
        return {"ok": i}

    with GraphOp(name="g") as g:
        t = ticks(n=50)
        p = picky(i=t["i"])
        START >> t >> p >> END
    with pytest.raises(OpError, match="no 3"):
        await asyncio.wait_for(Operon(g).run({}), 10)
