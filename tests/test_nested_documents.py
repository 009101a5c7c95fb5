"""Nested graphs in documents: the nested graph's document, one host list for all levels, settings and
op order, and deep nesting exported without recursion and in linear time."""

from __future__ import annotations

import json
import sys

import pytest

from operonx import END, PARENT, START, GraphOp
from operonx.document import engine_document, export_config

from documents import mapped, ref, same_documents, UNBOUND
from nested_helpers import a, b, example_graph


def test_nested_graph_document():
    g, _, _ = example_graph()
    doc = same_documents(g)
    assert list(doc["ops"]) == ["s", "inner", "t"]
    assert doc["ops"]["inner"] == {
        "type": "graph",
        "name": "inner",
        "full_name": "outer.inner",
        "enabled": True,
        # passed through as they are: each inner op applies its own default and requiredness
        "inputs": {
            "v": {"required": False, "default": None, "ref": ref("outer.s", "v")},
            "lit": {"required": False, "default": None, "ref": None, "literal": 3},
            "w": {"required": False, "default": None, "ref": ref("outer", "w")},
        },
        "outputs": {"k": mapped("outer", "k2")},
        "forward_all": False,
        "graph": {
            "name": "inner",
            "full_name": "outer.inner",
            "concurrency": None,
            "ops": {
                "bb": {
                    "type": "code",
                    "name": "bb",
                    "full_name": "outer.inner.bb",
                    "func_name": "b",
                    "module": "nested_helpers",
                    "bound": "sync",
                    "is_async": False,
                    "is_generator": False,
                    "enabled": True,
                    "inputs": {
                        "v": {"required": True, "default": None, "ref": ref("outer.inner", "v")},
                        "w": {"required": False, "default": 1, "ref": ref("outer.inner", "w")},
                    },
                    "outputs": {"k": UNBOUND},
                    "forward_all": True,
                }
            },
            "edges": [],
            "entries": ["bb"],
            "exits": ["bb"],
        },
    }
    assert doc["ops"]["t"]["inputs"]["x"]["ref"] == ref("outer.inner", "k")
    assert doc["inputs"] == {
        "x": {"required": True, "default": None, "ref": None},
        "w": {"required": False, "default": 1, "ref": None},
    }
    assert list(doc["outputs"]) == ["k2", "v"]
    assert doc["edges"] == [
        {"from": "s", "to": "inner", "soft": False},
        {"from": "inner", "to": "t", "soft": False},
    ]
    assert doc["initial_ready_count"] == {"s": 0, "inner": 1, "t": 1}
    assert json.loads(json.dumps(doc)) == doc


def test_engine_document_has_one_host_list_for_all_levels():
    g, _, _ = example_graph()
    text, hosts = engine_document(g)
    doc = json.loads(text)
    inner = doc["ops"]["inner"]
    assert hosts[inner["inputs"]["lit"]["literal"]["$host"]] == 3
    bb = inner["graph"]["ops"]["bb"]
    assert hosts[bb["callable"]["$host"]] is b.func
    assert hosts[doc["ops"]["s"]["callable"]["$host"]] is a.func
    assert doc["ops"]["t"]["callable"] == doc["ops"]["s"]["callable"]  # one slot per function
    assert set(inner["graph"]) == {"name", "full_name", "concurrency", "ops", "edges", "entries", "exits"}


def test_nested_graph_concurrency_and_disabled_are_written():
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", concurrency=3) as sub:
            a(x=1)
        sub.enabled = False
    doc = same_documents(g)
    assert doc["ops"]["sub"]["enabled"] is False
    assert doc["ops"]["sub"]["graph"]["concurrency"] == 3


def test_ops_after_a_nested_graph_keep_their_order():
    with GraphOp(name="g") as g:
        a(x=1, name="first")
        with GraphOp(name="mid"):
            a(x=1, name="m1")
            with GraphOp(name="deep"):
                a(x=1, name="d1")
            a(x=1, name="m2")
        a(x=1, name="last")
    doc = same_documents(g)
    assert list(doc["ops"]) == ["first", "mid", "last"]
    assert list(doc["ops"]["mid"]["graph"]["ops"]) == ["m1", "deep", "m2"]
    text, _ = engine_document(g)
    assert list(json.loads(text)["ops"]["mid"]["graph"]["ops"]) == ["m1", "deep", "m2"]


@pytest.fixture
def default_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _deep(n: int) -> tuple[GraphOp, object]:
    with GraphOp(name="root") as g:
        levels = []
        for i in range(n):
            sub = GraphOp(name=f"n{i}", inputs={"v": PARENT["v"]})
            sub.__enter__()
            levels.append(sub)
        leaf = a(x=PARENT["v"])
        START >> leaf >> END
        for sub in reversed(levels):
            sub.__exit__(None, None, None)
            START >> sub >> END
    return g, leaf


def test_200_levels_export_under_the_default_recursion_limit(default_recursion_limit):
    g, leaf = _deep(200)
    assert leaf.full_name == "root." + ".".join(f"n{i}" for i in range(200)) + ".leaf"
    assert list(g.inputs) == ["v"] and list(g.outputs) == ["v"]
    docs = [export_config(g)]
    text, hosts = engine_document(g)
    docs.append(json.loads(text))
    for doc in docs:
        level, depth = doc, 0
        while True:
            node = next(iter(level["ops"].values()))
            if node["type"] != "graph":
                break
            assert node["forward_all"] is True and list(node["outputs"]) == ["v"]
            level, depth = node["graph"], depth + 1
        assert depth == 200
        assert node["inputs"]["x"]["ref"]["source"] == leaf.graph.full_name
    g._mark_built()
    assert leaf.graph.is_built


def test_deep_nesting_export_is_linear():
    import time

    g, _ = _deep(1500)
    t0 = time.perf_counter()
    engine_document(g)
    export_config(g)
    assert time.perf_counter() - t0 < 5
