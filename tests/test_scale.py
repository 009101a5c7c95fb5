"""Large graphs build and run under Python's default recursion limit (no recursion anywhere)."""

import sys

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op

pytestmark = pytest.mark.timeout(300)

N = 100_000


@op
def inc(x):
    return {"y": x + 1}


@op
def join(x):
    return {"done": x}


def test_chain_of_100k_ops():
    assert sys.getrecursionlimit() <= 1000
    with GraphOp(name="chain") as g:
        prev = inc(x=PARENT["x"], name="n0")
        START >> prev
        for i in range(1, N):
            node = inc(x=prev["y"], name=f"n{i}")
            prev >> node
            prev = node
        prev >> END
    assert Operon(g).run_sync({"x": 0})["y"] == N


def test_fan_out_to_100k_ops():
    with GraphOp(name="fan") as g:
        src = inc(x=PARENT["x"], name="src")
        leaves = [inc(x=src["y"], name=f"l{i}") for i in range(N)]
        last = join(x=leaves[-1]["y"], name="last")
        START >> src >> leaves >> last >> END
    assert Operon(g).run_sync({"x": 0})["done"] == 2
