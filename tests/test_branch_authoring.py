"""Branches: if_(...).if_(...).else_(...) / .build() and BranchOp(...), their attributes and documents."""

from __future__ import annotations

import json

import pytest

import operonx
import operonx.core
import operonx.core.ops
from operonx import END, PARENT, START, BranchOp, GraphOp, op
from operonx.branch import Branch, condition_text
from operonx.core.ops import if_
from operonx.errors import GraphError, GraphTypeError, OperonError, OperonUsageError
from operonx.document import engine_document, export_config
from documents import mapped, ref, same_documents, UNBOUND, unhost


@op
def a(x):
    return {"v": x}


@op
def b(x):
    return {"v": x}


@op
def c(x):
    return {"v": x}


@op
def score(x):
    return {"score": x, "name": "n"}


def example_graph():
    with GraphOp(name="g") as g:
        router = if_(PARENT["score"] >= 90, "hi").if_(
            (PARENT["score"] >= 50) & (PARENT["kind"] == "x"), "mid"
        ).else_("lo")
        hi = a(x=PARENT["score"])
        mid = b(x=PARENT["score"])
        lo = c(x=PARENT["score"])
        START >> router >> [hi, mid, lo] >> END
        router["target"] >> PARENT["t"]
        router["matched"] >> PARENT["m"]
    return g, router


# ---------------------------------------------------------------------------
# Imports
# ---------------------------------------------------------------------------


def test_import_paths():
    assert operonx.BranchOp is operonx.core.BranchOp is operonx.core.ops.BranchOp is BranchOp
    assert operonx.core.ops.if_ is if_
    assert "BranchOp" in operonx.__all__ and "BranchOp" in operonx.core.__all__
    assert "if_" in operonx.core.ops.__all__


# ---------------------------------------------------------------------------
# if_ chains
# ---------------------------------------------------------------------------


def test_if_chain_makes_a_branch_node():
    g, router = example_graph()
    assert isinstance(router, BranchOp)
    assert g.ops["router"] is router
    assert (router.name, router.full_name, router.type) == ("router", "g.router", "branch")
    assert (router.bound, router.is_gen, router.enabled, router.delay) == ("sync", False, True, 0)
    assert router.candidates == ["hi", "mid", "lo"]
    assert router.default == "lo"
    assert router.texts == ["score >= 90", "score >= 50 and kind == 'x'"]
    assert [t for _, t in router.cases] == ["hi", "mid"]
    assert list(router.outputs) == ["target", "matched"]
    assert router.outputs["target"].value.var == "t"
    assert router.outputs["matched"].value.var == "m"
    assert router.output_mappings == {"target": "t", "matched": "m"}
    assert router.inputs == {}
    assert router.metadata == {"type": "branch", "name": "g.router", "candidates": ["hi", "mid", "lo"]}
    assert g.edges == [("router", "hi", False), ("router", "mid", False), ("router", "lo", False)]
    assert g.entries == ["router"]


def test_build_gives_no_default_and_builder_is_not_a_node():
    with GraphOp(name="g") as g:
        chain = if_(PARENT["x"] > 1, "p")
        assert isinstance(chain, Branch)
        assert dict(g.ops) == {}
        br = chain.if_(PARENT["x"] < 0, "n").build()
    assert list(g.ops) == ["br"]
    assert br.default is None
    assert br.candidates == ["p", "n"]


def test_if_chain_is_named_by_multiline_assignment_or_name_keyword():
    with GraphOp(name="g") as g:
        routed = (
            if_(PARENT["x"] > 1, "p")
            .if_(PARENT["x"] > 0, "q")
            .else_("r")
        )
        other = if_(PARENT["x"] > 1, "p").build(name="explicit")
        unnamed = [if_(PARENT["x"] > 1, "p").else_("q")][0]
    assert routed.name == "routed"
    assert other.name == "explicit"
    assert unnamed.name == "branch"
    assert list(g.ops) == ["routed", "explicit", "branch"]


def test_builder_does_not_change_when_extended():
    with GraphOp(name="g"):
        first = if_(PARENT["x"] > 1, "p")
        one = first.build(name="one")
        two = first.if_(PARENT["x"] > 2, "q").build(name="two")
    assert one.candidates == ["p"]
    assert two.candidates == ["p", "q"]


