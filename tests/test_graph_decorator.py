"""The @graph decorator: its import paths, graph functions called inside a graph (a nested graph) and
outside (a root graph), their arguments and errors."""

from __future__ import annotations

import sys
import types

import pytest

import operonx
import operonx.core
from operonx import END, PARENT, START, GraphOp, graph
from operonx.errors import GraphError, GraphTypeError
from operonx.graph import GraphFunction

from documents import ref, same_documents
from nested_helpers import a, b


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
