"""Nested graphs (GraphOp inside GraphOp) and the @graph decorator: authoring, scopes and documents."""

from __future__ import annotations

import json
import sys

import types

import pytest

import operonx
import operonx.core
from operonx import END, PARENT, START, GraphOp, graph, op
from operonx.errors import GraphError, GraphTypeError, OperonError, OperonUsageError
from operonx.document import engine_document, export_config
from operonx.graph import GraphFunction, current_graph
from documents import mapped, ref, same_documents, UNBOUND, unhost


@op
def a(x):
    return {"v": x}


@op
def b(v, w=1):
    return {"k": v * 10 + w}


def example_graph():
    with GraphOp(name="outer") as g:
        s = a(x=PARENT["x"])
        with GraphOp(name="inner", inputs={"v": s["v"], "lit": 3, "w": PARENT["w"]}) as sub:
            bb = b(v=PARENT["v"], w=PARENT["w"])
            START >> bb >> END
        t = a(x=sub["k"])
        START >> s >> sub >> t >> END
        sub["k"] >> PARENT["k2"]
    return g, sub, bb


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


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------


def test_nested_graph_document():
    g, _, _ = example_graph()
    doc = same_documents(g)
    assert list(doc["ops"]) == ["s", "inner", "t"]
    assert doc["ops"]["inner"] == {
        "type": "graph",
        "name": "inner",
        "full_name": "outer.inner",
        "enabled": True,
        # passed through as they are: each inner op applies its own default and requiredness
        "inputs": {
            "v": {"required": False, "default": None, "ref": ref("outer.s", "v")},
            "lit": {"required": False, "default": None, "ref": None, "literal": 3},
            "w": {"required": False, "default": None, "ref": ref("outer", "w")},
        },
        "outputs": {"k": mapped("outer", "k2")},
        "forward_all": False,
        "graph": {
            "name": "inner",
            "full_name": "outer.inner",
            "concurrency": None,
            "ops": {
                "bb": {
                    "type": "code",
                    "name": "bb",
                    "full_name": "outer.inner.bb",
                    "func_name": "b",
                    "bound": "sync",
                    "is_async": False,
                    "is_generator": False,
                    "enabled": True,
                    "inputs": {
                        "v": {"required": True, "default": None, "ref": ref("outer.inner", "v")},
                        "w": {"required": False, "default": 1, "ref": ref("outer.inner", "w")},
                    },
                    "outputs": {"k": UNBOUND},
                    "forward_all": True,
                }
            },
            "edges": [],
            "entries": ["bb"],
            "exits": ["bb"],
        },
    }
    assert doc["ops"]["t"]["inputs"]["x"]["ref"] == ref("outer.inner", "k")
    assert doc["inputs"] == {
        "x": {"required": True, "default": None, "ref": None},
        "w": {"required": False, "default": 1, "ref": None},
    }
    assert list(doc["outputs"]) == ["k2", "v"]
    assert doc["edges"] == [
        {"from": "s", "to": "inner", "soft": False},
        {"from": "inner", "to": "t", "soft": False},
    ]
    assert doc["initial_ready_count"] == {"s": 0, "inner": 1, "t": 1}
    assert json.loads(json.dumps(doc)) == doc


def test_engine_document_has_one_host_list_for_all_levels():
    g, _, _ = example_graph()
    text, hosts = engine_document(g)
    doc = json.loads(text)
    inner = doc["ops"]["inner"]
    assert hosts[inner["inputs"]["lit"]["literal"]["$host"]] == 3
    bb = inner["graph"]["ops"]["bb"]
    assert hosts[bb["callable"]["$host"]] is b.func
    assert hosts[doc["ops"]["s"]["callable"]["$host"]] is a.func
    assert doc["ops"]["t"]["callable"] == doc["ops"]["s"]["callable"]  # one slot per function
    assert set(inner["graph"]) == {"name", "full_name", "concurrency", "ops", "edges", "entries", "exits"}