def test_targets_may_be_ops_and_repeat():
    with GraphOp(name="g"):
        hi = a(x=1)
        lo = b(x=1)
        br = if_(PARENT["x"] > 1, hi).if_(PARENT["x"] > 0, hi).else_(lo)
    assert br.candidates == ["hi", "lo"]
    assert br.default == "lo"
    assert [t for _, t in br.cases] == ["hi", "hi"]


def test_unknown_target_is_not_an_authoring_error():
    with GraphOp(name="g") as g:
        br = if_(PARENT["x"] > 1, "nowhere").else_("elsewhere")
        START >> br >> END
    doc = g.export_config()
    assert doc["ops"]["br"]["cases"][0]["target"] == "nowhere"
    assert doc["ops"]["br"]["default"] == "elsewhere"


# ---------------------------------------------------------------------------
# BranchOp
# ---------------------------------------------------------------------------


def test_branch_op_constructor():
    with GraphOp(name="g") as g:
        s = score(x=PARENT["x"])
        pick = BranchOp(
            cases=[(PARENT["s"] >= 10, "big"), (s["name"] == "n", "named")],
            default="small",
            inputs={"s": s["score"], "limit": 3},
        )
        named = BranchOp(name="explicit", cases=[(PARENT["x"] > 0, "p")])
        big = a(x=1)
        START >> s >> pick >> big
    assert pick.name == "pick" and pick.full_name == "g.pick"
    assert named.name == "explicit" and named.default is None
    assert pick.candidates == ["big", "named", "small"]
    assert pick.texts == ["s >= 10", "name == 'n'"]
    assert list(pick.inputs) == ["s", "limit"]
    assert pick.inputs["s"].value.source == "g.s" and pick.inputs["limit"].value == 3
    assert not pick.inputs["s"].required
    assert list(g.ops) == ["s", "pick", "explicit", "big"]


def test_branch_op_outputs_keyword_maps():
    with GraphOp(name="g") as g:
        br = BranchOp(cases=[(PARENT["x"] > 0, "p")], outputs={"target": PARENT["chosen"]})
    assert br.output_mappings == {"target": "chosen"}
    assert list(g.outputs) == ["chosen"]


def test_anchor_and_other_inputs_bound_with_rshift():
    with GraphOp(name="g") as g:
        s = score(x=PARENT["x"])
        br = if_(PARENT["x"] > 0, "p").else_("q")
        s["name"] >> br["anchor"]
    assert br.inputs["anchor"].value.source == "g.s"
    doc = same_documents(g)
    assert doc["ops"]["br"]["inputs"] == {
        "anchor": {"required": False, "default": None, "ref": ref("g.s", "name")}
    }


# ---------------------------------------------------------------------------
# Condition text
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (PARENT["score"] >= 90, "score >= 90"),
        ((PARENT["score"] >= 50) & (PARENT["kind"] == "x"), "score >= 50 and kind == 'x'"),
        ((PARENT["a"] < 1) | (PARENT["b"] != None), "a < 1 or b != None"),  # noqa: E711
        (~(PARENT["x"] < 3), "not x < 3"),
        (10 - PARENT["n"] > 2, "10 - n > 2"),
        ((PARENT["a"] + 1) * 2 == 4, "(a + 1) * 2 == 4"),
        (PARENT["a"] - (PARENT["b"] - 1) > 0, "a - (b - 1) > 0"),
        (PARENT["name"].upper() == "N", "name.upper() == 'N'"),
        (PARENT["d"]["k"].get("z", default=1), "d['k'].get('z', default=1)"),
        (PARENT["items"].apply(len) > 3, "len(items) > 3"),
        (-(PARENT["a"] + 1) < abs(PARENT["b"]), "-(a + 1) < abs(b)"),
        ((PARENT["a"] < 1) == True, "(a < 1) == True"),  # noqa: E712
        ((PARENT["a"] | PARENT["b"]) & PARENT["c"], "(a or b) and c"),
        (PARENT["a"] & PARENT["b"] & PARENT["c"], "a and b and c"),
    ],
)
def test_condition_text(condition, text):
    assert condition_text(condition) == text


