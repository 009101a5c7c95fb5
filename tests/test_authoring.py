"""Authoring: @op, FuncOp and op nodes (no engine needed). Names: tests/test_authoring_names.py; refs
and bindings: tests/test_authoring_refs.py; edges and graphs: tests/test_authoring_edges.py."""

from __future__ import annotations

import importlib
import textwrap

import pytest

from operonx.errors import GraphError, GraphTypeError, OperonError, OperonUsageError
from operonx.graph import GraphOp, OpNode, Param, current_graph
from operonx.op import FuncOp, OpFunction, declared_outputs, op
from operonx import PARENT, START
from operonx.refs import Ref

from authoring_ops import (
    acount, add, count, fetch, heavy, kwargs_fn, pair, plain, returns_variable, spreads, with_nested,
)


# ---------------------------------------------------------------------------
# @op
# ---------------------------------------------------------------------------


def test_kinds_and_default_bounds():
    assert (add.is_async, add.is_gen, add.bound) == (False, False, "sync")
    assert (fetch.is_async, fetch.is_gen, fetch.bound) == (True, False, "io")
    assert (count.is_async, count.is_gen, count.bound) == (False, True, "sync")
    assert (acount.is_async, acount.is_gen, acount.bound) == (True, True, "io")
    assert isinstance(add, OpFunction)


def test_decorator_options():
    assert (heavy.bound, heavy.cache, heavy.delay, heavy.name) == ("cpu", False, 0, "heavy_op")
    assert heavy.outputs == ("r1", "r2")
    assert op(bound="io")(lambda: None).bound == "io"


@pytest.mark.parametrize("bad", ["gpu", "", 3])
def test_bad_bound_is_graph_error(bad):
    with pytest.raises(GraphError):
        op(bound=bad)(lambda: None)
    with pytest.raises(ValueError):
        op(bound=bad)(lambda: None)


def test_bad_delay():
    with pytest.raises(GraphError):
        op(delay=-1)(lambda: None)


def test_outside_a_graph_an_op_call_is_refused():
    assert current_graph() is None
    with pytest.raises(OperonUsageError, match=r"add\(\) is an op.*add\.func\(\.\.\.\)"):
        add(x=1)
    with pytest.raises(OperonUsageError):
        add(2, 3)
    assert add.func(x=1, y=2) == {"sum": 3}
    assert add.__wrapped__ is add.func
    assert add.__name__ == "add"
    assert list(count.func(2)) == [{"item": 0}, {"item": 1}]


def test_signature_is_read_once():
    assert add.params == ("x", "y")
    assert add.defaults == {"y": 1}
    assert not add.has_varkw
    assert kwargs_fn.has_varkw and kwargs_fn.params == ("x",)


def test_declared_outputs_from_source():
    assert add.outputs == ("sum",)
    assert pair.outputs == ("left", "right")  # "$tags" is never an output
    assert count.outputs == ("item",)
    assert acount.outputs == ("item",)
    assert with_nested.outputs == ("mine",)
    assert returns_variable.outputs is None  # open until run time
    assert spreads.outputs is None


def test_declared_outputs_open_without_source():
    ns: dict = {}
    exec(textwrap.dedent("def f(x):\n    return {'a': x}\n"), ns)
    assert declared_outputs(ns["f"]) is None
    assert declared_outputs(lambda x: {"a": x}) is None


def test_declared_outputs_are_parsed_once_and_lazily(monkeypatch):
    op_module = importlib.import_module("operonx.op")

    calls = []
    real = op_module.declared_outputs
    monkeypatch.setattr(op_module, "declared_outputs", lambda f: calls.append(f) or real(f))

    @op
    def f(x):
        return {"k": x}

    assert calls == []  # nothing read at decoration time
    with GraphOp(name="g"):
        for i in range(3):
            f(x=1, name=f"n{i}").outputs
    assert f.outputs == ("k",)
    assert len(calls) == 1


# ---------------------------------------------------------------------------
# nodes
# ---------------------------------------------------------------------------


