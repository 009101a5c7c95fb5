"""What the handle tests (tests/test_handle*.py) share: generator and per-item ops, a streaming graph
and a two-op chain, and a bounded drain of a handle."""

from __future__ import annotations

import asyncio

from operonx import END, PARENT, START, GraphOp, op


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
