"""The handle of a streaming run (``engine.start()``): iteration from async and sync code,
wait_for / handle[op, var], collect / result, frame_count / done, retain_frames=False, and errors
raised mid-stream."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import OperonUsageError, OpError

pytestmark = pytest.mark.timeout(30)

T = 10  # seconds: bound on every await that could hang


@op
def gen(n):
    for i in range(n):
        yield {"item": i}


@op
async def agen(n, pause=0.0):
    for i in range(n):
        await asyncio.sleep(pause)
        yield {"item": i}


@op
async def ainc(x):
    await asyncio.sleep(0.001)
    return {"y": x + 1}


@op
def inc(x):
    return {"y": x + 1}


def stream_graph(source=agen, n=3):
    """a: generator of n items (forwarded as 'item'), b: per-item x+1 (forwarded as 'y')."""
    with GraphOp(name="g") as g:
        a = source(n=n)
        b = ainc(x=a["item"])
        START >> a >> b
        [a, b] >> END
    return g


def chain():
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = ainc(x=a["y"], outputs={"y": PARENT["z"]})
        START >> a >> b
        [a, b] >> END
    return g


async def drain(handle) -> list:
    async def go():
        return [frame async for frame in handle]

    return await asyncio.wait_for(go(), T)


# ---------------------------------------------------------------------------
# Iteration
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# wait_for / handle[op, var]
# ---------------------------------------------------------------------------


async def test_wait_for_gives_last_buffered_value_after_the_end():
    handle = Operon(stream_graph(n=3)).start({})
    await asyncio.wait_for(handle.collect(), T)
    assert handle.done
    assert await asyncio.wait_for(handle.wait_for("a", "item"), T) == 2
    assert await asyncio.wait_for(handle["a", "item"], T) == 2
    assert await asyncio.wait_for(handle["b", "y"], T) == 3


async def test_wait_for_gives_first_value_to_arrive_while_running():
    with GraphOp(name="g") as g:
        a = agen(n=5, pause=0.01)
        START >> a >> END
    handle = Operon(g).start({})
    assert handle.frame_count == 0
    assert await asyncio.wait_for(handle.wait_for("a", "item"), T) == 0
    second = asyncio.ensure_future(handle["a", "item"])
    value = await asyncio.wait_for(second, T)
    assert value in (0, 1)  # the last buffered (0) unless item 1 arrived meanwhile
    await asyncio.wait_for(handle.collect(), T)
    assert await asyncio.wait_for(handle["a", "item"], T) == 4


async def test_wait_for_maps_graph_output_key():
    handle = Operon(chain()).start({"x": 1})
    assert await asyncio.wait_for(handle["b", "z"], T) == 3
    assert await asyncio.wait_for(handle["b", "y"], T) is None  # forwarded as z, not y
    assert await asyncio.wait_for(handle.wait_for("a", "y"), T) == 2


async def test_wait_for_is_none_when_the_run_ends_without_it():
    handle = Operon(stream_graph(n=2)).start({})
    pending = [
        asyncio.ensure_future(handle.wait_for("a", "missing")),
        asyncio.ensure_future(handle["nope", "item"]),
    ]
    assert await asyncio.wait_for(asyncio.gather(*pending), T) == [None, None]
    assert await asyncio.wait_for(handle.wait_for("a", "missing"), T) is None
    assert await asyncio.wait_for(handle.wait_for("nope", "x"), T) is None


async def test_wait_for_empty_generator_is_none():
    with GraphOp(name="g") as g:
        a = agen(n=0)
        START >> a >> END
    handle = Operon(g).start({})
    assert await asyncio.wait_for(handle["a", "item"], T) is None
    assert await asyncio.wait_for(handle.result(), T) == {}


async def test_two_consumers_async_for_and_wait_for():
    with GraphOp(name="g") as g:
        a = agen(n=6, pause=0.002)
        b = ainc(x=a["item"])
        START >> a >> b >> END
    handle = Operon(g).start({})

    async def iterate():
        return [frame async for frame in handle]

    async def wait():
        return await handle.wait_for("b", "y")

    frames, first = await asyncio.wait_for(asyncio.gather(iterate(), wait()), T)
    assert [f[2]["y"] for f in frames] == [1, 2, 3, 4, 5, 6]
    assert first == 1
    assert await asyncio.wait_for(handle["b", "y"], T) == 6


async def test_many_waiters_all_resolve():
    with GraphOp(name="g") as g:
        a = agen(n=3, pause=0.002)
        START >> a >> END
    handle = Operon(g).start({})
    waiters = [asyncio.ensure_future(handle["a", "item"]) for _ in range(5)]
    values = await asyncio.wait_for(asyncio.gather(*waiters), T)
    assert values == [0] * 5


# ---------------------------------------------------------------------------
# collect / result
# ---------------------------------------------------------------------------


async def test_collect_group_default():
    handle = Operon(stream_graph(source=gen, n=3)).start({})
    out = await asyncio.wait_for(handle.collect(), T)
    assert out == {"item": [0, 1, 2], "y": [1, 2, 3]}


async def test_collect_group_explicit_and_unwrap():
    engine = Operon(chain())
    assert await asyncio.wait_for(engine.start({"x": 1}).collect("group"), T) == {"y": [2], "z": [3]}
    assert await asyncio.wait_for(engine.start({"x": 1}).collect(unwrap=True), T) == {"y": 2, "z": 3}
    assert await asyncio.wait_for(engine.start({"x": 1}).collect("group", unwrap=True), T) == {"y": 2, "z": 3}
    handle = Operon(stream_graph(source=gen, n=3)).start({})
    assert await asyncio.wait_for(handle.collect(unwrap=True), T) == {"item": [0, 1, 2], "y": [1, 2, 3]}


async def test_collect_flat():
    engine = Operon(chain())
    assert await asyncio.wait_for(engine.start({"x": 1}).collect("flat"), T) == [{"y": 2}, {"z": 3}]
    assert await asyncio.wait_for(engine.start({"x": 1}).collect("flat", unwrap=True), T) == [{"y": 2}, {"z": 3}]


async def test_collect_bad_mode():
    handle = Operon(chain()).start({"x": 1})
    with pytest.raises(OperonUsageError):
        await asyncio.wait_for(handle.collect("nope"), T)
    await asyncio.wait_for(handle.collect(), T)


async def test_collect_after_partial_iteration_returns_the_rest():
    handle = Operon(stream_graph(source=gen, n=3)).start({})
    first = None

    async def one():
        nonlocal first
        async for frame in handle:
            first = frame
            break

    await asyncio.wait_for(one(), T)
    rest = await asyncio.wait_for(handle.collect("flat"), T)
    assert len(rest) == 5
    every = [first[2]] + rest
    assert sorted(every, key=repr) == sorted(
        [{"item": 0}, {"item": 1}, {"item": 2}, {"y": 1}, {"y": 2}, {"y": 3}], key=repr
    )
    # result() still sees every frame
    assert await asyncio.wait_for(handle.result(), T) == {"item": [0, 1, 2], "y": [1, 2, 3]}


async def test_result_unwrap_and_after_iteration():
    handle = Operon(chain()).start({"x": 1})
    await drain(handle)
    assert await asyncio.wait_for(handle.result(), T) == {"y": 2, "z": 3}
    assert await asyncio.wait_for(handle.result(unwrap=True), T) == {"y": 2, "z": 3}
    assert await asyncio.wait_for(handle.result(unwrap=False), T) == {"y": [2], "z": [3]}
    assert "$state" not in await handle.result()

    handle = Operon(stream_graph(n=3)).start({})
    assert len(await drain(handle)) == 6
    assert await asyncio.wait_for(handle.collect(), T) == {}
    result = await asyncio.wait_for(handle.result(unwrap=False), T)
    assert result["item"] == [0, 1, 2] and sorted(result["y"]) == [1, 2, 3]


async def test_result_without_iteration_matches_run():
    engine = Operon(stream_graph(source=gen, n=3))
    from_handle = await asyncio.wait_for(engine.start({}).result(), T)
    from_run = await asyncio.wait_for(engine.run({}), T)
    from_run.pop("$state")
    assert from_handle == from_run


async def test_frame_count_and_done():
    with GraphOp(name="g") as g:
        a = agen(n=4, pause=0.005)
        START >> a >> END
    handle = Operon(g).start({})
    assert not handle.done
    counts = []

    async def go():
        async for _ in handle:
            counts.append(handle.frame_count)

    await asyncio.wait_for(go(), T)
    assert counts == sorted(counts) and counts[-1] == 4 and counts[0] >= 1
    assert handle.done
    assert handle.frame_count == 4
    await asyncio.wait_for(handle.collect(), T)
    assert handle.frame_count == 4  # consuming does not lower it


async def test_done_after_collect_and_result():
    handle = Operon(chain()).start({"x": 0})
    await asyncio.wait_for(handle.result(), T)
    assert handle.done and handle.frame_count == 2


# ---------------------------------------------------------------------------
# retain_frames=False
# ---------------------------------------------------------------------------


async def test_retain_frames_false_streams_every_frame():
    with GraphOp(name="g") as g:
        a = gen(n=500)
        START >> a >> END
    handle = Operon(g).start({}, retain_frames=False)
    got = []

    async def go():
        async for _o, _c, data in handle:
            got.append(data["item"])
            if len(got) % 100 == 0:
                await asyncio.sleep(0.001)

    await asyncio.wait_for(go(), T)
    assert got == list(range(500))
    assert handle.done and handle.frame_count == 500
    with pytest.raises(OperonUsageError, match="retain_frames=False"):
        await asyncio.wait_for(handle.result(), T)
    with pytest.raises(OperonUsageError, match="(not kept|dropped)"):
        await asyncio.wait_for(handle.result(unwrap=False), T)


class Payload:
    pass


def payload_graph(n, pulled, refs):
    @op
    def objects(n):
        for i in range(n):
            pulled.append(i)
            obj = Payload()
            refs.append(weakref.ref(obj))
            yield {"obj": obj}

    with GraphOp(name="g") as g:
        a = objects(n=n)
        START >> a >> END
    return g


@pytest.mark.parametrize("retain", [True, False])
async def test_retain_frames_false_drops_frames_once_consumed(retain):
    pulled, refs = [], []
    handle = Operon(payload_graph(3000, pulled, refs)).start({}, retain_frames=retain)
    count = 0

    async def go():
        nonlocal count
        async for frame in handle:
            count += 1
            del frame

    await asyncio.wait_for(go(), T)
    gc.collect()
    alive = sum(r() is not None for r in refs)
    assert count == 3000
    if retain:
        assert alive == 3000  # kept for result()
        assert len((await asyncio.wait_for(handle.result(), T))["obj"]) == 3000
    else:
        assert alive < 50


async def test_retain_frames_false_without_consumer_stops_pulling():
    n = 100_000
    pulled, refs = [], []
    handle = Operon(payload_graph(n, pulled, refs)).start({}, retain_frames=False)

    async def until_it_stops():
        last = -1
        while len(pulled) != last:
            last = len(pulled)
            await asyncio.sleep(0.05)

    await asyncio.wait_for(until_it_stops(), T)
    assert len(pulled) < n  # the buffer is bounded: the generator waits for the consumer
    assert not handle.done
    count = 0

    async def go():
        nonlocal count
        async for _ in handle:
            count += 1

    await asyncio.wait_for(go(), 25)
    assert count == n and len(pulled) == n


# ---------------------------------------------------------------------------
# Errors mid-stream
# ---------------------------------------------------------------------------


@op
def fails_at_2(n):
    for i in range(n):
        if i == 2:
            raise ValueError("boom at 2")
        yield {"item": i}


@op
async def afails_at_2(n):
    for i in range(n):
        await asyncio.sleep(0)
        if i == 2:
            raise ValueError("boom at 2")
        yield {"item": i}


@pytest.mark.parametrize("source", [fails_at_2, afails_at_2], ids=["sync_gen", "async_gen"])
async def test_generator_error_mid_stream(source):
    with GraphOp(name="g") as g:
        a = source(n=5)
        START >> a >> END
    engine = Operon(g)
    handle = engine.start({})
    got = []

    async def go():
        async for frame in handle:
            got.append(frame)

    with pytest.raises(OpError) as exc:
        await asyncio.wait_for(go(), T)
    assert got == [("a", ("main", "[0]"), {"item": 0}), ("a", ("main", "[1]"), {"item": 1})]
    err = exc.value
    assert isinstance(err.__cause__, ValueError) and str(err.__cause__) == "boom at 2"
    assert "g.a" in str(err) and "boom at 2" in str(err)
    assert handle.done
    with pytest.raises(OpError):
        await asyncio.wait_for(handle.collect(), T)
    with pytest.raises(OpError) as again:
        await asyncio.wait_for(handle.result(), T)
    assert isinstance(again.value.__cause__, ValueError)
    # a fresh handle: collect() raises too, result() as well
    fresh = engine.start({})
    with pytest.raises(OpError):
        await asyncio.wait_for(fresh.collect(), T)
    with pytest.raises(OpError):
        await asyncio.wait_for(fresh.result(), T)
    with pytest.raises(OpError):
        await asyncio.wait_for(engine.run({}), T)


def test_generator_error_mid_stream_sync_for():
    with GraphOp(name="g") as g:
        a = afails_at_2(n=5)
        START >> a >> END
    handle = Operon(g).start({})
    got = []
    with pytest.raises(OpError) as exc:
        for frame in handle:
            got.append(frame)
    assert len(got) == 2
    assert isinstance(exc.value.__cause__, ValueError)


async def test_async_op_error_after_some_frames():
    @op
    async def picky(x):
        await asyncio.sleep(0.001)
        if x == 2:
            raise KeyError("no two")
        return {"y": x}

    with GraphOp(name="g") as g:
        a = gen(n=5)
        b = picky(x=a["item"])
        START >> a >> b >> END
    handle = Operon(g).start({})
    got = []

    async def go():
        async for frame in handle:
            got.append(frame)

    with pytest.raises(OpError) as exc:
        await asyncio.wait_for(go(), T)
    assert got == [("b", ("main", "[0]"), {"y": 0}), ("b", ("main", "[1]"), {"y": 1})]
    assert isinstance(exc.value.__cause__, KeyError)
    assert exc.value.context == ("main", "[2]")
    with pytest.raises(OpError):
        await asyncio.wait_for(handle.collect(), T)
    with pytest.raises(OpError):
        await asyncio.wait_for(handle.result(unwrap=False), T)
    # frames produced before the error stay readable through wait_for
    assert await asyncio.wait_for(handle["b", "y"], T) == 1


async def test_collect_and_result_refuse_at_once_without_retained_frames():
    # A stream whose frames are not retained pauses at ~1024 unconsumed frames: waiting for the end
    # of the run would hang, so both say why they cannot answer, immediately.
    @op
    def endless(n):
        i = 0
        while True:
            yield {"i": i}
            i += 1

    with GraphOp(name="g") as g:
        s = endless(n=PARENT["n"])
        START >> s >> END
    handle = Operon(g).start({"n": 0}, retain_frames=False)
    for call in (handle.collect, handle.result):
        with pytest.raises(OperonUsageError, match="retain_frames=False"):
            await asyncio.wait_for(call(), 2)
    handle.cancel()
