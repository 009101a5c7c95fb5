"""The graph document: export_config()/serialize() and the engine document."""

from __future__ import annotations

import json
import sys

import pytest

from operonx.errors import OperonUsageError
from operonx.document import SCHEMA_VERSION, engine_document, export_config
from operonx.graph import GraphOp
from operonx.op import FuncOp, op
from operonx import END, PARENT, START
from operonx.refs import Ref
from documents import unhost


@op
def add(x, y=1):
    return {"sum": x + y}


@op
def opts(a, b=None, c=(1, 2), d=0):
    return {"out": a}


@op
async def fetch(url):
    return {"body": url}


@op
def count(n):
    for i in range(n):
        yield {"item": i}


@op
def open_outputs(x):
    result = {"k": x}
    return result


@op
def inc(x):
    return {"y": x + 1}


class Thing:
    def __repr__(self) -> str:
        return "Thing()"


def collect_kwargs(**kw):
    return kw


def sample_graph() -> GraphOp:
    with GraphOp(name="g", concurrency=2) as g:
        a = add(x=PARENT["x"])
        b = opts(a=a["sum"], b=None, c=(3, 4), d=Thing())
        c = fetch(url=a["sum"].upper()[0] + "/x", body=PARENT["page"])
        d = FuncOp(code_fn=collect_kwargs, inputs={"p": b["out"], "q": 5}, name="d")
        START >> a >> [b, c]
        a >> ~d
        [b, c] >> END
        d["p"] >> PARENT["pp"]
    return g


# ---------------------------------------------------------------------------
# export_config / serialize
# ---------------------------------------------------------------------------


def test_top_level_keys():
    doc = sample_graph().export_config()
    assert list(doc) == [
        "schema_version", "type", "name", "full_name", "concurrency", "inputs", "outputs", "ops",
        "edges", "entries", "exits", "initial_ready_count", "compiled_adj",
    ]
    assert doc["schema_version"] == SCHEMA_VERSION == "1.0"
    assert (doc["type"], doc["name"], doc["full_name"], doc["concurrency"]) == ("graph", "g", "g", 2)
    assert list(doc["ops"]) == ["a", "b", "c", "d"]


def test_serialize_is_export_config_and_json_ready():
    g = sample_graph()
    doc = g.serialize()
    assert doc == g.export_config() == export_config(g)
    assert json.loads(json.dumps(doc)) == doc


def test_code_op_fields():
    doc = sample_graph().export_config()
    a = doc["ops"]["a"]
    assert {k: a[k] for k in a if k not in ("inputs", "outputs")} == {
        "type": "code", "name": "a", "full_name": "g.a", "func_name": "add", "bound": "sync",
        "is_async": False, "is_generator": False, "enabled": True, "forward_all": False,
    }
    assert doc["ops"]["c"]["bound"] == "io" and doc["ops"]["c"]["is_async"] is True
    assert "callable" not in a


def test_generator_op_flags():
    with GraphOp(name="g") as g:
        count(n=3)
    c = g.export_config()["ops"]["count"]
    assert c["is_generator"] is True and c["outputs"] == {
        "item": {"required": False, "default": None, "ref": None}
    }


def test_defaults_none_and_missing_inputs():
    with GraphOp(name="g") as g:
        opts(b=None, c=[], d=0)
    ins = g.export_config()["ops"]["opts"]["inputs"]
    # a: required, unbound -> no literal key
    assert ins["a"] == {"required": True, "default": None, "ref": None}
    # b: literal None counts as unbound -> no literal key
    assert ins["b"] == {"required": False, "default": None, "ref": None}
    # falsy literals are kept
    assert ins["c"] == {"required": False, "default": [1, 2], "ref": None, "literal": []}
    assert ins["d"] == {"required": False, "default": 0, "ref": None, "literal": 0}


def test_literals_become_json():
    doc = sample_graph().export_config()
    b = doc["ops"]["b"]["inputs"]
    assert b["c"]["literal"] == [3, 4]  # tuple -> list
    assert b["d"]["literal"] == {"$repr": "Thing()"}
    assert b["a"]["ref"] == {"source": "g.a", "var": "sum", "transforms": [], "is_output": False}


