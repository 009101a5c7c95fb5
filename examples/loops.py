"""Loops: a graph run again and again, each iteration's outputs feeding the next, until a condition holds.

Run it with `python examples/loops.py`.
"""

import asyncio

from operonx import END, PARENT, START, GraphOp, Operon, graph, op


@op
def grow(total, step):
    return {"total": total + step, "step": step * 2}


# A root loop: `until` is an expression over the loop's variables, checked after each iteration.
# The keyword arguments are the variables' initial values; run inputs override them.
with GraphOp.loop(name="doubling", until="total >= 100", max_iterations=20, total=0, step=1) as doubling:
    grown = grow(total=PARENT["total"], step=PARENT["step"])
    START >> grown >> END


@op
def decrement(n):
    return {"n": n - 1}


# A loop made by a factory, used as a node of another graph. `until` may also be a callable,
# given the loop's variables as a dict.
@graph(name="countdown", until=lambda v: v["n"] <= 0, max_iterations=10)
def countdown(n):
    tick = decrement(n=n)
    tick["n"] >> PARENT["n"]
    START >> tick


@op
def announce(n):
    return {"message": f"countdown ended at {n}"}


with GraphOp(name="launch") as launch:
    loop = countdown(n=PARENT["start"])
    done = announce(n=loop["n"])
    START >> loop >> done >> END


async def main() -> None:
    engine = Operon(doubling)

    # Every iteration's frames stream, tagged with the iteration's context.
    async for name, ctx, data in engine.start({}):
        print("frame:", ctx, data)

    # run() gives the last iteration's outputs; "$state".loops counts iterations.
    result = await engine.run({"step": 10})
    print("from step 10:", result["total"], "after", result["$state"].loops["doubling"]["iterations"], "iterations")

    # A loop that reaches max_iterations ends normally; "$state".loops says so.
    result = await engine.run({"step": 0})
    print("stuck loop:", result["$state"].loops["doubling"])

    result = await Operon(launch).run({"start": 3})
    print(result["message"])


if __name__ == "__main__":
    asyncio.run(main())
