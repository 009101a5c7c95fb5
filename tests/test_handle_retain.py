"""The handle of a streaming run with retain_frames=False: every frame streams, consumed frames are
dropped, and without a consumer the run stops pulling."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from operonx import END, START, GraphOp, Operon, op
from operonx.errors import OperonUsageError

from handle_helpers import T, gen

pytestmark = pytest.mark.timeout(30)


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
