"""Size: 100k-op chains and fan-outs build and export with loops only, no recursion, and building and
exporting stays cheap per op."""

from __future__ import annotations

import json
import sys

import pytest

from operonx.document import engine_document, export_config
from operonx.graph import GraphOp
from operonx.op import op
from operonx import END, PARENT, START


@op
def inc(x):
    return {"y": x + 1}


def _build_chain(n: int) -> GraphOp:
    with GraphOp(name="chain") as g:
        prev = inc(x=PARENT["x"], name="n0")
        START >> prev
        for i in range(1, n):
            node = inc(x=prev["y"], name=f"n{i}")
            prev >> node
            prev = node
        prev >> END
    return g


def _build_fanout(n: int) -> GraphOp:
    with GraphOp(name="fan") as g:
        src = inc(x=PARENT["x"], name="src")
        START >> src
        fans = [inc(x=src["y"], name=f"f{i}") for i in range(n)]
        src >> fans
        join = inc(x=fans[0]["y"], name="join")
        fans >> join
        join >> END
    return g


@pytest.fixture
def default_recursion_limit():
    """Python's default recursion limit (and no cyclic GC, only to keep these tests quick)."""
    import gc

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
        if gc_was_enabled:
            gc.enable()


def test_chain_of_100k_ops_builds_and_exports(default_recursion_limit):
    g = _build_chain(100_000)
    text, hosts = engine_document(g)
    assert len(g.ops) == 100_000
    doc = json.loads(text)
    assert len(doc["edges"]) == 99_999
    exported = export_config(g)
    assert len(exported["ops"]) == 100_000
    assert exported["initial_ready_count"]["n99999"] == 1


def test_fanout_of_100k_ops_builds_and_exports(default_recursion_limit):
    g = _build_fanout(100_000)
    text, _ = engine_document(g)
    assert len(json.loads(text)["edges"]) == 200_000
    exported = export_config(g)
    assert exported["initial_ready_count"]["join"] == 100_000
    assert len(exported["compiled_adj"]["src"]) == 100_000
    assert len(exported["edges"]) == 200_000


def test_build_and_export_cost_is_small():
    import time

    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        engine_document(_build_chain(1000))
        best = min(best, time.perf_counter() - t0)
    # the budget is 4 us/op on the reference machine; this is a loose guard
    assert best / 1000 < 40e-6
