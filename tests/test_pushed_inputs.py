"""`a["k"] >> b["x"]` binds b's input x to a's output k (spec.md "Authoring"): also into an op created
with no inputs, and from several producers into one input (the first of them with a value when the op
runs gives it; behind soft edges, the producer that ran, or of two racing ones the first to finish)."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.core.ops import if_
from operonx.errors import GraphError
from operonx.refs import AnyOf


@op
def route(v):
    return {"v": v}


@op
def hi(v):
    return {"label": f"hi:{v}"}


@op
def lo(v):
    return {"label": f"lo:{v}"}


@op
def fin(label):
    return {"res": label}


@op
async def after(label, delay):
    await asyncio.sleep(delay)
    return {"label": label}


def branch_join():
    with GraphOp(name="g") as g:
        r = route(v=PARENT["v"])
        br = if_(r["v"] > 5, "h").else_("l")
        h = hi(v=r["v"], name="h")
        low = lo(v=r["v"], name="l")
        f = fin()
        h["label"] >> f["label"]
        low["label"] >> f["label"]
        START >> r >> br >> [h, low]
        h >> ~f
        low >> ~f
        f >> END
    return g


async def test_the_branch_that_ran_gives_the_value():
    engine = Operon(branch_join())
    high = await asyncio.wait_for(engine.run({"v": 7}), 10)
    low = await asyncio.wait_for(engine.run({"v": 1}), 10)
    assert (high["res"], low["res"]) == ("hi:7", "lo:1")


def test_the_document_lists_every_producer():
    doc = branch_join().export_config()
    refs = doc["ops"]["f"]["inputs"]["label"]["refs"]
    assert [(r["source"], r["var"]) for r in refs] == [("g.h", "label"), ("g.l", "label")]
    assert doc["ops"]["f"]["inputs"]["label"]["ref"] is None


@pytest.mark.parametrize(("slow", "fast"), [(0.3, 0.0), (0.0, 0.3)])
async def test_of_two_racing_producers_the_first_to_finish_wins(slow, fast):
    with GraphOp(name="g") as g:
        a = after(label="a", delay=slow)
        b = after(label="b", delay=fast)
        f = fin()
        a["label"] >> f["label"]
        b["label"] >> f["label"]
        START >> [a, b]
        a >> ~f
        b >> ~f
        f >> END
    handle = Operon(g).start({})
    frames = await asyncio.wait_for(handle.collect("flat"), 10)
    winner = "a" if slow < fast else "b"
    assert {"res": winner} in frames
    assert [d for d in frames if "res" in d] == [{"res": winner}]


def test_push_into_an_op_created_with_no_inputs():
    with GraphOp(name="g") as g:
        r = route(v=PARENT["v"])
        f = fin()
        r["v"] >> f["label"]
        START >> r >> f >> END
    assert Operon(g).run_sync({"v": 3})["res"] == 3
    assert f.inputs["label"].value is not None


def test_the_same_push_twice_is_one_binding():
    with GraphOp(name="g") as g:
        r = route(v=PARENT["v"])
        f = fin()
        r["v"] >> f["label"]
        r["v"] >> f["label"]
        START >> r >> f >> END
    assert type(f.inputs["label"].value) is not AnyOf
    assert Operon(g).run_sync({"v": 4})["res"] == 4


def test_a_push_into_an_input_bound_by_keyword_is_refused():
    with GraphOp(name="g") as g:
        r = route(v=PARENT["v"])
        f = fin(label=PARENT["x"])
        with pytest.raises(GraphError, match="already bound"):
            r["v"] >> f["label"]
        START >> r >> f >> END
