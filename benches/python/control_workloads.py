"""Control-flow workloads: nested graphs, a 10-way router and a loop, written
against the API our ``operonx`` and the published pure-Python ``operonx`` 0.7.1
have in common, so this one file runs unchanged under either interpreter.

Names used: ``Operon, GraphOp, op, START, END, PARENT``, ``if_`` from
``operonx.core.ops``, ``with GraphOp(name=..., inputs={...}) as sub:`` inside
another graph, ``>>`` wiring, ``op["key"]`` refs, ``await engine.run(inputs)``,
and, for the loop only, ``GraphOp.loop(name=..., until=..., max_iterations=...,
i=0)``.

As in ``workloads.py``: every op gets an explicit ``name=``, edges are wired
explicitly, and every op is a plain ``def`` (the inline ``sync`` bound).
"""

from __future__ import annotations

from typing import Any

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.core.ops import if_


@op
def inc(x):
    return {"y": x + 1}


@op
def add(x, z):
    return {"y": x + z}


@op
def keep(x):
    return {"y": x}


@op
def emit_i(x):
    return {"i": x}


# --------------------------------------------------------------------------
# N: nested graphs
# --------------------------------------------------------------------------


def _level(i: int, depth: int, ref: Any) -> None:
    """Inside the graph of level ``i``: ``START >> n{i}``, then either the next
    level ``l{i+1}`` (reading ``n{i}["y"]`` as its input ``v``) wired
    ``n{i} >> l{i+1} >> END``, or, in the innermost level, ``n{i} >> END``."""
    node = inc(name=f"n{i}", x=ref)
    START >> node
    if i + 1 < depth:
        with GraphOp(name=f"l{i + 1}", inputs={"v": node["y"]}) as sub:
            _level(i + 1, depth, PARENT["v"])
        node >> sub >> END
    else:
        node >> END


def build_nested(depth: int) -> GraphOp:
    """``depth`` graph levels, the outermost counted: level 0 is the graph
    ``l0`` itself, each level holds one op ``n_i`` (y = x + 1) and the next
    level. ``build_nested(1)`` is a plain one-op graph, so ``build_nested(10)``
    has 9 nested graphs and 10 ops."""
    with GraphOp(name="l0") as g:
        _level(0, depth, PARENT["x"])
    return g


def expected_nested(depth: int) -> int:
    return depth  # x = 0, every level adds one


# --------------------------------------------------------------------------
# R: a router over 10 branches
# --------------------------------------------------------------------------

ROUTER_WAYS = 10


def build_router(ways: int = ROUTER_WAYS) -> GraphOp:
    """``if_(k == 0, "b0").if_(k == 1, "b1")...else_("b{ways-1}")``; branch
    ``b_j`` computes y = k + 100 j, so the answer tells which branch ran."""
    with GraphOp(name="router") as g:
        chain = if_(PARENT["k"] == 0, "b0")
        for j in range(1, ways - 1):
            chain = chain.if_(PARENT["k"] == j, f"b{j}")
        route = chain.else_(f"b{ways - 1}")  # named "route" by its assignment target (both packages)
        branches = [add(name=f"b{j}", x=PARENT["k"], z=100 * j) for j in range(ways)]
        START >> route >> branches
        branches >> END
    return g


def expected_router(k: int) -> int:
    return 101 * k  # branch b_k: k + 100 k


# --------------------------------------------------------------------------
# L: a loop with a 3-op body
# --------------------------------------------------------------------------


def build_loop(iterations: int) -> GraphOp:
    """``GraphOp.loop`` with ``i = 0``; the body ``a -> b -> c`` computes
    i + 1 (a), passes it on (b) and outputs it as ``i`` (c); it stops when
    ``i >= iterations``, so the body runs exactly ``iterations`` times and the
    answer is ``i == iterations``. ``max_iterations`` is twice that, only a cap."""
    loop = getattr(GraphOp, "loop")  # AttributeError where loops do not exist
    with loop(
        name="loop", until=f"i >= {iterations}", max_iterations=2 * iterations, i=0
    ) as g:
        a = inc(name="a", x=PARENT["i"])
        b = keep(name="b", x=a["y"])
        c = emit_i(name="c", x=b["y"])
        START >> a >> b >> c >> END
    return g


# --------------------------------------------------------------------------
# Checking answers
# --------------------------------------------------------------------------


def output(result: Any, key: str) -> Any:
    """The ``key`` output of a run, whatever extra keys the engine adds.

    0.7.1's loop returns a loop variable as a list holding the first
    iteration's value and the last one's (``{"i": [1, 10000]}``); the last
    element is the answer. Ours returns the last iteration's value alone."""
    try:
        value = result[key]
    except (KeyError, TypeError) as exc:  # pragma: no cover - diagnostic path
        raise AssertionError(f"run result has no {key!r} output: {result!r:.300}") from exc
    if isinstance(value, list) and value:
        value = value[-1]
    return value


def check(name: str, result: Any, expected: Any, key: str = "y") -> None:
    got = output(result, key)
    if got != expected:
        raise AssertionError(f"{name}: expected {key}={expected!r}, got {key}={got!r}")


__all__ = [
    "Operon",
    "ROUTER_WAYS",
    "build_nested",
    "build_router",
    "build_loop",
    "expected_nested",
    "expected_router",
    "check",
]
