"""`await engine.run()`, `await handle.result()` and `await handle.collect(unwrap=True)` build the run's
result with one grouping (in the core): frames of loop iterations that were not the last stream, but
are in none of the three. They used to disagree on loops: `run()` gave the last iteration,
`result()` and `collect()` a list over every iteration."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operonx import END, PARENT, START, GraphOp, Operon, op

pytestmark = pytest.mark.timeout(60)


@op
def step(n: int):
    return {"n": n + 1}


@op
def double(x: int):
    return {"y": x * 2}


def root_loop(stop: int, max_iterations: int) -> GraphOp:
    with GraphOp.loop(name="lp", until=f"n >= {stop}", max_iterations=max_iterations, n=0) as g:
        s = step(n=PARENT["n"])
        START >> s >> END
    return g


def nested_loop(stop: int, max_iterations: int) -> GraphOp:
    with GraphOp(name="outer") as g:
        d = double(x=PARENT["x"])
        with GraphOp.loop(name="lp", until=f"n >= {stop}", max_iterations=max_iterations, n=d["y"]) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        START >> d >> lp >> END
    return g


async def three_ways(g: GraphOp, inputs: dict) -> tuple[dict, dict, dict, list]:
    engine = Operon(g)
    ran = await asyncio.wait_for(engine.run(inputs), 10)
    ran = {k: v for k, v in ran.items() if not k.startswith("$")}
    result = await asyncio.wait_for(engine.start(inputs).result(), 10)
    collected = await asyncio.wait_for(engine.start(inputs).collect(unwrap=True), 10)
    streamed = [f async for f in engine.start(inputs)]
    return ran, result, collected, streamed


async def test_a_root_loop_gives_the_last_iteration_three_ways():
    ran, result, collected, streamed = await three_ways(root_loop(3, 10), {})
    assert ran == result == collected == {"n": 3}
    assert [data["n"] for _, _, data in streamed] == [1, 2, 3]


@settings(max_examples=30, deadline=None)
@given(stop=st.integers(-1, 6), max_iterations=st.integers(1, 6), x=st.integers(-2, 3), nested=st.booleans())
def test_run_result_and_collect_agree_on_loops(stop, max_iterations, x, nested):
    g = nested_loop(stop, max_iterations) if nested else root_loop(stop, max_iterations)
    inputs = {"x": x} if nested else {}
    ran, result, collected, streamed = asyncio.run(three_ways(g, inputs))
    assert ran == result == collected
    start = 2 * x if nested else 0
    iterations = max(1, min(max_iterations, stop - start)) if stop > start else 1
    assert ran == {"n": start + iterations}
    assert len(streamed) == iterations
