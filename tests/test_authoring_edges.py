"""Authoring: edges (hard, soft, fan-out and fan-in, START and END), the graph context and its
settings, built graphs and graph outputs (no engine needed)."""

from __future__ import annotations


import pytest

from operonx.errors import GraphError, GraphTypeError, OperonUsageError
from operonx.graph import GraphOp, current_graph
from operonx import END, PARENT, START

from authoring_ops import add, pair, returns_variable


def test_chain_and_terminals():
    with GraphOp(name="g") as g:
        a = add(x=1)
        b = add(x=a["sum"])
        c = add(x=b["sum"])
        assert (START >> a) is a
        assert (a >> b >> c) is c
        assert (c >> END) is END
    assert g.edges == [("a", "b", False), ("b", "c", False)]
    assert g.entries == ["a"] and g.exits == ["c"]


def test_fan_out_and_in():
    with GraphOp(name="g") as g:
        a, b, c, d = (add(x=1, name=n) for n in "abcd")
        out = a >> [b, c] >> d
        START >> [a]
        [b, c] >> END
    assert out is d
    assert g.edges == [("a", "b", False), ("a", "c", False), ("b", "d", False), ("c", "d", False)]
    assert g.exits == ["b", "c"]


def test_soft_edges_three_ways():
    with GraphOp(name="g") as g:
        a, b, c, d, e = (add(x=1, name=n) for n in "abcde")
        a >> ~c
        a > d
        [a, b] > e
        b >> [~d, c]
    assert g.edges == [
        ("a", "c", True), ("a", "d", True), ("a", "e", True), ("b", "e", True),
        ("b", "d", True), ("b", "c", False),
    ]


def test_start_soft_is_type_error():
    with GraphOp(name="g"):
        a = add(x=1)
        for wire in (lambda: START >> ~a, lambda: START >> [a, ~a], lambda: START > a):
            with pytest.raises(TypeError) as info:
                wire()
            assert isinstance(info.value, GraphTypeError)
        with pytest.raises(GraphTypeError):
            a > END
        with pytest.raises(GraphTypeError):
            a >> ~END


def test_duplicate_edges_and_terminals_are_kept_once():
    with GraphOp(name="g") as g:
        a = add(x=1)
        b = add(x=1)
        a >> b
        a >> b
        a > b
        START >> a
        START >> a
        b >> END
        b >> END
    assert g.edges == [("a", "b", False)]
    assert g.entries == ["a"] and g.exits == ["b"]


def test_edge_to_op_of_another_graph_is_value_error():
    with GraphOp(name="h"):
        other = add(x=1)
    with GraphOp(name="g"):
        a = add(x=1)
        with pytest.raises(GraphError):
            a >> other
        with pytest.raises(ValueError):
            [a] >> other
        with pytest.raises(GraphError):
            other > a


def test_wiring_non_ops_is_type_error():
    with GraphOp(name="g"):
        a = add(x=1)
        with pytest.raises(GraphTypeError):
            a >> [a, "b"]
        with pytest.raises(TypeError):
            a >> 3


def test_graph_context_and_nesting():
    g = GraphOp(name="g")
    assert current_graph() is None
    with g:
        assert current_graph() is g
        inner = GraphOp(name="inner")  # a nested graph: a node of g (tests/test_nested_authoring.py)
        assert g.ops["inner"] is inner and inner.full_name == "g.inner"
    assert current_graph() is None
    assert (g.type, g.bound, g.full_name, g.enabled) == ("graph", "io", "g", True)


def test_concurrency():
    assert GraphOp(name="g", concurrency=4).concurrency == 4
    assert GraphOp(name="g").concurrency is None
    with pytest.raises(GraphError):
        GraphOp(name="g", concurrency=0)


def test_adding_to_a_built_graph_is_runtime_error():
    with GraphOp(name="g") as g:
        a = add(x=1)
        b = add(x=1)
    g._mark_built()
    assert g.is_built
    with g:
        with pytest.raises(OperonUsageError):
            add(x=1)
        with pytest.raises(RuntimeError):
            add(x=1, name="other")
    with pytest.raises(OperonUsageError):
        a >> b
    with pytest.raises(OperonUsageError):
        START >> a


def test_graph_outputs():
    with GraphOp(name="g") as g:
        a = add(x=1)
        b = pair(a=1)
        c = returns_variable(x=1)
        d = add(x=1, sum=PARENT["mapped"])
        START >> a
        [a, b, c] >> END
    assert list(g.outputs) == ["sum", "left", "right", "mapped"]
    assert g.outputs["sum"].required is False
    del d


def test_nothing_is_printed(capsys):
    with GraphOp(name="g") as g:
        a = add(x=PARENT["x"])
        START >> a >> END
    g.export_config()
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
