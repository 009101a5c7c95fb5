"""The op options of 0.7.1 (spec.md "Built-in ops and op options"): ``@op(cache=True)`` (a
process-wide, bounded LRU cache keyed by the op's full name and the JSON of its inputs, shared by
engines and graphs), ``op.enabled = False``, ``@op(delay=s)`` and a returned ``"$tags"`` list."""

from __future__ import annotations

import asyncio
import time

import pytest

import operonx
from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import GraphError, GraphTypeError

pytestmark = pytest.mark.timeout(30)
T = 10  # seconds any awaited run may take before the test fails


@pytest.fixture(autouse=True)
def empty_cache():
    operonx.clear_cache()
    operonx.set_cache_size(1024)
    yield
    operonx.clear_cache()
    operonx.set_cache_size(1024)


def counted(kind: str = "sync", **options):
    """An op returning ``{"y": x * 10, "n": <its call count>}`` (its calls in ``.seen``)."""
    calls = []
    if kind == "async":
        async def f(x, k=0):
            calls.append(x)
            return {"y": x * 10, "n": len(calls)}
    else:
        def f(x, k=0):  # noqa: F811 - one of the two is decorated
            calls.append(x)
            return {"y": x * 10, "n": len(calls)}
    spec = op(bound="cpu" if kind == "cpu" else None, **options)(f)
    spec.seen = calls  # type: ignore[attr-defined]
    return spec


def graph_of(f, name="g", node="a", **call):
    with GraphOp(name=name) as g:
        a = f(x=PARENT["x"], name=node, **call)
        START >> a >> END
    return g


# -- cache ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async", "cpu"])
async def test_a_cached_op_runs_once_per_inputs(kind):
    f = counted(kind, cache=True)
    engine = Operon(graph_of(f))
    first = await asyncio.wait_for(engine.run({"x": 1}), T)
    again = await asyncio.wait_for(engine.run({"x": 1}), T)
    other = await asyncio.wait_for(engine.run({"x": 2}), T)
    assert (first["y"], first["n"]) == (10, 1)
    assert (again["y"], again["n"]) == (10, 1)  # the cached outputs
    assert (other["y"], other["n"]) == (20, 2)
    assert f.seen == [1, 2]
    assert operonx.cache_info() == (2, 1024)


def test_the_cache_is_shared_by_engines_and_graphs_with_the_same_full_name():
    f = counted(cache=True)
    Operon(graph_of(f)).run_sync({"x": 1})
    assert Operon(graph_of(f)).run_sync({"x": 1})["n"] == 1  # another graph, same full name "g.a"
    assert Operon(graph_of(f, node="b")).run_sync({"x": 1})["n"] == 2  # "g.b": its own entries
    assert Operon(graph_of(f, name="h")).run_sync({"x": 1})["n"] == 3  # "h.a"
    assert len(f.seen) == 3


def test_the_key_is_the_json_of_the_inputs_by_name():
    seen = []

    @op(cache=True)
    def f(x, k):
        seen.append(x)
        return {"n": len(seen)}

    with GraphOp(name="g") as g:
        a = f(x=PARENT["x"], k=PARENT["k"])
        START >> a >> END
    engine = Operon(g)
    assert engine.run_sync({"x": {"p": 1, "q": [1, 2]}, "k": 1})["n"] == 1
    assert engine.run_sync({"k": 1, "x": {"q": [1, 2], "p": 1}})["n"] == 1  # same JSON (keys sorted)
    assert engine.run_sync({"x": {"p": 1, "q": [1, 2]}, "k": 2})["n"] == 2


def test_a_hit_gives_a_copy_of_the_cached_outputs():
    @op(cache=True)
    def f(x):
        return {"items": [x]}

    @op
    def spoil(items):
        items.append("spoiled")
        return {"out": list(items)}

    with GraphOp(name="g") as g:
        a = f(x=PARENT["x"])
        b = spoil(items=a["items"])
        START >> a >> b >> END
    engine = Operon(g)
    engine.run_sync({"x": 1})
    # the outputs dict is a copy; a value inside it is shared, as any op output is
    assert engine.run_sync({"x": 1})["out"][0] == 1


def test_the_cache_is_bounded_and_drops_the_least_recently_used_entry():
    operonx.set_cache_size(2)
    f = counted(cache=True)
    engine = Operon(graph_of(f))
    for x in (1, 2, 1, 3):  # 1 used again after 2: 2 is the oldest when 3 comes
        engine.run_sync({"x": x})
    assert operonx.cache_info() == (2, 2)
    engine.run_sync({"x": 1})
    assert f.seen == [1, 2, 3]
    engine.run_sync({"x": 2})
    assert f.seen == [1, 2, 3, 2]
    operonx.set_cache_size(0)  # caching off
    engine.run_sync({"x": 2})
    assert f.seen == [1, 2, 3, 2, 2]
    assert operonx.cache_info() == (0, 0)


