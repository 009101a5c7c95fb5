"""What the engine's stream tests (tests/test_streams.py, test_stream_policies.py and
test_stream_sync_generators.py) share: a bounded run and frame reader, a sync and an async generator op
(GENERATORS runs a test with each), and two per-item ops."""

from __future__ import annotations

import asyncio

import pytest

from operonx import Operon, op


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