def test_node_attributes():
    with GraphOp(name="g") as g:
        a = add(x=PARENT["x"])
        h = heavy(v=1)
        c = count(n=3)
        f = fetch(url="u")
    assert isinstance(a, FuncOp) and isinstance(a, OpNode)
    assert (a.name, a.full_name, a.type, a.bound, a.is_gen, a.enabled, a.delay) == (
        "a", "g.a", "code", "sync", False, True, 0,
    )
    assert (h.name, h.bound, h.cache, h.delay) == ("heavy_op", "cpu", False, 0)
    assert c.is_gen and c.bound == "sync"
    assert f.bound == "io" and f.is_async
    assert a.graph is g and g.ops["a"] is a
    a.enabled = False
    assert a.enabled is False
    assert a.func is add.func


def test_node_inputs_and_outputs_params():
    with GraphOp(name="g"):
        a = add(x=PARENT["x"])
        b = pair(a=0)
    x, y = a.inputs["x"], a.inputs["y"]
    assert isinstance(x, Param)
    assert (x.required, x.default) == (True, None)
    assert isinstance(x.value, Ref) and x.ref is x.value and x.literal is None
    assert (y.required, y.default, y.value) == (False, 1, None)
    assert list(a.inputs) == ["x", "y"]
    assert b.inputs["a"].literal == 0 and b.inputs["a"].ref is None
    assert list(a.outputs) == ["sum"] and a.outputs["sum"].value is None
    assert list(b.outputs) == ["left", "right"]


def test_metadata():
    with GraphOp(name="g"):
        a = add(x=1)
    m = a.metadata
    assert m["type"] == "code" and m["name"] == "g.a" and m["function_name"] == "add"
    assert "def add" in m["code_fn"]
    assert a.metadata is m


def test_call_time_options():
    with GraphOp(name="g"):
        a = add(x=1, name="custom", bound="cpu", cache=False, delay=0, return_keys=["s"])
    assert (a.name, a.bound, a.cache, a.delay) == ("custom", "cpu", False, 0)
    assert list(a.outputs) == ["s"]
    assert add.bound == "sync"  # the function itself is unchanged


def test_positional_args_in_graph_are_type_errors():
    with GraphOp(name="g"):
        with pytest.raises(GraphTypeError):
            add(1)


def test_unknown_keyword_is_type_error_listing_inputs_and_outputs():
    with GraphOp(name="g"):
        with pytest.raises(TypeError) as info:
            add(x=1, zz=2)
    err = info.value
    assert isinstance(err, GraphTypeError) and isinstance(err, OperonError)
    msg = str(err)
    assert "'zz'" in msg and "'x'" in msg and "'y'" in msg and "'sum'" in msg


def test_unknown_key_in_inputs_dict_is_type_error():
    with GraphOp(name="g"):
        with pytest.raises(GraphTypeError):
            add(inputs={"nope": 1})


def test_kwargs_function_accepts_extra_inputs():
    with GraphOp(name="g"):
        k = kwargs_fn(x=1, extra=PARENT["e"])
    assert list(k.inputs) == ["x", "extra"]
    assert k.inputs["extra"].required is False


def test_ops_and_parent_are_not_input_values():
    with GraphOp(name="g"):
        a = add(x=1)
        with pytest.raises(GraphTypeError):
            add(x=a)
        with pytest.raises(GraphTypeError):
            add(x=PARENT)
        with pytest.raises(GraphTypeError):
            add(x=START)


def test_funcop_wraps_a_plain_function():
    with GraphOp(name="g") as g:
        t = FuncOp(code_fn=plain, inputs={"a": PARENT["a"], "b": 2}, name="t")
        u = FuncOp(code_fn=plain, inputs={"a": 1})
    assert t.type == "code" and t.func is plain
    assert list(t.inputs) == ["a", "b"]
    assert t.inputs["b"].literal == 2
    assert u.name == "u"
    assert list(g.ops) == ["t", "u"]
    assert t.outputs.keys() == {"total"}


def test_funcop_outside_graph_is_usage_error():
    with pytest.raises(OperonUsageError):
        FuncOp(code_fn=plain)
    with pytest.raises(RuntimeError):
        FuncOp(code_fn=plain)
