"""The graph document: export_config()/serialize(). The engine document: tests/test_engine_document.py;
documents of 100k-op graphs: tests/test_export_size.py."""

from __future__ import annotations

import json

import pytest

from operonx.document import SCHEMA_VERSION, export_config
from operonx.graph import GraphOp
from operonx.op import FuncOp
from operonx import END, PARENT, START
from operonx.refs import Ref

from export_helpers import add, collect_kwargs, count, open_outputs, opts, sample_graph


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
        "type": "code", "name": "a", "full_name": "g.a", "func_name": "add", "module": "export_helpers", "bound": "sync",
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


def test_ref_is_not_json():
    with pytest.raises(TypeError):
        json.dumps(PARENT["x"])
    assert isinstance(PARENT["x"], Ref)
