"""Unknown keywords of run, run_sync, start, batch and engine(...) are a TypeError in every path:
sync-only graphs (run in Rust at once), graphs with async ops, with middleware, and an empty batch."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Middleware, Operon, op


@op
def inc(x):
    return {"y": x + 1}


@op
async def ainc(x):
    return {"y": x + 1}


class Passthrough(Middleware):
    async def before_run(self, graph, inputs, context):
        return inputs


def engine(kind: str) -> Operon:
    with GraphOp(name="g") as g:
        a = (ainc if kind == "async" else inc)(x=PARENT["x"])
        START >> a >> END
    return Operon(g, middleware=[Passthrough()] if kind == "middleware" else None)


def call(e: Operon, how: str):
    if how == "run_sync":
        return e.run_sync({"x": 1}, bogus=1)
    if how == "start":
        return e.start({"x": 1}, bogus=1)

    async def main():
        if how == "run":
            return await asyncio.wait_for(e.run({"x": 1}, bogus=1), 10)
        if how == "call":
            return await asyncio.wait_for(e({"x": 1}, bogus=1), 10)
        if how == "batch":
            return await asyncio.wait_for(e.batch([{"x": 1}], bogus=1), 10)
        return await asyncio.wait_for(e.batch([], bogus=1), 10)

    return asyncio.run(main())


@pytest.mark.parametrize("kind", ["sync", "async", "middleware"])
@pytest.mark.parametrize("how", ["run_sync", "run", "call", "start", "batch", "empty batch"])
def test_an_unknown_keyword_is_a_type_error(kind, how):
    with pytest.raises(TypeError, match="bogus"):
        call(engine(kind), how)


@pytest.mark.parametrize("kind", ["sync", "async", "middleware"])
def test_the_known_keywords_work_in_every_path(kind):
    e = engine(kind)
    ids = {"user_id": "u", "session_id": "s", "errors": "raise"}
    assert e.run_sync({"x": 1}, request_id="r", **ids)["y"] == 2

    async def main():
        return await asyncio.wait_for(e.batch([{"x": 1}, {"x": 2}], **ids), 10)

    assert [r["y"] for r in asyncio.run(main())] == [2, 3]
