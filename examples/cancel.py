"""Cancelling a run: `handle.cancel()` stops the running ops, starts nothing new and completes the handle.

Run it with `python examples/cancel.py`.
"""

import asyncio

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import RunCancelled


ticks_made = 0


@op
async def ticker(n):
    # An endless-looking stream: far more ticks than we will wait for.
    global ticks_made
    for i in range(n):
        await asyncio.sleep(0.01)
        ticks_made += 1
        yield {"tick": i}


with GraphOp(name="clock") as g:
    t = ticker(n=PARENT["n"])
    START >> t >> END


async def main() -> None:
    engine = Operon(g)

    # 1. Cancel while iterating: the iteration ends after the frames that had arrived.
    handle = engine.start({"n": 1_000_000})
    async for name, ctx, data in handle:
        print("frame:", data)
        if data["tick"] == 2:
            handle.cancel()
    print("cancelled:", handle.cancelled, "done:", handle.done)

    # 2. Cancel from outside, without iterating: collect() returns what arrived ...
    handle = engine.start({"n": 1_000_000})
    await asyncio.sleep(0.1)  # let some ticks through
    handle.cancel()
    arrived = await asyncio.wait_for(handle.collect(), timeout=10)
    print("collect() after cancel:", len(arrived.get("tick", [])), "ticks")

    # ... and result(), which stands for a whole run, raises RunCancelled.
    try:
        await asyncio.wait_for(handle.result(), timeout=10)
    except RunCancelled as e:
        print("result() raised RunCancelled:", e)

    # 3. Cancelling the task that awaits run() (here: a timeout) cancels the run: the generator stops.
    try:
        await asyncio.wait_for(engine.run({"n": 1_000_000}), timeout=0.05)
    except TimeoutError:
        before = ticks_made
        await asyncio.sleep(0.1)
        print("run() timed out; ticks made after that:", ticks_made - before)


if __name__ == "__main__":
    asyncio.run(main())