def test_nested_graph_concurrency_and_disabled_are_written():
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", concurrency=3) as sub:
            a(x=1)
        sub.enabled = False
    doc = same_documents(g)
    assert doc["ops"]["sub"]["enabled"] is False
    assert doc["ops"]["sub"]["graph"]["concurrency"] == 3


def test_ops_after_a_nested_graph_keep_their_order():
    with GraphOp(name="g") as g:
        a(x=1, name="first")
        with GraphOp(name="mid"):
            a(x=1, name="m1")
            with GraphOp(name="deep"):
                a(x=1, name="d1")
            a(x=1, name="m2")
        a(x=1, name="last")
    doc = same_documents(g)
    assert list(doc["ops"]) == ["first", "mid", "last"]
    assert list(doc["ops"]["mid"]["graph"]["ops"]) == ["m1", "deep", "m2"]
    text, _ = engine_document(g)
    assert list(json.loads(text)["ops"]["mid"]["graph"]["ops"]) == ["m1", "deep", "m2"]


@pytest.fixture
def default_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _deep(n: int) -> tuple[GraphOp, object]:
    with GraphOp(name="root") as g:
        levels = []
        for i in range(n):
            sub = GraphOp(name=f"n{i}", inputs={"v": PARENT["v"]})
            sub.__enter__()
            levels.append(sub)
        leaf = a(x=PARENT["v"])
        START >> leaf >> END
        for sub in reversed(levels):
            sub.__exit__(None, None, None)
            START >> sub >> END
    return g, leaf


def test_200_levels_export_under_the_default_recursion_limit(default_recursion_limit):
    g, leaf = _deep(200)
    assert leaf.full_name == "root." + ".".join(f"n{i}" for i in range(200)) + ".leaf"
    assert list(g.inputs) == ["v"] and list(g.outputs) == ["v"]
    docs = [export_config(g)]
    text, hosts = engine_document(g)
    docs.append(json.loads(text))
    for doc in docs:
        level, depth = doc, 0
        while True:
            node = next(iter(level["ops"].values()))
            if node["type"] != "graph":
                break
            assert node["forward_all"] is True and list(node["outputs"]) == ["v"]
            level, depth = node["graph"], depth + 1
        assert depth == 200
        assert node["inputs"]["x"]["ref"]["source"] == leaf.graph.full_name
    g._mark_built()
    assert leaf.graph.is_built


def test_deep_nesting_export_is_linear():
    import time

    g, _ = _deep(1500)
    t0 = time.perf_counter()
    engine_document(g)
    export_config(g)
    assert time.perf_counter() - t0 < 5


# ---------------------------------------------------------------------------
# @graph
# ---------------------------------------------------------------------------


@graph
def pipe(v, w):
    bb = b(v=v, w=w)
    START >> bb >> END


@graph(name="named")
def pipe_named(v):
    inner_b = b(v=v)
    START >> inner_b >> END


seen: list = []


@graph
def spy(v, w, z=4, n=None):
    seen.append((v, w, z, n))
    bb = b(v=v, w=w)
    START >> bb >> END


def test_graph_decorator_import_paths():
    assert operonx.graph is operonx.core.graph is graph
    # `import operonx.graph` gives the module, which is also the decorator (0.7.1's `from operonx import graph`)
    assert isinstance(operonx.graph, types.ModuleType) and operonx.graph.GraphOp is GraphOp
    assert sys.modules["operonx.graph"] is operonx.graph
    assert isinstance(graph(name="x")(lambda: None), GraphFunction)
    assert isinstance(pipe, GraphFunction)
    assert pipe.__name__ == "pipe" and pipe.func.__name__ == "pipe"
    assert "graph" in operonx.__all__ and "graph" in operonx.core.__all__


