"""Every error the engine raises: type, attributes, message, cause; and nothing produced is lost."""

import asyncio
import json

import pytest

import operonx._core as core
from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import (
    GraphError,
    GraphValidationError,
    InputError,
    OpError,
    OperonError,
    SchemaVersionError,
)

pytestmark = pytest.mark.timeout(30)


class Boom(Exception):
    pass


@op
def inc(x):
    return {"y": x + 1}


@op
def explode(x):
    raise Boom(f"bad value {x}")


@op
async def aexplode(x):
    await asyncio.sleep(0)
    raise Boom("async boom")


@op(bound="cpu")
def cexplode(x):
    raise Boom("cpu boom")


def two_step(failing):
    with GraphOp(name="pipe") as g:
        a = inc(x=PARENT["x"])
        b = failing(x=a["y"], name="bad")
        START >> a >> b >> END
    return g


@pytest.mark.parametrize("failing", [explode, aexplode, cexplode])
async def test_op_error_names_graph_op_context_and_keeps_cause(failing):
    with pytest.raises(OpError) as info:
        await Operon(two_step(failing)).run({"x": 1})
    err = info.value
    assert isinstance(err, OperonError)
    assert err.graph == "pipe" and err.op == "pipe.bad" and err.context == ("main",)
    assert "pipe" in str(err) and "pipe.bad" in str(err) and "Boom" in str(err)
    assert isinstance(err.__cause__, Boom)


async def test_missing_input_is_raised_before_the_op_runs():
    called = []

    @op
    def needs(x, y):
        called.append(1)
        return {"z": x}

    with GraphOp(name="g") as g:
        a = needs(x=PARENT["x"])
        START >> a >> END
    with pytest.raises(InputError) as info:
        await Operon(g).run({"x": 1})
    assert called == []
    assert info.value.op == "g.a" and info.value.input == "y" and info.value.graph == "g"
    assert "'y'" in str(info.value) and "g.a" in str(info.value)
    assert isinstance(info.value, TypeError)


async def test_missing_graph_input_names_it():
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        START >> a >> END
    with pytest.raises(InputError, match="'x'"):
        await Operon(g).run({})


async def test_non_mapping_return_is_an_op_error():
    @op
    def bad(x):
        return [x]

    with GraphOp(name="g") as g:
        a = bad(x=PARENT["x"])
        START >> a >> END
    with pytest.raises(OpError, match="mapping"):
        await Operon(g).run({"x": 1})


async def test_errors_continue_skips_successors_and_lists_errors():
    ran = []

    @op
    def rec(x, tag):
        ran.append(tag)
        return {tag: x}

    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        bad = explode(x=a["y"])
        after = rec(x=bad["y"], tag="after")
        other = rec(x=a["y"], tag="other")
        soft = rec(x=a["y"], tag="soft")
        START >> a >> [bad, other]
        bad >> after >> END
        other >> END
        [bad, other] > soft
        soft >> END
    result = await Operon(g).run({"x": 1}, errors="continue")
    assert "after" not in ran and "other" in ran and "soft" in ran
    assert result["other"] == 2 and result["soft"] == 2 and "after" not in result
    [err] = result["$errors"]
    assert isinstance(err, OpError) and err.op == "g.bad" and isinstance(err.__cause__, Boom)


async def test_errors_mode_is_validated():
    with pytest.raises(OperonError, match="errors="):
        await Operon(two_step(inc)).run({"x": 1}, errors="ignore")


async def test_base_exceptions_are_never_wrapped():
    class Stop(BaseException):
        pass

    @op
    def halt(x):
        raise Stop()

    with GraphOp(name="g") as g:
        a = halt(x=PARENT["x"])
        START >> a >> END
    with pytest.raises(Stop):
        await Operon(g).run({"x": 1}, errors="continue")


async def test_failure_cancels_running_async_ops():
    cancelled = asyncio.Event()

    @op
    async def slow(x):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"s": x}

    with GraphOp(name="g") as g:
        s = slow(x=PARENT["x"])
        a = aexplode(x=PARENT["x"])
        START >> [s, a]
        [s, a] >> END
    with pytest.raises(OpError):
        await Operon(g).run({"x": 1})
    await asyncio.wait_for(cancelled.wait(), 1)


async def test_cancelling_the_awaiting_task_cancels_op_tasks():
    cancelled = asyncio.Event()

    @op
    async def slow(x):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"s": x}

    with GraphOp(name="g") as g:
        s = slow(x=PARENT["x"])
        START >> s >> END
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(Operon(g).run({"x": 1}), 0.05)
    await asyncio.wait_for(cancelled.wait(), 1)


def test_rust_panic_becomes_operon_error():
    with pytest.raises(OperonError, match="internal error.*kaboom"):
        core._panic_for_tests("kaboom")


def _doc(**over):
    doc = {
        "schema_version": "1.0",
        "type": "graph",
        "name": "g",
        "ops": {"a": {"type": "code", "inputs": {}, "callable": {"$host": 0}}},
        "edges": [],
        "entries": ["a"],
        "exits": ["a"],
    }
    doc.update(over)
    return json.dumps(doc)


def _noop():
    return {}


@pytest.mark.parametrize("version", ["2.0", 1, None])
def test_wrong_schema_version(version):
    text = _doc(schema_version=version) if version is not None else json.dumps({"type": "graph", "name": "g"})
    with pytest.raises(SchemaVersionError, match="1.0") as info:
        core.Engine(text, [_noop])
    assert isinstance(info.value, GraphError) and isinstance(info.value, ValueError)


def test_malformed_document():
    with pytest.raises(GraphError, match="malformed"):
        core.Engine("{not json", [])


def test_validation_lists_every_problem():
    text = _doc(
        ops={
            "a": {"type": "code", "inputs": {"x": {"required": True, "ref": {"source": "elsewhere.op", "var": "v"}}}, "callable": {"$host": 0}},
            "b": {"type": "code", "inputs": {}, "callable": {"$host": 0}},
            "c": {"type": "code", "inputs": {}, "callable": {"$host": 0}},
        },
        edges=[{"from": "a", "to": "ghost"}, {"from": "b", "to": "c"}, {"from": "c", "to": "b"}],
        exits=[],
    )
    with pytest.raises(GraphValidationError) as info:
        core.Engine(text, [_noop])
    categories = sorted(e.category for e in info.value.errors)
    assert categories == ["cycle", "no_exit", "unknown_op", "unknown_ref", "unreachable", "unreachable"]
    assert sorted(e.op_name for e in info.value.errors if e.category == "unreachable") == ["b", "c"]
    assert info.value.result.errors == info.value.errors and not info.value.result.valid
    ghost = [e for e in info.value.errors if e.category == "unknown_op"][0]
    assert ghost.op_name == "a" and ghost.target_name == "ghost"


def test_cycle_in_a_built_graph():
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        START >> a >> b >> END
        b >> a
    with pytest.raises(GraphValidationError, match="cycle"):
        Operon(g)


def test_graph_with_no_exit():
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        START >> a
    with pytest.raises(GraphError, match="exit"):
        Operon(g)


def test_empty_graph():
    with GraphOp(name="g") as g:
        pass
    with pytest.raises(GraphError):
        Operon(g)
    with pytest.raises(ValueError):
        Operon(g)
