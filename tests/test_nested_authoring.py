"""Nested graphs (GraphOp inside GraphOp): authoring and scopes. Their documents:
tests/test_nested_documents.py; the @graph decorator: tests/test_graph_decorator.py."""

from __future__ import annotations

import pytest

from operonx import END, PARENT, START, GraphOp
from operonx.errors import GraphError, OperonError
from operonx.document import engine_document
from operonx.graph import current_graph

from documents import mapped, ref, same_documents, UNBOUND
from nested_helpers import a, b, example_graph


# ---------------------------------------------------------------------------
# Nested GraphOp
# ---------------------------------------------------------------------------


def test_nested_graph_is_a_node_of_the_outer_graph():
    g, sub, bb = example_graph()
    assert list(g.ops) == ["s", "inner", "t"]
    assert g.ops["inner"] is sub
    assert (sub.name, sub.full_name, sub.type, sub.bound) == ("inner", "outer.inner", "graph", "io")
    assert sub.graph is g and g.graph is None
    assert sub.is_nested and not g.is_nested
    assert list(sub.ops) == ["bb"]
    assert bb.graph is sub and bb.full_name == "outer.inner.bb"
    assert sub.entries == ["bb"] and sub.exits == ["bb"]
    assert g.edges == [("s", "inner", False), ("inner", "t", False)]
    assert current_graph() is None


def test_nested_graph_inputs_and_outputs():
    g, sub, _ = example_graph()
    ins = sub.inputs
    assert list(ins) == ["v", "w", "lit"]
    assert ins["v"].required and ins["v"].value.source == "outer.s"
    assert not ins["w"].required and ins["w"].default == 1 and ins["w"].value.is_parent
    assert ins["lit"].value == 3 and not ins["lit"].required
    outs = sub.outputs
    assert list(outs) == ["k"] and outs["k"].value.var == "k2"
    assert sub.output_mappings == {"k": "k2"}
    # the outer graph reads x (for s) and w (for the nested graph, optional: its reader has a default)
    g_ins = g.inputs
    assert list(g_ins) == ["x", "w"]
    assert g_ins["x"].required and not g_ins["w"].required and g_ins["w"].default == 1
    assert list(g.outputs) == ["k2", "v"]


def test_nested_graph_names():
    with GraphOp(name="g") as g:
        with GraphOp(inputs={"v": 1}) as from_with:
            pass
        assigned = GraphOp()
        with GraphOp(name="given"):
            pass
        with GraphOp():
            pass
    assert list(g.ops) == ["from_with", "assigned", "given", "graph"]
    assert from_with.full_name == "g.from_with" and assigned.full_name == "g.assigned"


def test_nested_to_any_depth_full_names():
    with GraphOp(name="r") as g:
        with GraphOp(name="l1") as l1:
            with GraphOp(name="l2") as l2:
                leaf = a(x=PARENT["x"])
                START >> leaf >> END
            START >> l2 >> END
        START >> l1 >> END
    assert l2.full_name == "r.l1.l2" and leaf.full_name == "r.l1.l2.leaf"
    assert l2.graph is l1 and l1.graph is g
    # nobody binds x on the way down: each level reads it from its own PARENT, unbound
    assert list(l2.inputs) == ["x"] and l2.inputs["x"].value is None
    assert list(l1.inputs) == []
    assert list(g.outputs) == ["v"]


def test_nested_graph_forwarding_all_outputs():
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"v": PARENT["x"]}) as sub:
            bb = b(v=PARENT["v"])
            cc = a(x=PARENT["v"])
            START >> [bb, cc]
            bb >> END
            cc["v"] >> PARENT["vv"]
        START >> sub >> END
    assert list(sub.outputs) == ["k", "vv"]
    assert list(g.outputs) == ["k", "vv"]
    doc = same_documents(g)
    node = doc["ops"]["sub"]
    assert node["forward_all"] is True
    assert node["outputs"] == {"k": UNBOUND, "vv": UNBOUND}
    inner = node["graph"]["ops"]
    assert inner["bb"]["forward_all"] is True
    assert inner["cc"]["outputs"] == {"v": mapped("g.sub", "vv")}
    assert list(doc["outputs"]) == ["k", "vv"]


