"""Soft edges from an outer context into a stream ("soft gates") belong to the soft group of the op
they reach: the op runs once per item as soon as any member of its group is done, and is skipped only
when every member is dead, exactly as a soft join outside a stream behaves.
"""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op

pytestmark = pytest.mark.timeout(60)

T = 5


@op
def items():
    yield {"i": 10}
    yield {"i": 20}


@op
def step(n):
    return {"n": n + 1}


@op
def join(n):
    return {"j": n}


def outputs(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.startswith("$")}


@pytest.mark.parametrize("outer_enabled", [True, False])
def test_a_skipped_outer_soft_predecessor_does_not_skip_a_soft_join_whose_item_predecessor_ran(outer_enabled):
    with GraphOp(name="s") as g:
        gen = items()
        a = step(n=gen["i"], name="a")
        outer = step(n=PARENT["n"], name="outer")
        j = join(n=gen["i"], name="j")
        START >> gen >> a
        START >> outer
        a >> ~j
        outer >> ~j
        j >> END
    outer.enabled = outer_enabled
    assert outputs(Operon(g).run_sync({"n": 1})) == {"j": [10, 20]}


@pytest.mark.parametrize(("first", "second", "expected"), [
    (True, True, {"j": [10, 20]}),
    (True, False, {"j": [10, 20]}),
    (False, True, {"j": [10, 20]}),
    (False, False, {}),
])
def test_a_soft_group_made_only_of_outer_predecessors_runs_when_one_is_done(first, second, expected):
    with GraphOp(name="s") as g:
        gen = items()
        o1 = step(n=PARENT["n"], name="o1")
        o2 = step(n=PARENT["n"], name="o2")
        j = join(n=gen["i"], name="j")
        START >> [gen, o1, o2]
        gen >> j
        o1 >> ~j
        o2 >> ~j
        j >> END
    o1.enabled, o2.enabled = first, second
    assert outputs(Operon(g).run_sync({"n": 1})) == expected


async def test_a_soft_join_in_a_stream_does_not_wait_for_a_slow_outer_soft_predecessor():
    order = []

    @op
    async def slow(n):
        await asyncio.sleep(0.1)
        order.append("slow")
        return {"n": n}

    @op
    def record(n):
        order.append(("j", n))
        return {"j": n}

    with GraphOp(name="s") as g:
        gen = items()
        a = step(n=gen["i"], name="a")
        sl = slow(n=PARENT["n"], name="sl")
        j = record(n=gen["i"], name="j")
        START >> [gen, sl]
        gen >> a
        a >> ~j
        sl >> ~j
        [j, sl] >> END
    result = await asyncio.wait_for(Operon(g).run({"n": 1}), T)
    assert order == [("j", 10), ("j", 20), "slow"]
    assert outputs(result)["j"] == [10, 20]
