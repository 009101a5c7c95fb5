"""Benchmark workloads, written against the public API that our `operonx` and the
published pure-Python `operonx` 0.7.1 have in common, so this one file runs
unchanged under either interpreter.

Only these names are used: ``Operon, GraphOp, op, START, END, PARENT``, the
``>>`` wiring operators, ``op_output["key"]`` refs and ``await engine.run(inputs)``.

Conventions that matter for a fair comparison:

* every op in a loop gets an explicit ``name=f"..."`` (an op's name otherwise
  comes from its assignment target, so a loop would reuse one name);
* edges are wired explicitly (a ref alone does not create an edge);
* all ops are plain ``def`` functions, i.e. the ``sync`` bound: called inline.
"""

from __future__ import annotations

from typing import Any

from operonx import END, PARENT, START, GraphOp, Operon, op


@op
def inc(x):
    return {"y": x + 1}


@op
def add(x, z):
    return {"y": x + z}


# --------------------------------------------------------------------------
# Graph builders. Each returns the GraphOp (not yet compiled by Operon).
# --------------------------------------------------------------------------


def build_chain(n: int) -> GraphOp:
    """``START -> n0 -> n1 -> ... -> n{n-1} -> END``; op i computes y = x + 1."""
    with GraphOp(name="chain") as g:
        prev = inc(name="n0", x=PARENT["x"])
        START >> prev
        for i in range(1, n):
            cur = inc(name=f"n{i}", x=prev["y"])
            prev >> cur
            prev = cur
        prev >> END
    return g


def build_fanout(n: int) -> GraphOp:
    """``START -> src -> (f0 .. f{n-1}) -> join -> END``.

    ``join`` reads its input from ``f0`` and has hard edges from all ``n``
    fan-out ops, so it runs once, after every one of them.
    """
    with GraphOp(name="fanout") as g:
        src = inc(name="src", x=PARENT["x"])
        START >> src
        fans = [inc(name=f"f{i}", x=src["y"]) for i in range(n)]
        src >> fans
        join = inc(name="join", x=fans[0]["y"])
        fans >> join
        join >> END
    return g


def build_diamond() -> GraphOp:
    """``a -> (b, c) -> d -> e``: five ops, d adds the two branches."""
    with GraphOp(name="diamond") as g:
        a = inc(name="a", x=PARENT["x"])
        b = inc(name="b", x=a["y"])
        c = inc(name="c", x=a["y"])
        d = add(name="d", x=b["y"], z=c["y"])
        e = inc(name="e", x=d["y"])
        START >> a
        a >> [b, c]
        [b, c] >> d
        d >> e
        e >> END
    return g


# --------------------------------------------------------------------------
# Expected results for x = 0, used to check every engine computed the right
# thing before it is timed.
# --------------------------------------------------------------------------

INPUTS = {"x": 0}


def expected_chain(n: int) -> int:
    return n


def expected_fanout(n: int) -> int:
    return 3  # src: 1, every f_i: 2, join: 3


# a = 0 + 1 = 1; b = c = 2; d = b + c = 4; e = d + 1 = 5
EXPECTED_DIAMOND = 5


def output_y(result: Any) -> Any:
    """The ``y`` output of a run, whatever extra keys the engine adds."""
    try:
        return result["y"]
    except (KeyError, TypeError) as exc:  # pragma: no cover - diagnostic path
        raise AssertionError(f"run result has no 'y' output: {result!r:.300}") from exc


def check(name: str, result: Any, expected: Any) -> None:
    got = output_y(result)
    if got != expected:
        raise AssertionError(f"{name}: expected y={expected!r}, got y={got!r}")


__all__ = [
    "Operon",
    "INPUTS",
    "build_chain",
    "build_fanout",
    "build_diamond",
    "expected_chain",
    "expected_fanout",
    "EXPECTED_DIAMOND",
    "check",
]
