"""Authoring streams: generator ops and the .parallel() / .collect() policies on refs.

Only the authoring layer and the graph document are checked here; the engine is not run on
generator graphs.
"""

from __future__ import annotations

import json

import pytest

from operonx.errors import GraphError, GraphTypeError
from operonx.document import engine_document, export_config
from operonx.graph import GraphOp
from operonx.op import FuncOp, op
from operonx import END, PARENT, START
from operonx.refs import Ref
from documents import engine_view, unhost


@op
def numbers(n):
    for i in range(n):
        yield {"item": i}


@op
async def anumbers(n):
    for i in range(n):
        yield {"item": i}


@op(bound="cpu")
def cpu_numbers(n):
    for i in range(n):
        yield {"item": i}


@op
def double(x):
    return {"y": x * 2}


@op
def total(xs):
    return {"sum": sum(xs)}


def plain_numbers(n):
    yield from range(n)


def both_documents(g: GraphOp) -> dict:
    """export_config(g), after checking the engine document says the same."""
    doc = export_config(g)
    text, hosts = engine_document(g)
    assert unhost(json.loads(text), hosts) | {"ops": None} == engine_view(doc) | {"ops": None}
    engine_ops = unhost(json.loads(text), hosts)["ops"]
    for name, op_doc in engine_ops.items():
        op_doc.pop("callable")
        assert op_doc == doc["ops"][name]
    return doc


# ---------------------------------------------------------------------------
# Ref.parallel() / Ref.collect()
# ---------------------------------------------------------------------------


def test_default_ref_has_no_policy():
    with GraphOp(name="g"):
        n = numbers(n=3)
    r = n["item"]
    assert (r.policy, r.max) == (None, None)
    assert (PARENT["x"].policy, PARENT["x"].max) == (None, None)
    assert (Ref(PARENT, "x").policy, Ref(PARENT, "x")["k"].policy) == (None, None)


def test_parallel_returns_new_ref_with_policy():
    with GraphOp(name="g"):
        n = numbers(n=3)
    r = n["item"]
    p = r.parallel()
    assert p is not r and isinstance(p, Ref)
    assert (p.policy, p.max) == ("parallel", None)
    assert (p.source, p.var, p.transforms, p.source_op) == ("g.n", "item", [], n)
    assert r.policy is None  # the original is untouched
    capped = r.parallel(max=4)
    assert (capped.policy, capped.max) == ("parallel", 4)
    assert r.parallel(4).max == 4
    assert r.parallel(max=1).max == 1


def test_collect_returns_new_ref_with_policy():
    with GraphOp(name="g"):
        n = numbers(n=3)
    r = n["item"]
    c = r.collect()
    assert c is not r
    assert (c.policy, c.max) == ("collect", None)
    assert (c.source, c.var, c.transforms) == ("g.n", "item", [])
    assert r.policy is None


def test_policy_keeps_earlier_transforms():
    with GraphOp(name="g"):
        n = numbers(n=3)
    r = n["item"]["k"] + 1
    p = r.parallel(max=2)
    assert p.transforms == r.transforms == [("getitem", ("k",)), ("add", (1,))]
    assert (p.policy, p.max) == ("parallel", 2)
    assert r.collect().transforms == r.transforms


def test_transforms_after_policy_keep_it():
    with GraphOp(name="g"):
        n = numbers(n=3)
    p = n["item"].parallel(max=3)["k"].upper() * 2
    assert (p.policy, p.max) == ("parallel", 3)
    assert [k for k, _ in p.transforms] == ["getitem", "getattr", "call", "mul"]
    c = (-n["item"].collect()).apply(len) == 1
    assert c.policy == "collect"
    assert [k for k, _ in c.transforms] == ["neg", "apply", "eq"]
    for ref in (~n["item"].collect(), n["item"].collect() & True, 1 + n["item"].collect()):
        assert ref.policy == "collect"


def test_last_policy_wins():
    with GraphOp(name="g"):
        n = numbers(n=3)
    assert n["item"].parallel(max=2).collect().policy == "collect"
    assert n["item"].parallel(max=2).collect().max is None
    r = n["item"].collect().parallel(max=5)
    assert (r.policy, r.max) == ("parallel", 5)
    assert n["item"].parallel(max=5).parallel().max is None


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, False, "2", [2]])
def test_parallel_max_must_be_positive_int(bad):
    with GraphOp(name="g"):
        n = numbers(n=3)
    with pytest.raises(GraphError, match="positive int") as exc:
        n["item"].parallel(max=bad)
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize("method", ["parallel", "collect"])
def test_policy_on_parent_ref_is_an_error(method):
    for ref in (PARENT["x"], PARENT["x"]["k"].lower(), Ref(PARENT, "x")):
        with pytest.raises(GraphError, match=r"op's output.*not to a graph input") as exc:
            getattr(ref, method)()
        assert isinstance(exc.value, ValueError)
        assert f".{method}()" in str(exc.value) and "PARENT['x']" in str(exc.value)


