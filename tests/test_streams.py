"""Streams in the engine: generator ops, item contexts, the sequential / parallel / collect
policies, batch values broadcast to per-item ops, and sync generators that stream as they produce."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, FuncOp, GraphOp, Operon, op

pytestmark = pytest.mark.timeout(30)

T = 10  # seconds: bound on every await that could hang


async def frames_of(engine: Operon, inputs: dict) -> list[tuple]:
    handle = engine.start(inputs)

    async def drain():
        return [frame async for frame in handle]

    return await asyncio.wait_for(drain(), T)


async def run(engine: Operon, inputs: dict) -> dict:
    return await asyncio.wait_for(engine.run(inputs), T)


@op
def gen(n):
    for i in range(n):
        yield {"item": i}


@op
async def agen(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield {"item": i}


GENERATORS = pytest.mark.parametrize("source", [gen, agen], ids=["sync_gen", "async_gen"])


@op
def dbl(x):
    return {"y": x * 2}


@op
def sub(x):
    for j in range(x):
        yield {"z": (x, j)}


# ---------------------------------------------------------------------------
# Generator ops and contexts
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------


def timed_per_item(events, durations):
    """An async per-item op that logs ("start"/"end", x) and sleeps durations[x]."""

    @op
    async def work(x):
        events.append(("start", x))
        await asyncio.sleep(durations[x])
        events.append(("end", x))
        return {"y": x}

    return work


@GENERATORS
async def test_sequential_default_runs_items_one_at_a_time_in_order(source):
    events = []
    n = 5
    work = timed_per_item(events, [0.02 - 0.004 * i for i in range(n)])  # later items are faster
    with GraphOp(name="g") as g:
        a = source(n=n)
        b = work(x=a["item"])
        START >> a >> b >> END
    frames = await frames_of(Operon(g), {})
    expected = []
    for i in range(n):
        expected += [("start", i), ("end", i)]
    assert events == expected
    assert frames == [("b", ("main", f"[{i}]"), {"y": i}) for i in range(n)]


@GENERATORS
async def test_parallel_runs_items_concurrently_completion_order(source):
    events = []
    n = 4
    work = timed_per_item(events, [0.03 * (n - i) for i in range(n)])  # item 0 is slowest
    with GraphOp(name="g") as g:
        a = source(n=n)
        b = work(x=a["item"].parallel())
        START >> a >> b >> END
    frames = await frames_of(Operon(g), {})
    # every item starts before any finishes
    assert [e for e, _ in events[:n]] == ["start"] * n
    assert frames == [("b", ("main", f"[{i}]"), {"y": i}) for i in reversed(range(n))]
    assert [f[2]["y"] for f in frames] != list(range(n))


@GENERATORS
async def test_parallel_max_caps_concurrency(source):
    active = 0
    peak = 0
    done = []

    @op
    async def work(x):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            await asyncio.sleep(0.01)
        finally:
            active -= 1
        done.append(x)
        return {"y": x}

    with GraphOp(name="g") as g:
        a = source(n=8)
        b = work(x=a["item"].parallel(max=2))
        START >> a >> b >> END
    engine = Operon(g)
    frames = await frames_of(engine, {})
    assert peak == 2
    assert sorted(f[2]["y"] for f in frames) == list(range(8))
    assert all(ctx == ("main", f"[{data['y']}]") for _, ctx, data in frames)
    result = await run(engine, {})
    assert sorted(result["y"]) == list(range(8))


async def test_parallel_max_one_is_sequential():
    events = []
    work = timed_per_item(events, [0.02, 0.01, 0.0])
    with GraphOp(name="g") as g:
        a = gen(n=3)
        b = work(x=a["item"].parallel(max=1))
        START >> a >> b >> END
    frames = await frames_of(Operon(g), {})
    assert [f[2]["y"] for f in frames] == [0, 1, 2]
    assert events == [("start", 0), ("end", 0), ("start", 1), ("end", 1), ("start", 2), ("end", 2)]


@GENERATORS
async def test_collect_on_generator_output_calls_consumer_once(source):
    calls = []

    @op
    def total(xs):
        calls.append(list(xs))
        return {"tot": sum(xs), "xs": list(xs)}

    with GraphOp(name="g") as g:
        a = source(n=PARENT["n"])
        c = total(xs=a["item"].collect())
        START >> a >> c >> END
    engine = Operon(g)
    frames = await frames_of(engine, {"n": 4})
    assert frames == [("c", ("main", "__collect__"), {"tot": 6, "xs": [0, 1, 2, 3]})]
    assert calls == [[0, 1, 2, 3]]
    result = await run(engine, {"n": 4})
    assert (result["tot"], result["xs"]) == (6, [0, 1, 2, 3])


async def test_collect_consumer_runs_after_the_generator_ends():
    pulled = []

    @op
    def source_(n):
        for i in range(n):
            pulled.append(i)
            yield {"item": i}

    seen = []

    @op
    def total(xs):
        seen.append(len(pulled))
        return {"n": len(xs)}

    with GraphOp(name="g") as g:
        a = source_(n=50)
        c = total(xs=a["item"].collect())
        START >> a >> c >> END
    assert (await run(Operon(g), {}))["n"] == 50
    assert seen == [50]


async def test_collect_on_per_item_output_does_not_aggregate():
    calls = []

    @op
    def total(xs):
        calls.append(xs)
        return {"tot": xs}

    with GraphOp(name="g") as g:
        a = gen(n=3)
        d = dbl(x=a["item"])
        c = total(xs=d["y"].collect())
        START >> a >> d >> c >> END
    frames = await frames_of(Operon(g), {})
    assert frames == [
        ("c", ("main", "[0]", "__collect__"), {"tot": [0]}),
        ("c", ("main", "[1]", "__collect__"), {"tot": [2]}),
        ("c", ("main", "[2]", "__collect__"), {"tot": [4]}),
    ]
    assert calls == [[0], [2], [4]]




@GENERATORS
async def test_collect_of_empty_generator_does_not_call_the_consumer(source):
    calls = []

    @op
    def total(xs):
        calls.append(xs)
        return {"tot": xs}

    with GraphOp(name="g") as g:
        a = source(n=0)
        c = total(xs=a["item"].collect())
        START >> a >> c >> END
    engine = Operon(g)
    frames = await frames_of(engine, {})
    result = await run(engine, {})
    assert (frames, calls, set(result)) == ([], [], {"$state"})


async def test_collect_of_empty_inner_stream_does_not_call_the_consumer():
    calls = []

    @op
    def total(xs):
        calls.append(xs)
        return {"tot": xs}

    with GraphOp(name="g") as g:
        a = gen(n=3)
        b = sub(x=a["item"])  # item 0 yields nothing
        c = total(xs=b["z"].collect())
        START >> a >> b >> c >> END
    frames = await frames_of(Operon(g), {})
    assert frames == [
        ("c", ("main", "[1]", "__collect__"), {"tot": [(1, 0)]}),
        ("c", ("main", "[2]", "__collect__"), {"tot": [(2, 0), (2, 1)]}),
    ]
    assert calls == [[(1, 0)], [(2, 0), (2, 1)]]


async def test_collect_of_inner_stream_per_outer_item():
    with GraphOp(name="g") as g:
        a = gen(n=4)
        b = sub(x=a["item"])
        c = FuncOp(code_fn=lambda xs: {"tot": xs}, inputs={"xs": b["z"].collect()}, name="c")
        START >> a >> b >> c >> END
    frames = await frames_of(Operon(g), {})
    nonempty = [f for f in frames if f[2]["tot"]]
    assert nonempty == [
        ("c", ("main", "[1]", "__collect__"), {"tot": [(1, 0)]}),
        ("c", ("main", "[2]", "__collect__"), {"tot": [(2, 0), (2, 1)]}),
        ("c", ("main", "[3]", "__collect__"), {"tot": [(3, 0), (3, 1), (3, 2)]}),
    ]


@GENERATORS
async def test_batch_value_broadcast_to_every_item(source):
    slow_calls = []
    combos = []

    @op
    async def slow(v):
        slow_calls.append(v)
        await asyncio.sleep(0.05)
        return {"b": v * 10}

    @op
    def comb(x, b):
        combos.append((x, b))
        return {"c": (x, b)}

    with GraphOp(name="g") as g:
        a = source(n=3)
        s = slow(v=PARENT["v"])
        c = comb(x=a["item"], b=s["b"])
        START >> [a, s]
        [a, s] >> c >> END
    frames = await frames_of(Operon(g), {"v": 7})
    assert frames == [("c", ("main", f"[{i}]"), {"c": (i, 70)}) for i in range(3)]
    assert combos == [(0, 70), (1, 70), (2, 70)]
    assert slow_calls == [7]


async def test_batch_value_from_a_sync_op_broadcast_with_parallel():
    @op
    def base(v):
        return {"b": v}

    @op
    async def comb(x, b):
        await asyncio.sleep(0.001 * (5 - x))
        return {"c": x + b}

    with GraphOp(name="g") as g:
        a = agen(n=5)
        s = base(v=100)
        c = comb(x=a["item"].parallel(), b=s["b"])
        START >> [s, a]
        [a, s] >> c >> END
    result = await run(Operon(g), {})
    assert sorted(result["c"]) == [100, 101, 102, 103, 104]


async def test_generator_input_from_batch_op():
    @op
    async def count(v):
        await asyncio.sleep(0.01)
        return {"n": v}

    with GraphOp(name="g") as g:
        c = count(v=PARENT["v"])
        a = gen(n=c["n"])
        b = dbl(x=a["item"])
        START >> c >> a >> b >> END
    frames = await frames_of(Operon(g), {"v": 3})
    assert frames == [("b", ("main", f"[{i}]"), {"y": 2 * i}) for i in range(3)]


async def test_per_item_chain_keeps_item_context():
    @op
    async def inc(y):
        await asyncio.sleep(0)
        return {"w": y + 1}

    with GraphOp(name="g") as g:
        a = gen(n=3)
        b = dbl(x=a["item"])
        c = inc(y=b["y"])
        START >> a >> b >> c >> END
    frames = await frames_of(Operon(g), {})
    assert frames == [("c", ("main", f"[{i}]"), {"w": 2 * i + 1}) for i in range(3)]


# ---------------------------------------------------------------------------
# Sync generators stream as they produce
# ---------------------------------------------------------------------------

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
