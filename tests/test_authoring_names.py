"""Authoring: how ops and graphs are named (assignment, closure, module level, name=, decorator), which
names are valid, and duplicates (no engine needed)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from operonx.errors import GraphError
from operonx.graph import GraphOp
from operonx._authoring.naming import assigned_name, check_name
from operonx.op import op

from authoring_ops import add, heavy


def test_name_from_assignment_in_function():
    with GraphOp(name="g"):
        first = add(x=1)
        multi_line = add(
            x=1,
            y=2,
        )
        p = q = add(x=1)
    assert first.name == "first"
    assert multi_line.name == "multi_line"
    assert p.name == "p" and q is p


def test_name_from_closure_and_attribute():
    holder = SimpleNamespace()
    with GraphOp(name="g"):
        cell = None

        def inner():
            nonlocal cell
            cell = add(x=1)

        inner()
        holder.attr_op = add(x=1)
    assert cell.name == "cell"
    assert holder.attr_op.name == "attr_op"


MODULE_GRAPH = GraphOp(name="modg")
with MODULE_GRAPH:
    module_level = add(x=1)


def test_name_from_module_level_assignment():
    assert module_level.name == "module_level"
    assert module_level.full_name == "modg.module_level"


def test_name_fallbacks_and_priority():
    ops = []
    with GraphOp(name="g"):
        ops.append(add(x=1))  # not assigned: the function's name
        named = add(x=1, name="explicit")
        h = heavy(v=1)  # decorator name= beats the assignment
        lam = op(lambda x: {"y": x})
        ops.append(lam(x=1))
    assert ops[0].name == "add"
    assert named.name == "explicit"
    assert h.name == "heavy_op"
    assert ops[1].name == "op"


def test_names_are_cached_per_call_site():
    names = []
    for i in range(3):
        with GraphOp(name=f"g{i}"):
            same = add(x=1)
        names.append(same.name)
    assert names == ["same", "same", "same"]


@pytest.mark.parametrize("good", ["a", "A1", "snake_case", "kebab-case", "ñandú", "0lead"])
def test_valid_names(good):
    assert check_name(good) == good
    with GraphOp(name="g"):
        assert add(x=1, name=good).name == good


@pytest.mark.parametrize("bad", ["", "a b", "a.b", "x/y", "q?", "tab\t", 3, b"x"])
def test_invalid_names_are_value_errors(bad):
    with GraphOp(name="g"):
        with pytest.raises(GraphError):
            add(x=1, name=bad)
    with pytest.raises(ValueError):
        check_name(bad)


def test_invalid_graph_name():
    with pytest.raises(GraphError):
        GraphOp(name="no spaces")


def test_graph_name_from_assignment():
    my_graph = GraphOp()
    assert my_graph.name == "my_graph"


def test_duplicate_name_is_a_graph_error_naming_both_lines():
    with GraphOp(name="g") as g:
        add(x=1, name="a")
        with pytest.raises(GraphError, match=r"two ops named 'a'.*test_authoring_names.py:\d+.*name="):
            add(x=2, name="a")
    assert list(g.ops) == ["a"]


def test_assigned_name_helper():
    import sys

    def call():
        return assigned_name(sys._getframe(1))

    target = call()
    assert target == "target"
    assert call() is None
