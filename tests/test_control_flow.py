"""Branches and nested graphs, run on the engine (loops: tests/test_loops.py)."""

import asyncio

import pytest

from operonx import END, PARENT, START, BranchOp, GraphOp, Operon, op
from operonx.core.ops import if_
from operonx.errors import GraphValidationError

pytestmark = pytest.mark.timeout(30)

calls: list = []


@op
def a(x):
    calls.append("a")
    return {"r": f"a{x}"}


@op
def b(x):
    calls.append("b")
    return {"r": f"b{x}"}


@op
def c(x):
    calls.append("c")
    return {"r": f"c{x}"}


@op
def inc(x):
    return {"y": x + 1}


@op
def join(r):
    calls.append("join")
    return {"j": r}


@pytest.fixture(autouse=True)
def _clear():
    calls.clear()


def router_graph(default=True):
    with GraphOp(name="g") as g:
        chain = if_(PARENT["score"] >= 90, "hi").if_((PARENT["score"] >= 50) & (PARENT["kind"] == "x"), "mid")
        if default:
            router = chain.else_("lo")
        else:
            router = chain.build()
        hi = a(x=PARENT["score"])
        mid = b(x=PARENT["score"])
        START >> router >> [hi, mid]
        [hi, mid] >> END
        if default:
            lo = c(x=PARENT["kind"])
            router >> lo >> END
        router["target"] >> PARENT["t"]
        router["matched"] >> PARENT["m"]
    return g


@pytest.mark.parametrize(
    "score,kind,target,matched,ran",
    [
        (95, "x", "hi", "score >= 90", ["a"]),
        (60, "x", "mid", "score >= 50 and kind == 'x'", ["b"]),
        (60, "y", "lo", "default", ["c"]),
        (10, "x", "lo", "default", ["c"]),
    ],
)
async def test_first_matching_case_wins_else_default(score, kind, target, matched, ran):
    result = await Operon(router_graph()).run({"score": score, "kind": kind})
    assert result["t"] == target and result["m"] == matched
    assert calls == ran


async def test_no_match_and_no_default_runs_no_target():
    result = await Operon(router_graph(default=False)).run({"score": 10, "kind": "y"})
    assert calls == []
    assert result["t"] is None and "r" not in result


async def test_a_condition_that_raises_takes_the_default():
    # "score" is missing: the comparison cannot be evaluated, so the case does not hold.
    result = await Operon(router_graph()).run({"kind": "x"})
    assert result["t"] == "lo" and calls == ["c"] and result["r"] == "cx"


async def test_router_frame_comes_before_the_targets():
    handle = Operon(router_graph()).start({"score": 95, "kind": "x"})
    frames = [f async for f in handle]
    assert [f[0] for f in frames] == ["router", "hi"]
    assert frames[0][2] == {"t": "hi", "m": "score >= 90"}


async def test_branch_op_with_inputs():
    with GraphOp(name="g") as g:
        src = inc(x=PARENT["x"])
        router = BranchOp(name="router", cases=[(PARENT["s"] > 5, "big")], default="small", inputs={"s": src["y"]})
        big = a(x=src["y"], name="big")
        small = b(x=src["y"], name="small")
        START >> src >> router >> [big, small] >> END
    assert (await Operon(g).run({"x": 10}))["r"] == "a11"
    assert (await Operon(g).run({"x": 1}))["r"] == "b2"


async def test_skip_propagates_past_a_branch_to_hard_joins_but_soft_joins_fire():
    with GraphOp(name="g") as g:
        router = if_(PARENT["go"] == 1, "left").else_("right")
        left = a(x=PARENT["go"], name="left")
        right = b(x=PARENT["go"], name="right")
        after_left = join(r=left["r"], name="after_left")
        soft = join(r=PARENT["go"], name="soft")
        START >> router >> [left, right]
        left >> after_left >> END
        [left, right] > soft
        soft >> END
    result = await Operon(g).run({"go": 2})
    assert "after_left" not in calls and calls.count("join") == 1
    assert result["j"] == 2


def test_unknown_branch_target_is_a_validation_error():
    with GraphOp(name="g") as g:
        router = if_(PARENT["x"] > 1, "nowhere").else_("there")
        there = a(x=PARENT["x"], name="there")
        START >> router >> there >> END
    with pytest.raises(GraphValidationError, match="nowhere"):
        Operon(g)


