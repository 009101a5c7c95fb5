"""Authoring: @op, FuncOp, GraphOp, refs, names and edges (no engine needed)."""

from __future__ import annotations

import importlib
import logging
import textwrap
from types import SimpleNamespace

import pytest

from operonx.errors import GraphError, GraphTypeError, OperonError, OperonUsageError
from operonx.graph import GraphOp, OpNode, Param, current_graph
from operonx._authoring.naming import assigned_name, check_name
from operonx.op import FuncOp, OpFunction, declared_outputs, op
from operonx import END, PARENT, START
from operonx.refs import Ref

# ---------------------------------------------------------------------------
# functions used as ops
# ---------------------------------------------------------------------------


@op
def add(x, y=1):
    return {"sum": x + y}


@op
def pair(a, b=None):
    if a:
        return {"left": a, "right": b}
    return {"left": None, "$tags": ["t"]}


@op
async def fetch(url, timeout=5):
    return {"body": url}


@op
def count(n):
    for i in range(n):
        yield {"item": i}


@op
async def acount(n):
    for i in range(n):
        yield {"item": i}


@op
def returns_variable(x):
    out = {"a": x}
    return out


@op
def spreads(x):
    return {**x, "b": 1}


@op
def with_nested(x):
    def helper():
        return {"not_mine": 1}

    return {"mine": helper()}


@op
def kwargs_fn(x, **kw):
    return {"x": x, **kw}


@op(bound="cpu", cache=True, delay=0.5, name="heavy_op", return_keys=["r1", "r2"])
def heavy(v):
    return compute(v)  # noqa: F821 - never run


def plain(**kw):
    return {"total": sum(kw.values())}


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
    assert (heavy.bound, heavy.cache, heavy.delay, heavy.name) == ("cpu", True, 0.5, "heavy_op")
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


def test_outside_a_graph_calls_the_function():
    assert current_graph() is None
    assert add(x=1) == {"sum": 2}
    assert add(2, 3) == {"sum": 5}
    assert add.func(x=1, y=2) == {"sum": 3}
    assert add.__wrapped__ is add.func
    assert add.__name__ == "add"
    assert list(count(2)) == [{"item": 0}, {"item": 1}]


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
    assert (h.name, h.bound, h.cache, h.delay) == ("heavy_op", "cpu", True, 0.5)
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
        a = add(x=1, name="custom", bound="cpu", cache=True, delay=2, return_keys=["s"])
    assert (a.name, a.bound, a.cache, a.delay) == ("custom", "cpu", True, 2)
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


# ---------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------


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


def test_names_are_cached_per_call_site(caplog):
    with GraphOp(name="g") as g:
        for _ in range(3):
            same = add(x=1)
    assert same.name == "same"
    assert list(g.ops) == ["same"]


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


def test_duplicate_name_last_wins_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="operonx"):
        with GraphOp(name="g") as g:
            a1 = add(x=1, name="a")
            a2 = add(x=2, name="a")
    assert g.ops["a"] is a2 and a1 is not a2
    assert any(r.name == "operonx" and "'a'" in r.getMessage() for r in caplog.records)


def test_assigned_name_helper():
    import sys

    def call():
        return assigned_name(sys._getframe(1))

    target = call()
    assert target == "target"
    assert call() is None


# ---------------------------------------------------------------------------
# refs
# ---------------------------------------------------------------------------


def test_refs_record_transforms():
    with GraphOp(name="g"):
        a = add(x=1)
    r = a["sum"]
    assert (r.source, r.var, r.transforms) == ("g.a", "sum", [])
    assert r.source_op is a
    assert r["k"][0].transforms == [("getitem", ("k",)), ("getitem", (0,))]
    assert r.upper().transforms == [("getattr", ("upper",)), ("call", ((), {}))]
    assert r.split(",", maxsplit=1).transforms[-1] == ("call", ((",",), {"maxsplit": 1}))
    assert (10 - r).transforms == [("rsub", (10,))]
    assert (r - 10).transforms == [("sub", (10,))]
    assert (-r).transforms == [("neg", ())]
    assert (r >= 90).transforms == [("ge", (90,))]
    assert (~r).transforms == [("not_", ())]
    assert r.apply(len).transforms == [("apply", (len,))]
    assert r.transforms == []  # refs are immutable


