"""`"$state"` of a run: how many op runs it counts (every loop iteration's and every item's) and the
keys it lists (each `(full name, var)` once, though a loop or nested graph is two ops in the plan)."""

from __future__ import annotations

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op

pytestmark = pytest.mark.timeout(30)


@op
def inc(n):
    return {"n": n + 1}


@op
def dbl(n):
    return {"d": n * 2}


@op
def gen(n):
    for i in range(n):
        yield {"i": i}


def _nested_loop() -> GraphOp:
    with GraphOp(name="outer") as g:
        with GraphOp.loop(name="body", until="n >= 3", max_iterations=10, n=PARENT["n"]) as lp:
            a = inc(n=PARENT["n"])
            b = dbl(n=a["n"])
            START >> a >> b
            a >> END
        START >> lp >> END
    return g


def _root_loop() -> GraphOp:
    with GraphOp.loop(name="root", until="n >= 3", max_iterations=10, n=0) as lp:
        a = inc(n=PARENT["n"])
        b = dbl(n=a["n"])
        START >> a >> b
        a >> END
    return lp


def test_a_loop_counts_every_body_op_of_every_iteration():
    state = Operon(_nested_loop()).run_sync({"n": 0})["$state"]
    assert state.loops["outer.body"]["iterations"] == 3
    assert state.ops_run == 6  # 3 iterations x 2 body ops
    assert repr(state) == "RunState(name='outer', ops_run=6, keys=4)"


def test_a_nested_loop_lists_each_key_once():
    state = Operon(_nested_loop()).run_sync({"n": 0})["$state"]
    keys = state.keys()
    assert len(keys) == len(set(keys)) == len(state)
    assert set(keys) == {("outer", "n"), ("outer.body", "n"), ("outer.body.a", "n"), ("outer.body.b", "d")}
    assert list(state) == keys
    assert all(key in state for key in keys)
    assert state["outer.body.b", "d"] == 6
    assert state["outer.body", "n"] == 3


def test_a_root_loop_lists_its_variables_once():
    state = Operon(_root_loop()).run_sync({})["$state"]
    assert state.ops_run == 6
    keys = state.keys()
    assert keys.count(("root", "n")) == 1
    assert set(keys) == {("root", "n"), ("root.a", "n"), ("root.b", "d")}
    assert state["root", "n"] == 3


def test_a_nested_graph_lists_its_inputs_and_outputs_once():
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"n": PARENT["n"]}) as sub:
            a = inc(n=PARENT["n"])
            START >> a >> END
        START >> sub >> END
    state = Operon(g).run_sync({"n": 1})["$state"]
    keys = state.keys()
    assert keys.count(("g.sub", "n")) == 1
    assert state.ops_run == 1
    assert state["g.sub", "n"] == 2  # the nested graph's output is read before its input


def test_per_item_ops_count_once_per_item():
    with GraphOp(name="g") as g:
        src = gen(n=PARENT["n"])
        each = dbl(n=src["i"])
        START >> src >> each >> END
    state = Operon(g).run_sync({"n": 4})["$state"]
    assert state.ops_run == 5  # the generator once, its consumer once per item
    assert state.keys().count(("g.each", "d")) == 1