def test_condition_text_names_op_outputs_by_variable():
    with GraphOp(name="g"):
        s = score(x=1)
        br = if_(s["score"] >= 90, "hi").build()
    assert br.texts == ["score >= 90"]


# ---------------------------------------------------------------------------
# Graph inputs and outputs
# ---------------------------------------------------------------------------


def test_graph_inputs_and_outputs_with_a_branch():
    g, _ = example_graph()
    ins = g.inputs
    assert list(ins) == ["score", "kind"]
    # only the branch reads kind, and a condition that cannot be evaluated is just not true
    assert ins["score"].required and not ins["kind"].required
    assert list(g.outputs) == ["t", "m", "v"]


def test_unmapped_branch_wired_to_end_forwards_target_and_matched():
    with GraphOp(name="g") as g:
        br = if_(PARENT["x"] > 0, "p").else_("q")
        START >> br >> END
    assert list(g.outputs) == ["target", "matched"]
    doc = same_documents(g)
    assert doc["ops"]["br"]["forward_all"] is True
    assert doc["ops"]["br"]["outputs"] == {"target": UNBOUND, "matched": UNBOUND}
    assert list(doc["outputs"]) == ["target", "matched"]


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_condition_must_be_a_ref():
    with pytest.raises(GraphTypeError):
        if_(True, "x")
    with pytest.raises(TypeError):
        if_(1 > 0, "x")
    with GraphOp(name="g"):
        with pytest.raises(TypeError, match="condition"):
            BranchOp(cases=[(True, "x")])
        with pytest.raises(TypeError, match="pair"):
            BranchOp(cases=[(PARENT["x"] > 1, "x", "extra")])
        with pytest.raises(TypeError):
            BranchOp(cases=[(PARENT["x"] > 1, 42)])
        with pytest.raises(TypeError):
            if_(PARENT["x"] > 1, "x").else_(3.5)


def test_branch_outside_a_graph_is_usage_error():
    chain = if_(PARENT["x"] > 1, "x")
    with pytest.raises(OperonUsageError):
        chain.else_("y")
    with pytest.raises(RuntimeError):
        chain.build()
    with pytest.raises(RuntimeError):
        BranchOp(cases=[(PARENT["x"] > 1, "x")])


def test_branch_has_only_target_and_matched_outputs():
    with GraphOp(name="g"):
        br = if_(PARENT["x"] > 1, "x").build()
        with pytest.raises(TypeError, match="target"):
            br["other"] >> PARENT["o"]
        with pytest.raises(TypeError):
            BranchOp(cases=[], outputs={"target": PARENT["t"] + 1})


def test_invalid_branch_name_is_value_error():
    with GraphOp(name="g"):
        with pytest.raises(ValueError):
            if_(PARENT["x"] > 1, "x").build(name="bad name")
        with pytest.raises(GraphError):
            BranchOp(name="bad.name", cases=[])


def test_branch_input_values_are_checked():
    with GraphOp(name="g"):
        s = score(x=1)
        with pytest.raises(TypeError, match="outputs"):
            BranchOp(inputs={"s": s}, cases=[])
        with pytest.raises(TypeError):
            BranchOp(inputs={"s": PARENT}, cases=[])
        with pytest.raises(ValueError):
            BranchOp(inputs={"bad name": 1}, cases=[])


def test_branch_condition_out_of_nested_scope_is_value_error():
    with GraphOp(name="outer"):
        s = score(x=1)
        with GraphOp(name="inner", inputs={"v": s["score"]}):
            with pytest.raises(ValueError, match="PARENT"):
                if_(s["score"] > 1, "p").build()
            with pytest.raises(OperonError, match="PARENT"):
                BranchOp(cases=[(PARENT["v"] > s["score"], "p")])
            with pytest.raises(ValueError, match="PARENT"):
                BranchOp(inputs={"w": s["score"]}, cases=[])


def test_adding_a_branch_after_build_is_runtime_error():
    g, router = example_graph()
    g._mark_built()
    with g:
        with pytest.raises(RuntimeError):
            if_(PARENT["x"] > 1, "x").build()
    with pytest.raises(RuntimeError):
        PARENT["x"] >> router["anchor"]


def test_export_config_is_json_ready():
    g, _ = example_graph()
    doc = export_config(g)
    assert json.loads(json.dumps(doc)) == doc