def test_inputs_bound_with_rshift():
    with GraphOp(name="g") as g:
        s = a(x=PARENT["x"])
        with GraphOp(name="sub") as sub:
            bb = b(v=PARENT["v"])
            START >> bb >> END
        s["v"] >> sub["v"]
        START >> s >> sub
    assert sub.inputs["v"].value.source == "g.s"
    doc = same_documents(g)
    assert doc["ops"]["sub"]["inputs"]["v"]["ref"] == ref("g.s", "v")
    assert bb.inputs["v"].value.is_parent


# ---------------------------------------------------------------------------
# Scopes
# ---------------------------------------------------------------------------


def test_ref_to_an_outer_op_is_value_error_saying_to_use_parent():
    with GraphOp(name="outer"):
        s = a(x=PARENT["x"])
        with GraphOp(name="inner", inputs={"v": s["v"]}):
            with pytest.raises(ValueError, match="PARENT") as info:
                b(v=s["v"])
            assert isinstance(info.value, GraphError) and isinstance(info.value, OperonError)
            assert "inputs=" in str(info.value) and "outer.s" in str(info.value)
            with pytest.raises(ValueError, match="PARENT"):
                b(v=PARENT["v"] + s["v"])  # inside a transform argument
            with pytest.raises(ValueError, match="PARENT"):
                b(v=PARENT["v"], inputs={"w": s["v"]})
            bb = b(v=PARENT["v"])
            with pytest.raises(ValueError, match="PARENT"):
                s["v"] >> bb["w"]
            with pytest.raises(ValueError, match="PARENT"):
                GraphOp(name="deeper", inputs={"q": s["v"]})


def test_ref_to_an_op_two_levels_out_is_value_error():
    with GraphOp(name="outer"):
        s = a(x=1)
        with GraphOp(name="l1", inputs={"v": s["v"]}):
            with GraphOp(name="l2"):
                with pytest.raises(ValueError, match="PARENT"):
                    a(x=s["v"])


def test_ref_into_a_nested_graph_is_value_error_saying_to_read_its_result():
    with GraphOp(name="outer"):
        with GraphOp(name="inner") as sub:
            bb = b(v=PARENT["v"])
        with pytest.raises(ValueError, match=r"inner\['<key>'\]"):
            a(x=bb["k"])
        assert a(x=sub["k"]).inputs["x"].value.source == "outer.inner"


def test_ref_to_a_sibling_nested_graph_op_is_value_error():
    with GraphOp(name="outer"):
        with GraphOp(name="one"):
            x1 = a(x=1)
        with GraphOp(name="two"):
            with pytest.raises(ValueError):
                a(x=x1["v"])


def test_ref_to_an_enclosing_graph_output_is_value_error():
    with GraphOp(name="outer") as g:
        with pytest.raises(ValueError, match="PARENT"):
            a(x=g["v"])


def test_edges_across_graphs_are_value_errors():
    with GraphOp(name="outer"):
        s = a(x=1)
        with GraphOp(name="inner"):
            bb = b(v=1)
            with pytest.raises(ValueError):
                s >> bb
        with pytest.raises(ValueError):
            bb >> s


def test_root_graph_inputs_are_literals_only():
    with pytest.raises(ValueError, match="run inputs"):
        GraphOp(name="g", inputs={"x": PARENT["x"]})
    g = GraphOp(name="g", inputs={"x": 5})
    assert g.inputs["x"].value == 5


def test_mapping_or_binding_a_root_graph_is_type_error():
    with GraphOp(name="g") as g:
        s = a(x=1)
    with pytest.raises(TypeError):
        g["x"] >> PARENT["y"]
    with pytest.raises(TypeError):
        s["v"] >> g["x"]


def test_building_freezes_nested_graphs():
    g, sub, bb = example_graph()
    engine_document(g, freeze=True)
    assert g.is_built and sub.is_built
    with sub:
        with pytest.raises(RuntimeError):
            a(x=1)
    with pytest.raises(RuntimeError):
        START >> bb
    with g:
        with pytest.raises(RuntimeError):
            GraphOp(name="late")
