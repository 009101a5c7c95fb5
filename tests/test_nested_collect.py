"""A body that collects a generator's items (``gen["v"].collect()``) runs the same inside a nested graph
as at the root: the nested graph emits its frame once the items are collected (in the ``__collect__``
context, like the consumer at the root), also when it runs per item of an outer stream or in a loop. A
generator that yields nothing collects nothing: the consumer, and so the nested graph, do not run.

Every body shape is run flat and nested, and the results and frames (context and data) must agree.
"""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op

pytestmark = pytest.mark.timeout(60)


@op
def gen(n):
    for i in range(n):
        yield {"v": i}


@op
def total(xs):
    return {"s": sum(xs), "xs": list(xs)}


@op
def double(s):
    return {"d": 2 * s}


@op
def add(a, b):
    return {"s": a + b}


@op
def nxt(k, s):
    return {"k": k + 1, "tot": s}


def body(shape: str, n, after=None):
    """Builds one body in the current graph from ``n`` (a ref), wired from START or from ``after``, and
    returns its last op (not wired to END)."""
    g1 = gen(n=n, name="g1")
    if after is None:
        START >> g1
    else:
        after >> g1
    if shape == "collect":
        last = total(xs=g1["v"].collect(), name="t")
        g1 >> last
    elif shape == "collect_then_op":
        t = total(xs=g1["v"].collect(), name="t")
        last = double(s=t["s"], name="d")
        g1 >> t >> last
    elif shape == "stream_of_streams":
        g2 = gen(n=g1["v"], name="g2")
        last = total(xs=g2["v"].collect(), name="t")
        g1 >> g2 >> last
    else:  # two collects of one generator, joined
        t = total(xs=g1["v"].collect(), name="t")
        u = total(xs=g1["v"].collect(), name="u")
        last = add(a=t["s"], b=u["s"], name="last")
        g1 >> [t, u] >> last
    return last


SHAPES = ["collect", "collect_then_op", "stream_of_streams", "two_collects"]


def run(g, inputs):
    """The run's result (without ``$state``) and its frames as (context, data), in order."""

    async def go():
        result = await Operon(g).run(inputs)
        handle = Operon(g).start(inputs)
        frames = [(ctx, data) async for _, ctx, data in handle]
        return {k: v for k, v in result.items() if k != "$state"}, frames

    return asyncio.run(go())


def flat(shape):
    with GraphOp(name="g") as g:
        body(shape, PARENT["n"]) >> END
    return g


def nested(shape, depth):
    """The body in a nested graph (``depth`` 2: in a nested graph inside a nested graph)."""
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"n": PARENT["n"]}) as sub:
            if depth == 1:
                body(shape, PARENT["n"]) >> END
            else:
                with GraphOp(name="inner", inputs={"n": PARENT["n"]}) as inner:
                    body(shape, PARENT["n"]) >> END
                START >> inner >> END
        START >> sub >> END
    return g


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("n", [0, 1, 4])
@pytest.mark.parametrize("shape", SHAPES)
def test_a_nested_collect_gives_what_the_same_body_gives_at_the_root(shape, n, depth):
    want = run(flat(shape), {"n": n})
    assert run(nested(shape, depth), {"n": n}) == want
    if n == 4:
        assert want[0] and all(ctx[-1] == "__collect__" for ctx, _ in want[1])


def outer_stream(shape, policy, nest):
    """The body run per item of an outer generator, nested or flat."""
    with GraphOp(name="g") as g:
        og = gen(n=PARENT["n"], name="og")
        items = og["v"] if policy is None else og["v"].parallel(max=2)
        START >> og
        if nest:
            with GraphOp(name="sub", inputs={"n": items}) as sub:
                body(shape, PARENT["n"]) >> END
            og >> sub >> END
        else:
            body(shape, items, after=og) >> END
    return g


@pytest.mark.parametrize("policy", [None, "parallel"])
@pytest.mark.parametrize("shape", SHAPES)
def test_a_nested_collect_per_item_of_an_outer_stream_gives_what_the_flat_body_gives(shape, policy):
    want = run(outer_stream(shape, policy, nest=False), {"n": 4})
    got = run(outer_stream(shape, policy, nest=True), {"n": 4})
    if policy is None:
        assert got == want
    else:  # items in completion order
        assert sorted(map(repr, got[1])) == sorted(map(repr, want[1]))
    assert len(want[1]) == 3  # item 0 yields nothing: nothing is collected there


def looped(shape, nest):
    """The body in a loop's body, nested or flat, followed by a step that feeds ``k`` back."""
    with GraphOp.loop(name="lp", until="k >= 4", max_iterations=6, k=1) as g:
        if nest:
            with GraphOp(name="sub", inputs={"n": PARENT["k"]}) as sub:
                body(shape, PARENT["n"]) >> END
            START >> sub
        else:
            sub = body(shape, PARENT["k"])
        key = "d" if shape == "collect_then_op" else "s"
        step = nxt(k=PARENT["k"], s=sub[key], name="step")
        sub >> step >> END
    return g


@pytest.mark.parametrize("shape", SHAPES)
def test_a_nested_collect_in_a_loop_body_gives_what_the_flat_body_gives(shape):
    want = run(looped(shape, nest=False), {})
    assert run(looped(shape, nest=True), {}) == want
    if shape != "stream_of_streams":  # there, item 0 of the first iteration's stream collects nothing
        assert want[0]["k"] == 4 and [ctx[1] for ctx, _ in want[1]] == ["loop_0", "loop_1", "loop_2"]
