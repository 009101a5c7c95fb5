"""Streaming a run: frames, collect, wait_for, cancel and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from operonx import END, PARENT, START, ExecutionHandle, Frame, GraphOp, Operon, op
from operonx.errors import OperonError, OpError, RunCancelled


@op
async def tokens(text: str) -> AsyncIterator[dict[str, str]]:
    for word in text.split():
        await asyncio.sleep(0)
        yield {"token": word}


@op
def counts(n: int) -> Iterator[dict[str, int]]:
    yield from ({"i": i} for i in range(n))


@op
def fail(x: int) -> dict[str, int]:
    raise ValueError(f"bad {x}")


def streaming_graph() -> GraphOp:
    with GraphOp(name="stream") as g:
        t = tokens(text=PARENT["text"])
        c = counts(n=PARENT["n"])
        START >> [t, c] >> END
    return g


async def consume(engine: Operon) -> None:
    handle: ExecutionHandle = engine.start({"text": "a b c", "n": 2})
    async for frame in handle:
        name: str = frame.op
        context: tuple[str, ...] = frame.context
        data: dict[str, object] = frame.data
        print(name, context, data, frame)
    async for op_name, ctx, values in engine.start({"text": "d", "n": 1}):
        print(op_name, ctx, values)
    grouped = await engine.start({"text": "e f", "n": 0}).collect()
    flat = await engine.start({"text": "g", "n": 0}).collect("flat")
    print(grouped["token"], [row["token"] for row in flat])
    again = engine.start({"text": "h", "n": 3})
    first_token = await asyncio.wait_for(again.wait_for("t", "token"), timeout=5)
    last_i = await again["c", "i"]
    result = await again.result(unwrap=False)
    print(first_token, last_i, result, again.frame_count, again.done, again)


async def cancel_and_fail(engine: Operon) -> None:
    handle = engine.start({"text": "a b c d", "n": 1000})
    handle.cancel()
    print(handle.cancelled, await handle.collect())
    try:
        await handle.result()
    except RunCancelled as err:
        print("cancelled:", err)
    with GraphOp(name="failing") as g:
        START >> fail(x=PARENT["x"]) >> END
    try:
        await Operon(g).run({"x": 1})
    except OpError as err:
        print(err.op, err.graph, err.context, err.__cause__)
    lenient = await Operon(g).run({"x": 2}, errors="continue")
    errors: list[BaseException] = lenient["$errors"]
    print(errors)
    broken = Operon(g).start({"x": 3})
    try:
        frames: list[Frame] = [frame async for frame in broken]
        print(frames)
    except OperonError as err:
        print(type(err).__name__, broken.errors)


def sync_iteration(engine: Operon) -> None:
    for frame in engine.start({"text": "sync", "n": 1}):
        print(frame.op, frame.data)


async def main() -> None:
    engine = Operon(streaming_graph())
    await asyncio.wait_for(consume(engine), timeout=10)
    await asyncio.wait_for(cancel_and_fail(engine), timeout=10)
    results = await engine.batch([{"text": "x", "n": 1}, {"text": "y", "n": 2}])
    print(results, await engine({"text": "z", "n": 0}))


if __name__ == "__main__":
    asyncio.run(main())
    sync_iteration(Operon(streaming_graph()))
