"""Branch authoring errors: conditions that are no refs, branches outside a graph or after build, outputs
other than target and matched, bad names and inputs, conditions out of a nested scope."""

from __future__ import annotations

import pytest

from operonx import PARENT, BranchOp, GraphOp
from operonx.core.ops import if_
from operonx.errors import GraphError, GraphTypeError, OperonError, OperonUsageError

from branch_helpers import example_graph, score


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
