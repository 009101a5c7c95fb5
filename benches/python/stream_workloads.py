"""Streaming and async workloads, written once against the API that our ``operonx``
and the published pure-Python ``operonx`` 0.7.1 have in common, so this file runs
unchanged under either interpreter (as ``workloads.py`` does for W1-W3).

Names used: ``Operon, GraphOp, op, START, END, PARENT``, ``>>``, ``op["key"]``
refs, ``await engine.run(inputs)`` and ``handle = engine.start(inputs)`` with
``async for op, ctx, data in handle``.

* W4: ``src`` -> 200 ``async def`` ops, each ``await asyncio.sleep(0.05)`` -> ``join``.
  ``gather_w4`` is the hand-written baseline: ``asyncio.gather`` of the same 200
  coroutines, with no engine.
* W5 / M: one **sync** generator op yielding ``{"i": i}`` for ``i in range(n)``,
  wired to END, so every item is one frame for the caller.
"""

from __future__ import annotations

import asyncio
from typing import Any

from operonx import END, PARENT, START, GraphOp, Operon, op

W4_FANOUT = 200
W4_SLEEP_S = 0.05
W5_ITEMS = 100_000
M_ITEMS = 1_000_000


# --------------------------------------------------------------------------
# Op functions. The plain functions stay importable so the baseline runs the
# very same code without the engine.
# --------------------------------------------------------------------------


def _inc(x):
    return {"y": x + 1}


async def _nap(x):
    await asyncio.sleep(W4_SLEEP_S)
    return {"y": x + 1}


def _count(n):
    for i in range(n):
        yield {"i": i}


inc = op(_inc)
nap = op(_nap)
count = op(_count)


# --------------------------------------------------------------------------
# W4: 1 -> 200 async sleepers -> 1
# --------------------------------------------------------------------------


def build_w4(n: int = W4_FANOUT) -> GraphOp:
    """``START -> src -> (nap0 .. nap{n-1}) -> join -> END``.

    ``join`` reads ``nap0["y"]`` and has hard edges from all ``n`` sleepers, so it
    runs once, after every one of them. Expected output: ``y == 3`` for ``x == 0``.
    """
    with GraphOp(name="w4") as g:
        src = inc(name="src", x=PARENT["x"])
        START >> src
        naps = [nap(name=f"nap{i}", x=src["y"]) for i in range(n)]
        src >> naps
        join = inc(name="join", x=naps[0]["y"])
        naps >> join
        join >> END
    return g


W4_INPUTS = {"x": 0}
W4_EXPECTED = 3  # src 1, every nap 2, join 3


async def gather_w4(n: int = W4_FANOUT) -> list[dict[str, Any]]:
    """The baseline: the same 200 sleeps (same function, same input) under ``asyncio.gather``."""
    return await asyncio.gather(*[_nap(1) for _ in range(n)])


def check_w4(result: Any) -> None:
    got = result["y"]
    if got != W4_EXPECTED:
        raise AssertionError(f"W4: expected y={W4_EXPECTED}, got y={got!r}")


def check_gather(results: list[dict[str, Any]], n: int = W4_FANOUT) -> None:
    if len(results) != n or any(r["y"] != 2 for r in results):
        raise AssertionError(f"gather baseline: wrong results {results[:3]!r}...")


# --------------------------------------------------------------------------
# W5 / M: one sync generator wired to END
# --------------------------------------------------------------------------


def build_stream() -> GraphOp:
    """``START -> gen -> END``; ``gen`` yields ``{"i": i}`` for ``i in range(PARENT["n"])``."""
    with GraphOp(name="stream") as g:
        gen = count(name="gen", n=PARENT["n"])
        START >> gen
        gen >> END
    return g


def stream_inputs(n: int) -> dict[str, Any]:
    return {"n": n}


def check_stream(n: int, frames: int, last: Any) -> None:
    if frames != n:
        raise AssertionError(f"stream: expected {n} frames, got {frames}")
    if n and (not isinstance(last, dict) or last.get("i") != n - 1):
        raise AssertionError(f"stream: last frame should carry i={n - 1}, got {last!r:.200}")


__all__ = [
    "Operon",
    "W4_FANOUT",
    "W4_SLEEP_S",
    "W5_ITEMS",
    "M_ITEMS",
    "build_w4",
    "W4_INPUTS",
    "gather_w4",
    "check_w4",
    "check_gather",
    "build_stream",
    "stream_inputs",
    "check_stream",
]
