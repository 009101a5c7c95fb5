"""Streams in the engine: the sequential / parallel / collect policies, and batch values broadcast to
per-item ops."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, FuncOp, GraphOp, Operon, op

from stream_helpers import GENERATORS, agen, dbl, frames_of, gen, run, sub

pytestmark = pytest.mark.timeout(30)


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
