"""The handle of a streaming run: wait_for / handle[op, var], collect / result, frame_count / done."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, START, GraphOp, Operon
from operonx.errors import OperonUsageError

from handle_helpers import T, agen, ainc, chain, drain, gen, stream_graph

pytestmark = pytest.mark.timeout(30)


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