def test_ref_to_graph_input_uses_graph_full_name():
    doc = sample_graph().export_config()
    assert doc["ops"]["a"]["inputs"]["x"]["ref"]["source"] == "g"


def test_every_transform_kind_serializes():
    def chain(r):
        return [
            r["k"], r.attr, r.method(1, r2, key=r2), r.apply(len, 2, r2),
            r + 1, r - 1, r * 1, r / 1, r // 1, r % 1, r ** 1,
            1 + r, 1 - r, 1 * r, 1 / r, 1 // r, 1 % r, 1 ** r,
            -r, +r, abs(r), r == 1, r != 1, r < 1, r <= 1, r > 1, r >= 1,
            r & r2, r | True, ~r,
        ]

    r2 = PARENT["other"]
    refs = chain(PARENT["v"])
    with GraphOp(name="g") as g:
        nodes = [FuncOp(code_fn=collect_kwargs, inputs={"v": r}, name=f"n{i}") for i, r in enumerate(refs)]
    doc = g.export_config()
    kinds = [doc["ops"][n.name]["inputs"]["v"]["ref"]["transforms"][0] for n in nodes]
    nested = {"__ref__": {"source": "g", "var": "other", "transforms": [], "is_output": False}}
    assert kinds[0] == ["getitem", ["k"]]
    assert kinds[1] == ["getattr", ["attr"]]
    assert doc["ops"]["n2"]["inputs"]["v"]["ref"]["transforms"] == [
        ["getattr", ["method"]], ["call", [[1, nested], {"key": nested}]],
    ]
    assert kinds[3] == ["apply", [{"func_name": "len"}, 2, nested]]
    names = [k[0] for k in kinds[4:]]
    assert names == [
        "add", "sub", "mul", "truediv", "floordiv", "mod", "pow",
        "radd", "rsub", "rmul", "rtruediv", "rfloordiv", "rmod", "rpow",
        "neg", "pos", "abs", "eq", "ne", "lt", "le", "gt", "ge", "and_", "or_", "not_",
    ]
    assert kinds[4] == ["add", [1]] and kinds[18] == ["neg", []]
    assert kinds[-3] == ["and_", [nested]]
    json.dumps(doc)


def test_output_mappings_three_ways_give_one_document():
    docs = []
    for way in range(3):
        with GraphOp(name="g") as g:
            if way == 0:
                a = add(x=1, sum=PARENT["total"])
            elif way == 1:
                a = add(x=1, outputs={"sum": PARENT["total"]})
            else:
                a = add(x=1)
                a["sum"] >> PARENT["total"]
            START >> a >> END
        docs.append(g.export_config())
    assert docs[0] == docs[1] == docs[2]
    out = docs[0]["ops"]["a"]["outputs"]["sum"]
    assert out["ref"] == {"source": "g", "var": "total", "transforms": [], "is_output": False}
    assert docs[0]["ops"]["a"]["forward_all"] is False
    assert list(docs[0]["outputs"]) == ["total"]


def test_forward_all_only_for_unmapped_exits():
    with GraphOp(name="g") as g:
        a = add(x=1)
        b = add(x=1)
        c = add(x=1, sum=PARENT["s"])
        d = open_outputs(x=1)
        START >> [a, b, c, d]
        [a, c, d] >> END
    doc = g.export_config()
    assert [doc["ops"][n]["forward_all"] for n in "abcd"] == [True, False, False, True]
    assert doc["ops"]["d"]["outputs"] == {}
    assert list(doc["outputs"]) == ["sum", "s"]


def test_graph_inputs_and_outputs_sections():
    doc = sample_graph().export_config()
    assert doc["inputs"] == {
        "x": {"required": True, "default": None, "ref": None},
    }
    # b forwards everything (wired to END), c maps body -> page, d maps p -> pp
    assert list(doc["outputs"]) == ["out", "page", "pp"]


