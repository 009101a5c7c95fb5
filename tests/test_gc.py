"""The engine lets Python's garbage collector see what it holds."""

import gc
import weakref

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op

pytestmark = pytest.mark.timeout(30)


def test_an_engine_referenced_by_its_own_op_is_collected():
    holder = {}

    def body(x):
        holder["engine"]  # the op refers back to its engine: a reference cycle
        return {"y": x}

    wrapped = op(body)
    with GraphOp(name="g") as g:
        a = wrapped(x=PARENT["x"])
        START >> a >> END
    engine = Operon(g)
    holder["engine"] = engine
    assert engine.run_sync({"x": 1})["y"] == 1
    probe = weakref.ref(engine)
    del engine, holder, g, a, wrapped, body
    gc.collect()
    assert probe() is None


def test_a_finished_run_and_its_result_are_freed():
    @op
    def inc(x):
        return {"y": x + 1}

    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        START >> a >> END
    engine = Operon(g)

    class Payload:
        pass

    payload = Payload()
    probe = weakref.ref(payload)
    result = engine.run_sync({"x": 1, "payload": payload})
    del payload, result
    gc.collect()
    assert probe() is None


def test_a_cycle_through_the_compiled_engine_alone_is_collected():
    holder = {}

    def body(x):
        holder["core"]  # refers to the compiled engine only, not to Operon or the graph
        return {"y": x}

    wrapped = op(body)
    with GraphOp(name="g") as g:
        a = wrapped(x=PARENT["x"])
        START >> a >> END
    engine = Operon(g)
    core = engine._core
    holder["core"] = core
    probe = weakref.ref(core)
    del engine, holder, g, a, wrapped, body, core
    gc.collect()
    assert probe() is None
