"""Authoring: refs and their transforms, output mappings and input bindings (no engine needed)."""

from __future__ import annotations


import pytest

from operonx.errors import GraphTypeError
from operonx.graph import GraphOp
from operonx import PARENT
from operonx.refs import Ref

from authoring_ops import add, returns_variable


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