def test_parent_check_comes_after_max_check():
    with pytest.raises(GraphError, match="positive int"):
        PARENT["x"].parallel(max=0)
    with pytest.raises(GraphError, match="graph input"):
        PARENT["x"].parallel(max=2)


def test_repr_shows_policy():
    with GraphOp(name="g"):
        n = numbers(n=3)
    assert repr(n["item"]) == "Ref('g.n', 'item')"
    assert repr(n["item"].parallel()) == "Ref('g.n', 'item', policy='parallel')"
    assert repr(n["item"].parallel(max=2)) == "Ref('g.n', 'item', policy='parallel', max=2)"
    assert repr(n["item"]["k"].collect()) == "Ref('g.n', 'item', transforms=1, policy='collect')"


# ---------------------------------------------------------------------------
# Wiring refs that carry a policy
# ---------------------------------------------------------------------------


def test_policy_ref_binds_inputs_every_way():
    with GraphOp(name="g"):
        n = numbers(n=PARENT["n"])
        a = double(x=n["item"].parallel(max=2))
        b = total(inputs={"xs": n["item"].collect()})
        c = FuncOp(code_fn=total, xs=a["y"].collect(), name="c")
        d = double()
        n["item"].parallel() >> d["x"]
    assert a.inputs["x"].ref.policy == "parallel" and a.inputs["x"].ref.max == 2
    assert b.inputs["xs"].ref.policy == "collect"
    assert c.inputs["xs"].ref.policy == "collect"
    assert d.inputs["x"].ref.policy == "parallel"


def test_policy_ref_cannot_be_mapped_to_parent():
    with GraphOp(name="g"):
        n = numbers(n=3)
        with pytest.raises(GraphTypeError, match="plain output"):
            n["item"].collect() >> PARENT["items"]
        with pytest.raises(GraphTypeError, match="plain output"):
            n["item"].parallel() >> PARENT["items"]


def test_policy_ref_is_not_a_target():
    with GraphOp(name="g"):
        n = numbers(n=3)
        d = double()
        with pytest.raises(GraphTypeError, match="plain ref"):
            n["item"] >> d["x"].parallel()


def test_graph_inputs_unchanged_by_policies():
    with GraphOp(name="g") as g:
        n = numbers(n=PARENT["n"])
        total(xs=n["item"].collect())
    assert list(g.inputs) == ["n"] and g.inputs["n"].required


# ---------------------------------------------------------------------------
# The documents
# ---------------------------------------------------------------------------


def policy_graph() -> GraphOp:
    with GraphOp(name="g") as g:
        n = numbers(n=PARENT["n"])
        seq = double(x=n["item"], name="seq")
        par = double(x=n["item"].parallel(), name="par")
        cap = double(x=n["item"].parallel(max=3), name="cap")
        col = total(xs=n["item"].collect(), name="col")
        tf = double(x=n["item"].parallel(max=2)["k"] + 1, name="tf")
        per = total(xs=par["y"].collect(), name="per")
        START >> n >> [seq, par, cap, col, tf]
        par >> per
        [seq, cap, col, tf, per] >> END
    return g


def test_export_writes_policy_keys():
    g = policy_graph()
    ops = both_documents(g)["ops"]
    assert ops["seq"]["inputs"]["x"]["ref"] == {
        "source": "g.n", "var": "item", "transforms": [], "is_output": False,
    }
    assert ops["par"]["inputs"]["x"]["ref"] == {
        "source": "g.n", "var": "item", "transforms": [], "is_output": False,
        "policy": "parallel",
    }
    assert ops["cap"]["inputs"]["x"]["ref"] == {
        "source": "g.n", "var": "item", "transforms": [], "is_output": False,
        "policy": "parallel", "max": 3,
    }
    assert ops["col"]["inputs"]["xs"]["ref"] == {
        "source": "g.n", "var": "item", "transforms": [], "is_output": False,
        "policy": "collect",
    }
    assert ops["tf"]["inputs"]["x"]["ref"] == {
        "source": "g.n", "var": "item",
        "transforms": [["getitem", ["k"]], ["add", [1]]],
        "is_output": False, "policy": "parallel", "max": 2,
    }
    assert ops["per"]["inputs"]["xs"]["ref"] == {
        "source": "g.par", "var": "y", "transforms": [], "is_output": False, "policy": "collect",
    }
    # the graph input is read plainly
    assert ops["n"]["inputs"]["n"]["ref"] == {
        "source": "g", "var": "n", "transforms": [], "is_output": False,
    }


