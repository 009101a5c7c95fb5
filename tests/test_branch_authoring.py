"""Branches: if_(...).if_(...).else_(...) / .build() and BranchOp(...), their attributes, condition texts
and the graph inputs and outputs they make. Their documents: tests/test_branch_documents.py; authoring
errors: tests/test_branch_errors.py."""

from __future__ import annotations

import pytest

import operonx
import operonx.core
import operonx.core.ops
from operonx import END, PARENT, START, BranchOp, GraphOp
from operonx.branch import Branch, condition_text
from operonx.core.ops import if_

from documents import ref, same_documents, UNBOUND
from branch_helpers import a, b, example_graph, score


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