def test_graph_function_inside_a_graph_makes_a_nested_graph():
    with GraphOp(name="outer") as g:
        s = a(x=PARENT["x"])
        p = pipe(v=s["v"], w=5)
        q = pipe(v=PARENT["x"], w=None, name="qq")
        pipe(v=1, w=2)
        nm = pipe_named(v=s["v"])
        START >> s >> [p, q] >> END
    assert list(g.ops) == ["s", "p", "qq", "pipe", "named"]
    assert (p.type, p.full_name, q.full_name, nm.full_name) == ("graph", "outer.p", "outer.qq", "outer.named")
    assert p.ops["bb"].full_name == "outer.p.bb"
    assert p.inputs["v"].value.source == "outer.s" and p.inputs["w"].value == 5
    assert q.inputs["v"].value.is_parent and q.inputs["w"].value is None
    # a plain value reaches the body as it is; a ref or None becomes PARENT[param]
    assert p.ops["bb"].inputs["w"].value == 5
    assert p.ops["bb"].inputs["v"].value.is_parent
    assert q.ops["bb"].inputs["w"].value.is_parent
    doc = same_documents(g)
    assert doc["ops"]["p"]["inputs"]["v"]["ref"] == ref("outer.s", "v")
    assert doc["ops"]["p"]["inputs"]["w"]["literal"] == 5
    assert doc["ops"]["p"]["graph"]["ops"]["bb"]["inputs"]["v"]["ref"] == ref("outer.p", "v")
    assert doc["ops"]["qq"]["graph"]["ops"]["bb"]["inputs"]["w"]["ref"] == ref("outer.qq", "w")


def test_graph_function_body_arguments():
    seen.clear()
    with GraphOp(name="g"):
        s = a(x=1)
        spy(v=s["v"], w=7)
    v, w, z, n = seen[-1]
    assert v.is_parent and v.var == "v"
    assert (w, z) == (7, 4)
    assert n.is_parent and n.var == "n"


def test_graph_function_outside_a_graph_returns_a_root_graph():
    root = pipe(v=None, w=3)
    assert isinstance(root, GraphOp) and root.graph is None
    assert (root.name, root.full_name) == ("root", "root")
    assert list(root.ops) == ["bb"]
    assert root.inputs["v"].required and root.inputs["v"].value is None
    assert root.inputs["w"].value == 3
    doc = same_documents(root)
    assert doc["ops"]["bb"]["inputs"]["v"]["ref"] == ref("root", "v")
    assert doc["ops"]["bb"]["inputs"]["w"]["literal"] == 3
    assert doc["inputs"] == {
        "v": {"required": True, "default": None, "ref": None},
        "w": {"required": False, "default": None, "ref": None, "literal": 3},
    }
    assert [pipe_named(v=None).name, pipe(v=None, w=None, name="given").name] == ["named", "given"]
    assert [pipe(None, None)][0].name == "pipe"


def test_graph_function_positional_arguments():
    with GraphOp(name="g"):
        p = pipe(PARENT["x"], 2)
    assert p.inputs["v"].value.is_parent and p.inputs["w"].value == 2


def test_graph_function_argument_errors():
    with pytest.raises(TypeError, match="missing 'w'"):
        pipe(v=None)
    with pytest.raises(TypeError, match="zz"):
        pipe(v=None, w=None, zz=1)
    with pytest.raises(GraphTypeError):
        pipe(1, 2, 3)
    with pytest.raises(TypeError, match="multiple"):
        pipe(1, v=2, w=3)
    with pytest.raises(ValueError, match="run inputs"):
        pipe(v=PARENT["x"], w=None)
    with pytest.raises(ValueError):
        pipe(v=None, w=None, name="bad name")


def test_graph_function_scope_errors():
    with GraphOp(name="outer"):
        s = a(x=1)
        with GraphOp(name="inner"):
            with pytest.raises(ValueError, match="PARENT"):
                pipe(v=s["v"], w=None)


def test_graph_decorator_needs_a_function():
    with pytest.raises(TypeError):
        graph(3)
    with pytest.raises(GraphError):
        graph(lambda x: None, bound="gpu")