@pytest.mark.parametrize(
    "build, kind",
    [
        (lambda r: r + 1, "add"), (lambda r: r - 1, "sub"), (lambda r: r * 1, "mul"),
        (lambda r: r / 1, "truediv"), (lambda r: r // 1, "floordiv"), (lambda r: r % 1, "mod"),
        (lambda r: r ** 1, "pow"), (lambda r: 1 + r, "radd"), (lambda r: 1 - r, "rsub"),
        (lambda r: 1 * r, "rmul"), (lambda r: 1 / r, "rtruediv"), (lambda r: 1 // r, "rfloordiv"),
        (lambda r: 1 % r, "rmod"), (lambda r: 1 ** r, "rpow"), (lambda r: -r, "neg"),
        (lambda r: +r, "pos"), (lambda r: abs(r), "abs"), (lambda r: r == 1, "eq"),
        (lambda r: r != 1, "ne"), (lambda r: r < 1, "lt"), (lambda r: r <= 1, "le"),
        (lambda r: r > 1, "gt"), (lambda r: r >= 1, "ge"), (lambda r: r & 1, "and_"),
        (lambda r: r | 1, "or_"), (lambda r: ~r, "not_"), (lambda r: r[1], "getitem"),
        (lambda r: r.attr, "getattr"), (lambda r: r.apply(str), "apply"),
    ],
)
def test_every_transform_kind(build, kind):
    r = PARENT["v"]
    assert build(r).transforms[-1][0] == kind


def test_ref_arguments_stay_refs():
    with GraphOp(name="g"):
        a = add(x=1)
    cond = (a["sum"] >= 1) & (PARENT["flag"] == True)  # noqa: E712
    kind, (arg,) = cond.transforms[-1]
    assert kind == "and_" and isinstance(arg, Ref) and arg.var == "flag"


def test_ref_is_hashable_and_not_iterable():
    r = PARENT["x"]
    assert isinstance(r == 1, Ref)
    assert {r: 1}[r] == 1
    with pytest.raises(TypeError):
        iter(r)
    with pytest.raises(AttributeError):
        r._private  # noqa: B018
    with pytest.raises(GraphTypeError):
        r.apply(3)


def test_ref_repr():
    with GraphOp(name="g"):
        a = add(x=1)
    assert repr(a["sum"]) == "Ref('g.a', 'sum')"
    assert repr(a["sum"].upper()) == "Ref('g.a', 'sum', transforms=2)"
    assert repr(PARENT["x"]) == "Ref('__PARENT__', 'x')"
    assert PARENT["x"].is_parent


def test_keys_must_be_strings():
    with pytest.raises(GraphTypeError):
        PARENT[1]
    with GraphOp(name="g"):
        a = add(x=1)
    with pytest.raises(GraphTypeError):
        a[0]
    with pytest.raises(TypeError):
        iter(a)


# ---------------------------------------------------------------------------
# output mappings and input bindings
# ---------------------------------------------------------------------------


def test_output_mapping_three_ways():
    with GraphOp(name="g") as g:
        a = add(x=1, sum=PARENT["s1"])
        b = add(x=1, outputs={"sum": PARENT["s2"]})
        c = add(x=1)
        c["sum"] >> PARENT["s3"]
    assert a.output_mappings == {"sum": "s1"}
    assert b.output_mappings == {"sum": "s2"}
    assert c.output_mappings == {"sum": "s3"}
    assert a.outputs["sum"].value.var == "s1"
    assert list(g.outputs) == ["s1", "s2", "s3"]


def test_output_mapping_errors():
    with GraphOp(name="g"):
        a = add(x=1)
        with pytest.raises(GraphTypeError):
            a["nope"] >> PARENT["z"]  # not a declared output
        with pytest.raises(GraphTypeError):
            a["sum"].upper() >> PARENT["z"]  # a transformed value cannot be mapped
        with pytest.raises(GraphTypeError):
            add(x=1, sum="plain")  # an output keyword needs PARENT[...]
        with pytest.raises(GraphTypeError):
            add(x=1, outputs={"nope": PARENT["z"]})


def test_open_outputs_accept_any_parent_mapping():
    with GraphOp(name="g"):
        r = returns_variable(x=1, anything=PARENT["out"])
        with pytest.raises(GraphTypeError):
            returns_variable(x=1, anything=3)
    assert r.output_mappings == {"anything": "out"}


def test_output_ref_to_input_binding():
    with GraphOp(name="g"):
        a = add(x=1)
        b = add()
        a["sum"] >> b["x"]
        with pytest.raises(GraphTypeError):
            a["sum"] >> b["nope"]
    bound = b.inputs["x"].value
    assert isinstance(bound, Ref) and bound.source_op is a and bound.var == "sum"


def test_star_inputs_bind_every_parameter():
    with GraphOp(name="g") as g:
        a = add(inputs={"*": PARENT})
        b = add(inputs={"*": PARENT}, y=5)
        with pytest.raises(GraphTypeError):
            add(inputs={"*": "nope"})
    assert a.inputs["x"].value.var == "x" and a.inputs["y"].value.var == "y"
    assert b.inputs["y"].value == 5
    ins = g.inputs
    assert list(ins) == ["x", "y"]
    assert (ins["x"].required, ins["x"].default) == (True, None)
    assert (ins["y"].required, ins["y"].default) == (False, 1)


def test_graph_inputs_required_if_any_reader_lacks_a_default():
    with GraphOp(name="g") as g:
        add(x=1, y=PARENT["v"], name="a")
        add(x=PARENT["v"], name="b")
        add(x=1, y=PARENT["w"] + PARENT["nested"], name="c")
    ins = g.inputs
    assert ins["v"].required is True
    assert (ins["w"].required, ins["w"].default) == (False, 1)
    assert ins["nested"].required is True


# ---------------------------------------------------------------------------
# edges
# ---------------------------------------------------------------------------


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


def test_replaced_op_wires_by_name():
    with GraphOp(name="g") as g:
        a = add(x=1)
        old = add(x=1, name="b")
        add(x=2, name="b")
        a >> old
    assert g.edges == [("a", "b", False)]


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
        a2 = add(x=1, name="a")
        START >> a2 >> END
    g.export_config()
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    del a