def test_failures_are_not_cached():
    calls = []

    @op(cache=True)
    def f(x):
        calls.append(x)
        if len(calls) == 1:
            raise ValueError("once")
        return {"y": x}

    engine = Operon(graph_of(f))
    with pytest.raises(operonx.errors.OpError):
        engine.run_sync({"x": 1})
    assert engine.run_sync({"x": 1})["y"] == 1
    assert engine.run_sync({"x": 1})["y"] == 1
    assert calls == [1, 1]


def test_cache_options_are_checked():
    with pytest.raises(GraphError, match="file-backed"):
        op(cache="cache.bin")(lambda x: {"y": x})
    with pytest.raises(GraphTypeError, match="True or False"):
        op(cache=1)(lambda x: {"y": x})
    with pytest.raises(GraphTypeError, match="whole number"):
        operonx.set_cache_size(-1)
    f = op(lambda x: {"y": x})
    with GraphOp(name="g"):
        node = f(x=PARENT["x"], cache=True)
        assert node.cache is True
        node.cache = False
        assert node.cache is False
        assert "cache" not in node.graph.export_config()["ops"][node.name]
        node.cache = True
        assert node.graph.export_config()["ops"][node.name]["cache"] is True


# -- enabled ------------------------------------------------------------------------------------


def test_a_disabled_op_does_not_run_and_its_dependents_do_not_either():
    ran = []

    @op
    def first(x):
        ran.append("first")
        return {"y": x + 1}

    @op
    def second(y):
        ran.append("second")
        return {"z": y * 2}

    @op
    def other(x):
        ran.append("other")
        return {"w": x}

    with GraphOp(name="g") as g:
        a = first(x=PARENT["x"])
        b = second(y=a["y"])
        c = other(x=PARENT["x"])
        START >> a >> b >> END
        START >> c >> END
    a.enabled = False
    assert a.enabled is False
    assert g.export_config()["ops"]["a"]["enabled"] is False
    engine = Operon(g)
    out = engine.run_sync({"x": 1})
    assert ran == ["other"]
    assert {k: v for k, v in out.items() if k != "$state"} == {"w": 1}
    with pytest.raises(KeyError):
        out["$state"]["g.a", "y"]

    async def frames():
        return [f async for f in engine.start({"x": 1})]

    assert [f.op for f in asyncio.run(asyncio.wait_for(frames(), T))] == ["c"]


# -- delay --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async", "cpu"])
async def test_delay_sleeps_before_each_execution(kind):
    f = counted(kind, delay=0.05)
    assert f.delay == 0.05
    engine = Operon(graph_of(f))
    for _ in range(2):
        start = time.monotonic()
        await asyncio.wait_for(engine.run({"x": 1}), T)
        assert time.monotonic() - start >= 0.05
    assert f.seen == [1, 1]


async def test_delay_given_at_the_call_and_on_a_generator():
    @op
    def gen(n):
        yield from ({"i": i} for i in range(n))

    with GraphOp(name="g") as g:
        a = gen(n=PARENT["n"], delay=0.05)
        START >> a >> END
    assert a.delay == 0.05
    assert g.export_config()["ops"]["a"]["delay"] == 0.05
    start = time.monotonic()
    handle = Operon(g).start({"n": 3})
    items = await asyncio.wait_for(handle.collect(), T)
    assert time.monotonic() - start >= 0.05
    assert items == {"i": [0, 1, 2]}


def test_delay_is_checked():
    with pytest.raises(GraphError, match="delay must be"):
        op(delay=-1)(lambda x: {"y": x})
    f = op(lambda x: {"y": x})
    with GraphOp(name="g"):
        node = f(x=PARENT["x"])
        assert node.delay == 0
        node.delay = 0.5
        assert node.delay == 0.5


# -- $tags --------------------------------------------------------------------------------------


def test_returned_tags_join_the_runs_tags_and_are_not_outputs():
    @op
    def a(x):
        return {"y": x + 1, "$tags": ["t1", "t2"]}

    @op
    def b(y):
        return {"z": y, "$tags": ["t2", "t3"]}

    with GraphOp(name="g") as g:
        first = a(x=PARENT["x"])
        second = b(y=first["y"])
        START >> first >> second >> END
    out = Operon(g).run_sync({"x": 1})
    assert {k: v for k, v in out.items() if k != "$state"} == {"z": 2}
    assert out["$state"].tags == ["t1", "t2", "t3"]