def test_engine_document_policy_text():
    text, hosts = engine_document(policy_graph())
    doc = json.loads(text)
    ops = doc["ops"]
    assert "policy" not in ops["seq"]["inputs"]["x"]["ref"]
    assert "max" not in ops["par"]["inputs"]["x"]["ref"]
    assert ops["par"]["inputs"]["x"]["ref"]["policy"] == "parallel"
    assert (ops["cap"]["inputs"]["x"]["ref"]["policy"], ops["cap"]["inputs"]["x"]["ref"]["max"]) == (
        "parallel", 3,
    )
    assert ops["col"]["inputs"]["xs"]["ref"]["policy"] == "collect"
    tf = ops["tf"]["inputs"]["x"]["ref"]
    assert (tf["policy"], tf["max"]) == ("parallel", 2)
    assert [k for k, _ in tf["transforms"]] == ["getitem", "add"]
    assert tf["transforms"][1][1] == [{"$host": tf["transforms"][1][1][0]["$host"]}]
    assert hosts[tf["transforms"][1][1][0]["$host"]] == 1


def test_policy_on_ref_inside_transform_argument_is_written():
    with GraphOp(name="g") as g:
        n = numbers(n=3)
        m = numbers(n=4, name="m")
        double(x=n["item"] + m["item"].collect())
    ref = both_documents(g)["ops"]["double"]["inputs"]["x"]["ref"]
    assert "policy" not in ref
    assert ref["transforms"] == [
        ["add", [{"__ref__": {
            "source": "g.m", "var": "item", "transforms": [], "is_output": False, "policy": "collect",
        }}]],
    ]


def test_policy_on_kwargs_extra_input_is_written():
    def sink(**kw):
        return kw

    with GraphOp(name="g") as g:
        n = numbers(n=3)
        FuncOp(code_fn=sink, inputs={"items": n["item"].collect()}, name="sink")
    ref = both_documents(g)["ops"]["sink"]["inputs"]["items"]["ref"]
    assert ref["policy"] == "collect" and "max" not in ref


def test_export_is_json_ready_with_policies():
    doc = policy_graph().export_config()
    assert json.loads(json.dumps(doc)) == doc


# ---------------------------------------------------------------------------
# Generator ops
# ---------------------------------------------------------------------------


def test_op_function_generator_flags():
    assert (numbers.is_gen, numbers.is_async, numbers.bound) == (True, False, "sync")
    assert (anumbers.is_gen, anumbers.is_async, anumbers.bound) == (True, True, "io")
    assert (cpu_numbers.is_gen, cpu_numbers.is_async, cpu_numbers.bound) == (True, False, "cpu")
    assert (double.is_gen, double.is_async) == (False, False)
    assert numbers.outputs == anumbers.outputs == ("item",)


def test_generator_nodes_and_documents():
    with GraphOp(name="g") as g:
        s = numbers(n=3)
        a = anumbers(n=3)
        c = cpu_numbers(n=3)
        f = FuncOp(code_fn=plain_numbers, n=2, name="f")
        io = numbers(n=3, bound="io", name="io")
        d = double(x=s["item"])
        START >> [s, a, c, f, io] >> d >> END
    assert (s.is_gen, s.is_async, s.bound) == (True, False, "sync")
    assert (a.is_gen, a.is_async, a.bound) == (True, True, "io")
    assert (c.is_gen, c.is_async, c.bound) == (True, False, "cpu")
    assert (f.is_gen, f.is_async, f.bound) == (True, False, "sync")
    assert (io.is_gen, io.bound) == (True, "io")
    assert (d.is_gen, d.is_async) == (False, False)
    ops = both_documents(g)["ops"]
    flags = {n: (o["is_generator"], o["is_async"], o["bound"]) for n, o in ops.items()}
    assert flags == {
        "s": (True, False, "sync"),
        "a": (True, True, "io"),
        "c": (True, False, "cpu"),
        "f": (True, False, "sync"),
        "io": (True, False, "io"),
        "d": (False, False, "sync"),
    }
    assert ops["s"]["outputs"] == ops["a"]["outputs"] == {
        "item": {"required": False, "default": None, "ref": None},
    }
    assert ops["f"]["outputs"] == {}  # `yield from`: outputs open until run time


def test_engine_document_generator_flags_are_json_booleans():
    with GraphOp(name="g") as g:
        numbers(n=3)
        anumbers(n=3)
    text, _ = engine_document(g)
    assert '"is_async":false,"is_generator":true' in text
    assert '"is_async":true,"is_generator":true' in text


def test_generator_op_func_is_the_plain_generator():
    assert list(numbers.func(2)) == [{"item": 0}, {"item": 1}]
