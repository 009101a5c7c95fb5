"""Branches in documents: cases, sources and own inputs, host values in the engine document, disabled
branches and strange target names, branches in nested graphs."""

from __future__ import annotations

import json

from operonx import END, PARENT, START, BranchOp, GraphOp
from operonx.core.ops import if_
from operonx.document import engine_document, export_config

from documents import mapped, ref, same_documents
from branch_helpers import a, b, example_graph, score


def test_branch_document():
    g, _ = example_graph()
    doc = same_documents(g)
    assert doc["ops"]["router"] == {
        "type": "branch",
        "name": "router",
        "full_name": "g.router",
        "enabled": True,
        "inputs": {},
        "outputs": {"target": mapped("g", "t"), "matched": mapped("g", "m")},
        "cases": [
            {"condition": ref("g", "score", [("ge", [90])]), "target": "hi", "text": "score >= 90"},
            {
                "condition": ref(
                    "g",
                    "score",
                    [("ge", [50]), ("and_", [{"__ref__": ref("g", "kind", [("eq", ["x"])])}])],
                ),
                "target": "mid",
                "text": "score >= 50 and kind == 'x'",
            },
        ],
        "default": "lo",
        "forward_all": False,
    }
    assert doc["inputs"] == {
        "score": {"required": True, "default": None, "ref": None},
        "kind": {"required": False, "default": None, "ref": None},
    }
    assert list(doc["outputs"]) == ["t", "m", "v"]
    assert doc["entries"] == ["router"] and doc["exits"] == ["hi", "mid", "lo"]
    assert doc["compiled_adj"]["router"] == [["hi", False], ["mid", False], ["lo", False]]


def test_branch_document_sources_and_own_inputs():
    with GraphOp(name="g") as g:
        s = score(x=PARENT["x"])
        br = BranchOp(
            inputs={"s": s["score"], "limit": 3},
            cases=[
                (PARENT["s"] >= PARENT["limit"], "x1"),
                (s["name"] == PARENT["x"], "x2"),
                (PARENT["other"] > 0, "x3"),
            ],
        )
        START >> s >> br
    doc = same_documents(g)
    op_doc = doc["ops"]["br"]
    assert op_doc["inputs"] == {
        "s": {"required": False, "default": None, "ref": ref("g.s", "score")},
        "limit": {"required": False, "default": None, "ref": None, "literal": 3},
    }
    own = {"__ref__": ref("g.br", "limit")}
    assert [case["condition"] for case in op_doc["cases"]] == [
        ref("g.br", "s", [("ge", [own])]),
        ref("g.s", "name", [("eq", [{"__ref__": ref("g", "x")}])]),
        ref("g", "other", [("gt", [0])]),
    ]
    assert op_doc["default"] is None
    # the branch's own inputs are not graph inputs; x is read by s (required), other by the branch only
    assert doc["inputs"] == {
        "x": {"required": True, "default": None, "ref": None},
        "other": {"required": False, "default": None, "ref": None},
    }
    assert list(g.inputs) == ["x", "other"]


def test_engine_document_hosts_branch_values():
    with GraphOp(name="g") as g:
        br = BranchOp(inputs={"t": (1, 2)}, cases=[(PARENT["x"].apply(len) > 3, "p")])
    text, hosts = engine_document(g)
    doc = json.loads(text)["ops"]["br"]
    assert hosts[doc["inputs"]["t"]["literal"]["$host"]] == (1, 2)
    tf = doc["cases"][0]["condition"]["transforms"]
    assert hosts[tf[0][1][0]["$host"]] is len and hosts[tf[1][1][0]["$host"]] == 3
    assert "callable" not in doc
    assert br.enabled


def test_disabled_branch_and_strange_target_names_are_written_safely():
    with GraphOp(name="g") as g:
        br = if_(PARENT["x"] > 0, 'we"ird').else_("back\\slash")
        br.enabled = False
    doc = same_documents(g)
    assert doc["ops"]["br"]["enabled"] is False
    assert doc["ops"]["br"]["cases"][0]["target"] == 'we"ird'
    assert doc["ops"]["br"]["default"] == "back\\slash"


def test_branch_in_nested_graph_reads_the_nested_graph_inputs():
    with GraphOp(name="outer") as g:
        with GraphOp(name="inner", inputs={"v": PARENT["x"]}) as sub:
            br = if_(PARENT["v"] > 1, "p").else_("q")
            p = a(x=PARENT["v"])
            q = b(x=PARENT["v"])
            START >> br >> [p, q] >> END
        START >> sub >> END
    assert br.full_name == "outer.inner.br"
    doc = same_documents(g)
    inner = doc["ops"]["inner"]["graph"]["ops"]["br"]
    assert inner["cases"][0]["condition"] == ref("outer.inner", "v", [("gt", [1])])


def test_export_config_is_json_ready():
    g, _ = example_graph()
    doc = export_config(g)
    assert json.loads(json.dumps(doc)) == doc