def nested(depth):
    """outer: first >> l0 >> END, where each level l_i holds n_i >> l_{i+1} >> END, innermost n >> END."""
    with GraphOp(name="outer") as g:
        first = inc(x=PARENT["x"], name="first")
        levels = []
        prev = first
        for level in range(depth):
            sub = GraphOp(name=f"l{level}", inputs={"v": prev["y"]})
            sub.__enter__()
            node = inc(x=PARENT["v"], name=f"n{level}")
            START >> node
            levels.append((sub, node))
            prev = node
        levels[-1][1] >> END
        for i in range(depth - 1, -1, -1):
            sub, _ = levels[i]
            sub.__exit__(None, None, None)
            parent_node = levels[i - 1][1] if i > 0 else first
            if i == 0:
                START >> parent_node
            parent_node >> sub >> END
    return g


async def test_nested_graph_inputs_outputs_and_one_frame():
    with GraphOp(name="outer") as g:
        a1 = inc(x=PARENT["x"], name="a1")
        with GraphOp(name="inner", inputs={"v": a1["y"]}) as sub:
            b1 = inc(x=PARENT["v"], name="b1")
            c1 = inc(x=b1["y"], name="c1")
            START >> b1 >> c1 >> END
        d = inc(x=sub["y"], name="d")
        START >> a1 >> sub >> d >> END
    handle = Operon(g).start({"x": 1})
    frames = [f async for f in handle]
    assert frames == [("d", ("main",), {"y": 5})]
    with GraphOp(name="outer2") as g2:
        a1 = inc(x=PARENT["x"], name="a1")
        with GraphOp(name="inner", inputs={"v": a1["y"]}) as sub:
            b1 = inc(x=PARENT["v"], name="b1")
            START >> b1 >> END
        START >> a1 >> sub >> END
    result = await Operon(g2).run({"x": 1})
    assert result["y"] == 3
    assert result["$state"]["outer2.inner.b1", "y"] == 3
    assert [f[0] async for f in Operon(g2).start({"x": 1})] == ["inner"]


async def test_nesting_to_any_depth():
    result = await Operon(nested(30)).run({"x": 0})
    assert result["y"] == 31
    assert result["$state"]["outer." + ".".join(f"l{i}" for i in range(30)) + ".n29", "y"] == 31


async def test_branch_inside_a_nested_graph():
    with GraphOp(name="outer") as g:
        with GraphOp(name="inner", inputs={"s": PARENT["s"]}) as sub:
            router = if_(PARENT["s"] > 0, "pos").else_("neg")
            pos = a(x=PARENT["s"], name="pos")
            neg = b(x=PARENT["s"], name="neg")
            START >> router >> [pos, neg] >> END
        START >> sub >> END
    assert (await Operon(g).run({"s": 3}))["r"] == "a3"
    assert (await Operon(g).run({"s": -3}))["r"] == "b-3"


async def test_streams_inside_a_nested_graph():
    @op
    def gen(n):
        for i in range(n):
            yield {"i": i}

    @op
    async def double(i):
        await asyncio.sleep(0)
        return {"d": i * 2}

    with GraphOp(name="outer") as g:
        with GraphOp(name="inner", inputs={"n": PARENT["n"]}) as sub:
            s = gen(n=PARENT["n"], name="s")
            d = double(i=s["i"], name="dd")
            START >> s >> d >> END
        START >> sub >> END
    frames = [f async for f in Operon(g).start({"n": 3})]
    assert [(f[0], f[1], f[2]) for f in frames] == [
        ("inner", ("main", "[0]"), {"d": 0}),
        ("inner", ("main", "[1]"), {"d": 2}),
        ("inner", ("main", "[2]"), {"d": 4}),
    ] or sorted(f[2]["d"] for f in frames) == [0, 2, 4]


def test_a_thousand_levels_of_nesting_build_and_run():
    # Deeper than serde_json's default depth limit and Python's recursion limit: nothing recurses
    # per level except the document parse, which grows its own stack.
    assert Operon(nested(1000)).run_sync({"x": 0})["y"] == 1001
