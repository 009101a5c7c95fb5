"""Loops whose body holds control flow or streams: a branch, a loop skipped by a branch, generators
and collects, a loop per item of a stream, async ops, and cancelling a running loop."""

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.core.ops import if_
from operonx.errors import RunCancelled

from loop_helpers import frames_of, outputs, step

pytestmark = pytest.mark.timeout(30)


async def test_a_branch_inside_the_body_chooses_each_iteration():
    @op
    def small(n: int):
        return {"n": n + 1, "path": "small"}

    @op
    def big(n: int):
        return {"n": n + 10, "path": "big"}

    with GraphOp.loop(name="lp", until="n >= 30", n=0) as g:
        router = if_(PARENT["n"] < 3, "s").else_("b")
        s = small(n=PARENT["n"])
        b = big(n=PARENT["n"])
        START >> router >> [s, b]
        [s, b] >> END
    frames = await frames_of(Operon(g))
    assert [f[2]["path"] for f in frames if f[0] in ("s", "b")] == ["small"] * 3 + ["big"] * 3
    result = await Operon(g).run({})
    assert outputs(result) == {"n": 33, "path": "big"}


async def test_a_loop_not_taken_by_a_branch_is_skipped_with_its_successors():
    ran = []

    @op
    def after(n: int):
        ran.append(n)
        return {"after": n}

    @op
    def other(x: int):
        return {"other": x}

    with GraphOp(name="g") as g:
        router = if_(PARENT["x"] > 0, "lp").else_("o")
        with GraphOp.loop(name="lp", until="n >= 3", n=0) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        o = other(x=PARENT["x"])
        a = after(n=lp["n"])
        START >> router >> [lp, o]
        lp >> a >> END
        o >> END
    assert outputs(await Operon(g).run({"x": -1})) == {"other": -1}
    assert ran == []
    assert outputs(await Operon(g).run({"x": 1})) == {"after": 3}


async def test_a_generator_and_a_collect_inside_the_body():
    @op
    def spread(n: int):
        for i in range(n + 1):
            yield {"item": i}

    @op
    def total(items: list, n: int):
        return {"n": n + 1, "total": sum(items)}

    with GraphOp.loop(name="lp", until="n >= 3", n=0) as g:
        gen = spread(n=PARENT["n"])
        t = total(items=gen["item"].collect(), n=PARENT["n"])
        START >> gen >> t >> END
    result = await Operon(g).run({})
    assert outputs(result) == {"n": 3, "total": 3}
    frames = await frames_of(Operon(g))
    assert [f[1] for f in frames] == [("main", f"loop_{i}", "__collect__") for i in range(3)]


async def test_items_of_an_async_generator_stream_out_of_each_iteration():
    @op
    async def tokens(n: int):
        for i in range(2):
            await asyncio.sleep(0)
            yield {"tok": f"{n}.{i}"}

    @op
    def bump(tok: str, n: int):
        return {"seen": tok}

    with GraphOp.loop(name="lp", until=None, max_iterations=2, n=0) as g:
        t = tokens(n=PARENT["n"])
        b = bump(tok=t["tok"], n=PARENT["n"])
        START >> t >> b >> END
    frames = await frames_of(Operon(g))
    assert [(f[1], f[2]["seen"]) for f in frames] == [
        (("main", "loop_0", "[0]"), "0.0"),
        (("main", "loop_0", "[1]"), "0.1"),
        (("main", "loop_1", "[0]"), "0.0"),
        (("main", "loop_1", "[1]"), "0.1"),
    ]


async def test_a_loop_runs_once_per_item_of_a_stream():
    @op
    def starts():
        for s in (0, 5):
            yield {"s": s}

    with GraphOp(name="g") as g:
        gen = starts()
        with GraphOp.loop(name="lp", until="n % 3 == 0", n=gen["s"]) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        START >> gen >> lp >> END
    frames = await frames_of(Operon(g))
    finals = {f[1][:2]: f[2]["n"] for f in frames}
    assert finals == {("main", "[0]"): 3, ("main", "[1]"): 6}
    result = await Operon(g).run({})
    assert sorted(outputs(result)["n"]) == [3, 6]
    assert result["$state"].loops["g.lp"]["runs"] == 2


async def test_async_ops_in_the_body():
    @op
    async def slow_step(n: int):
        await asyncio.sleep(0.001)
        return {"n": n + 1}

    with GraphOp.loop(name="lp", until="n >= 5", n=0) as g:
        s = slow_step(n=PARENT["n"])
        START >> s >> END
    assert outputs(await Operon(g).run({})) == {"n": 5}


async def test_cancelling_a_running_loop_completes_the_handle():
    started = asyncio.Event()

    @op
    async def forever(n: int):
        started.set()
        await asyncio.sleep(0.01)
        return {"n": n + 1}

    with GraphOp.loop(name="lp", until=None, max_iterations=10_000, n=0) as g:
        s = forever(n=PARENT["n"])
        START >> s >> END
    handle = Operon(g).start({})
    got = []

    async def consume():
        async for f in handle:
            got.append(f)
            if len(got) == 2:
                handle.cancel()

    await asyncio.wait_for(consume(), 5)
    assert len(got) == 2
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), 5)