def test_graph_inputs_with_defaults_and_star():
    with GraphOp(name="g") as g:
        add(inputs={"*": PARENT})
    doc = g.export_config()
    assert doc["inputs"] == {
        "x": {"required": True, "default": None, "ref": None},
        "y": {"required": False, "default": 1, "ref": None},
    }
    assert {k: (p.required, p.default) for k, p in g.inputs.items()} == {
        "x": (True, None), "y": (False, 1),
    }


def test_input_binding_from_output_ref():
    with GraphOp(name="g") as g:
        a = add(x=1)
        b = add()
        a["sum"] >> b["x"]
        a >> b
    ref = g.export_config()["ops"]["b"]["inputs"]["x"]["ref"]
    assert ref == {"source": "g.a", "var": "sum", "transforms": [], "is_output": False}


def test_edges_entries_exits_and_counts():
    with GraphOp(name="g") as g:
        a, b, c, d, e = (add(x=1, name=n) for n in "abcde")
        START >> [a, b]
        a >> c
        b >> c
        a > d
        b >> ~d
        c >> e
        d > e
        [e, d] >> END
    doc = g.export_config()
    assert doc["edges"] == [
        {"from": "a", "to": "c", "soft": False}, {"from": "b", "to": "c", "soft": False},
        {"from": "a", "to": "d", "soft": True}, {"from": "b", "to": "d", "soft": True},
        {"from": "c", "to": "e", "soft": False}, {"from": "d", "to": "e", "soft": True},
    ]
    assert doc["entries"] == ["a", "b"] and doc["exits"] == ["e", "d"]
    assert doc["initial_ready_count"] == {"a": 0, "b": 0, "c": 2, "d": 1, "e": 2}
    assert doc["compiled_adj"] == {
        "a": [["c", False], ["d", True]], "b": [["c", False], ["d", True]],
        "c": [["e", False]], "d": [["e", True]], "e": [],
    }


def test_disabled_op_and_call_time_bound():
    with GraphOp(name="g") as g:
        a = add(x=1, bound="cpu")
        a.enabled = False
    op_doc = g.export_config()["ops"]["a"]
    assert op_doc["enabled"] is False and op_doc["bound"] == "cpu"


def test_kwargs_function_extra_inputs():
    with GraphOp(name="g") as g:
        FuncOp(code_fn=collect_kwargs, inputs={"p": PARENT["p"], "q": None}, name="d")
    doc = g.export_config()
    assert doc["ops"]["d"]["inputs"] == {
        "p": {"required": False, "default": None,
              "ref": {"source": "g", "var": "p", "transforms": [], "is_output": False}},
        "q": {"required": False, "default": None, "ref": None},
    }
    assert doc["inputs"]["p"]["required"] is False


def test_empty_graph_exports():
    doc = GraphOp(name="empty").export_config()
    assert doc["ops"] == {} and doc["edges"] == [] and doc["entries"] == []


# ---------------------------------------------------------------------------
# the engine document
# ---------------------------------------------------------------------------


def test_engine_document_is_json_with_host_objects():
    g = sample_graph()
    text, hosts = engine_document(g)
    assert isinstance(text, str) and isinstance(hosts, list)
    doc = json.loads(text)
    b = doc["ops"]["b"]
    assert hosts[b["inputs"]["c"]["literal"]["$host"]] == (3, 4)  # live tuple
    assert isinstance(hosts[b["inputs"]["d"]["literal"]["$host"]], Thing)
    assert hosts[b["inputs"]["c"]["default"]["$host"]] == (1, 2)
    assert b["inputs"]["a"]["default"] is None  # required: no default
    assert hosts[doc["ops"]["a"]["callable"]["$host"]] is add.func
    assert hosts[doc["ops"]["d"]["callable"]["$host"]] is collect_kwargs
    tf = doc["ops"]["c"]["inputs"]["url"]["ref"]["transforms"]
    assert [t[0] for t in tf] == ["getattr", "call", "getitem", "add"]
    assert hosts[tf[0][1][0]["$host"]] == "upper" and hosts[tf[3][1][0]["$host"]] == "/x"


