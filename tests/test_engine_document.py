"""The engine document (engine_document()): JSON with host objects, the same content as export_config(),
one host slot per function and default, freezing, and names and keys that need escaping."""

from __future__ import annotations

import json

import pytest

from operonx.errors import OperonUsageError
from operonx.document import engine_document
from operonx.graph import GraphOp
from operonx.op import FuncOp, op
from operonx import END, PARENT, START

from documents import engine_view, unhost
from export_helpers import Thing, add, collect_kwargs, opts, sample_graph


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
    assert doc == engine_view(g.export_config())


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
    assert doc == engine_view(g.export_config())


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
    assert unhost(doc, hosts) | {"ops": None} == engine_view(g.export_config()) | {"ops": None}
