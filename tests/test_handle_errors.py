"""The handle of a streaming run: errors raised mid-stream (by a generator or by an async op), and
collect / result refused at once without retained frames."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import OperonUsageError, OpError

from handle_helpers import T, gen

pytestmark = pytest.mark.timeout(30)


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