def test_engine_document_matches_export_config():
    g = sample_graph()
    text, hosts = engine_document(g)
    doc = unhost(json.loads(text), hosts)
    for op_doc in doc["ops"].values():
        op_doc.pop("callable")
    assert doc == g.export_config()


def test_engine_document_every_transform_kind_matches():
    r2 = PARENT["o"]
    r = PARENT["v"]
    exprs = [
        r["k"].attr.m(1, r2, k=r2).apply(len, r2), (1 - r) * 2 // 3 % 4 ** r2, -(+abs(r)),
        (r == 1) & (r != 2) | ~(r < 3), (r <= 1) & (r > 2) & (r >= 3), 1 + r, 1 / r, 1 // r,
        1 % r, 2 ** r, 3 * r, r / 2,
    ]
    with GraphOp(name="g") as g:
        for i, e in enumerate(exprs):
            FuncOp(code_fn=collect_kwargs, inputs={"v": e}, name=f"n{i}")
    text, hosts = engine_document(g)
    doc = unhost(json.loads(text), hosts)
    for op_doc in doc["ops"].values():
        op_doc.pop("callable")
    assert doc == g.export_config()


def test_same_function_shares_callable_and_defaults():
    with GraphOp(name="g") as g:
        for i in range(3):
            opts(a=i, name=f"n{i}")
    doc = json.loads(engine_document(g)[0])
    calls = {o["callable"]["$host"] for o in doc["ops"].values()}
    defaults = {o["inputs"]["c"]["default"]["$host"] for o in doc["ops"].values()}
    literals = [o["inputs"]["a"]["literal"]["$host"] for o in doc["ops"].values()]
    assert len(calls) == 1 and len(defaults) == 1 and len(set(literals)) == 3


def test_engine_document_freeze():
    g = sample_graph()
    engine_document(g)
    assert not g.is_built
    engine_document(g, freeze=True)
    assert g.is_built
    with g:
        with pytest.raises(OperonUsageError):
            add(x=1)


def test_names_are_written_without_escaping_but_keys_are_escaped():
    @op
    def quoted(x):
        return {'we"ird\\key': x}

    with GraphOp(name="g-1") as g:
        q = quoted(x=PARENT['in"put'], name="ñ_op")
        q['we"ird\\key'] >> PARENT['out"put']
        START >> q >> END
    text, hosts = engine_document(g)
    doc = json.loads(text)
    assert doc["ops"]["ñ_op"]["full_name"] == "g-1.ñ_op"
    assert doc["inputs"] == {'in"put': {"required": True, "default": None, "ref": None}}
    assert list(doc["ops"]["ñ_op"]["outputs"]) == ['we"ird\\key']
    assert list(doc["outputs"]) == ['out"put']
    assert unhost(doc, hosts) | {"ops": None} == g.export_config() | {"ops": None}


# ---------------------------------------------------------------------------
# size: loops only, no recursion
# ---------------------------------------------------------------------------


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
    assert doc["initial_ready_count"]["n99999"] == 1
    assert len(doc["edges"]) == 99_999
    assert len(export_config(g)["ops"]) == 100_000


def test_fanout_of_100k_ops_builds_and_exports(default_recursion_limit):
    g = _build_fanout(100_000)
    text, _ = engine_document(g)
    doc = json.loads(text)
    assert doc["initial_ready_count"]["join"] == 100_000
    assert len(doc["compiled_adj"]["src"]) == 100_000
    assert len(export_config(g)["edges"]) == 200_000


def test_build_and_export_cost_is_small():
    import time

    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        engine_document(_build_chain(1000))
        best = min(best, time.perf_counter() - t0)
    # the budget is 4 us/op on the reference machine; this is a loose guard
    assert best / 1000 < 40e-6


def test_ref_is_not_json():
    with pytest.raises(TypeError):
        json.dumps(PARENT["x"])
    assert isinstance(PARENT["x"], Ref)
