"""The executor contract (operonx.executors): how an engine is given executors and how ops name them,
what an executor receives (the function, the inputs, the op's options, a cancel token the engine sets
when the run stops), what is refused when the engine is built, and the document keeping an op's
executor through export_config() and Operon.from_json()."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import GraphError, GraphTypeError, OpError, OperonUsageError, RunCancelled
from operonx.executors import CancelToken, Executor, StreamingExecutor
from operonx.resources import Resource

from executor_ops import T, shared_pool, until

pytestmark = pytest.mark.timeout(60)


class Recorder:
    """An in-process executor recording what it is given; ``hold`` makes calls wait until cancelled."""

    def __init__(self, hold: bool = False) -> None:
        self.calls: list[tuple[str, dict, Any]] = []
        self.tokens: list[CancelToken] = []
        self.cancelled: list[str] = []
        self.hold = hold
        self.closed = False

    def submit(self, fn, kwargs, *, cancel, options=None):
        name = fn.__name__
        self.calls.append((name, dict(kwargs), options))
        self.tokens.append(cancel)
        cancel.add_callback(lambda: self.cancelled.append(name))

        async def call():
            if self.hold:
                await asyncio.Event().wait()
            return fn(**kwargs)

        return call()

    def shutdown(self) -> None:
        self.closed = True


class StreamingRecorder(Recorder):
    async def submit_stream(self, fn, kwargs, *, cancel, options=None):
        self.calls.append((fn.__name__, dict(kwargs), options))
        for item in fn(**kwargs):
            yield item


@op(executor="gpu")
def on_gpu(x):
    return {"y": x * 2}


@op(ray={"num_cpus": 2})
def on_ray(x):
    return {"y": x + 1}


@op
def plain(x):
    return {"y": x}


@op
def gen(n):
    for i in range(n):
        yield {"i": i}


@op
def boom(x=None):
    raise RuntimeError("boom")


def graph_of(fn, **kw) -> GraphOp:
    with GraphOp(name="g") as g:
        a = fn(x=PARENT["x"], **kw)
        START >> a >> END
    return g


def test_the_protocols_are_runtime_checkable():
    assert isinstance(Recorder(), Executor) and not isinstance(Recorder(), StreamingExecutor)
    assert isinstance(StreamingRecorder(), StreamingExecutor)
    assert isinstance(shared_pool(), StreamingExecutor)


async def test_an_op_runs_on_the_executor_it_names_with_its_inputs():
    gpu = Recorder()
    got = await asyncio.wait_for(Operon(graph_of(on_gpu), executors={"gpu": gpu}).run({"x": 4}), T)
    assert got["y"] == 8
    assert gpu.calls == [("on_gpu", {"x": 4}, None)]


async def test_ray_options_go_to_the_executor_named_ray():
    ray = Recorder()
    got = await asyncio.wait_for(Operon(graph_of(on_ray), executors={"ray": ray}).run({"x": 1}), T)
    assert got["y"] == 2 and ray.calls == [("on_ray", {"x": 1}, {"num_cpus": 2})]


async def test_the_executor_and_its_options_can_be_given_at_the_call():
    mine = Recorder()
    g = graph_of(plain, executor="mine", ray={"memory": 1})
    assert (await asyncio.wait_for(Operon(g, executors={"mine": mine}).run({"x": 3}), T))["y"] == 3
    assert mine.calls == [("plain", {"x": 3}, {"memory": 1})]


def test_an_op_naming_an_executor_the_engine_lacks_is_an_error_naming_both():
    with pytest.raises(GraphError, match=r"op 'g\.a' runs on executor 'gpu', which this engine was not given"):
        Operon(graph_of(on_gpu))
    with pytest.raises(GraphError, match=r"op 'g\.a' runs on executor 'ray'"):
        Operon(graph_of(on_ray), executors={"gpu": Recorder()})


def test_a_generator_needs_an_executor_that_streams():
    with GraphOp(name="g") as g:
        s = gen(n=PARENT["n"], executor="plain_one")
        START >> s >> END
    with pytest.raises(GraphError, match=r"op 'g\.s' is a generator, and executor 'plain_one' \(Recorder\) has no"):
        Operon(g, executors={"plain_one": Recorder()})
    streaming = StreamingRecorder()
    got = Operon(g, executors={"plain_one": streaming}).run_sync({"n": 3})
    assert got["i"] == [0, 1, 2] and streaming.calls == [("gen", {"n": 3}, None)]


def test_what_the_engine_refuses_about_executors():
    g = graph_of(plain)
    with pytest.raises(OperonUsageError, match="'threads' is the engine's own worker threads"):
        Operon(g, executors={"threads": Recorder()})
    with pytest.raises(GraphTypeError, match="has no submit"):
        Operon(g, executors={"x": object()})
    with pytest.raises(OperonUsageError, match="processes= must be a whole number"):
        Operon(g, processes=0)
    with pytest.raises(OperonUsageError, match="size that one where it is made"):
        Operon(g, executors={"process": Recorder()}, processes=2)
    with pytest.raises(GraphError, match="which the process executor does not take"):
        Operon(graph_of(plain, bound="process", ray={"num_cpus": 1}))
    with pytest.raises(GraphError, match="not executor='gpu'"):
        op(bound="process", executor="gpu")(plain.func)
    with pytest.raises(GraphTypeError, match="ray= takes a dict"):
        op(ray=["num_cpus"])(plain.func)


async def test_cancelling_a_run_sets_the_token_of_each_call_it_submitted():
    held = Recorder(hold=True)
    with GraphOp(name="g") as g:
        a = plain(x=PARENT["x"], executor="held", name="a")
        b = plain(x=PARENT["x"], executor="held", name="b")
        START >> [a, b] >> END
    handle = Operon(g, executors={"held": held}).start({"x": 1})
    await until(lambda: len(held.tokens) == 2, what="both calls submitted")
    assert not any(t.cancelled for t in held.tokens)
    handle.cancel()
    await until(lambda: all(t.cancelled for t in held.tokens), what="both tokens set")
    assert sorted(held.cancelled) == ["plain", "plain"]  # each callback once
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_a_failed_run_sets_the_token_of_what_it_submitted():
    held = Recorder(hold=True)
    with GraphOp(name="g") as g:
        a = plain(x=PARENT["x"], executor="held", name="a")
        b = boom(x=PARENT["x"], delay=0.05)
        START >> [a, b] >> END
    with pytest.raises(OpError, match="boom"):
        await asyncio.wait_for(Operon(g, executors={"held": held}).run({"x": 1}), T)
    await until(lambda: held.tokens and held.tokens[0].cancelled, what="the token set")


def test_the_document_keeps_the_executor_through_from_json():
    gpu = Recorder()
    with GraphOp(name="g") as g:
        a = on_gpu(x=PARENT["x"])
        b = on_ray(x=a["y"])
        c = plain(x=b["y"], bound="process")
        START >> a >> b >> c >> END
    doc = g.export_config()
    ops = doc["ops"]
    assert (ops["a"]["executor"], ops["a"]["bound"]) == ("gpu", "sync")
    assert (ops["b"]["executor"], ops["b"]["executor_options"]) == ("ray", {"num_cpus": 2})
    assert (ops["c"]["executor"], ops["c"]["bound"]) == ("process", "process")
    with pytest.raises(GraphError, match="executor 'gpu'"):
        Operon.from_json(doc)
    ray = Recorder()
    engine = Operon.from_json(doc, executors={"gpu": gpu, "ray": ray, "process": shared_pool()})
    assert engine.run_sync({"x": 1})["y"] == 3
    assert [c[0] for c in gpu.calls + ray.calls] == ["on_gpu", "on_ray"] and ray.calls[0][2] == {"num_cpus": 2}


def test_a_document_without_executors_still_reads():
    doc = graph_of(plain).export_config()
    assert "executor" not in doc["ops"]["a"]
    assert Operon.from_json(doc).run_sync({"x": 5})["y"] == 5


def test_the_cancel_token():
    token = CancelToken()
    seen: list[str] = []
    token.add_callback(lambda: seen.append("a"))
    drop = lambda: seen.append("dropped")  # noqa: E731
    token.add_callback(drop)
    token.remove_callback(drop)
    token.add_callback(lambda: 1 / 0)  # logged, and the others still run
    token.add_callback(lambda: seen.append("b"))
    assert not token.cancelled
    token.cancel()
    token.cancel()
    assert token.cancelled and seen == ["a", "b"]
    token.add_callback(lambda: seen.append("late"))  # set already: called at once
    assert seen == ["a", "b", "late"] and repr(token) == "<CancelToken cancelled>"


def test_a_broken_callback_is_logged(caplog):
    token = CancelToken()
    token.add_callback(lambda: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="operonx"):
        token.cancel()
    assert "CancelToken callback raised" in caplog.text


def test_an_executor_op_gets_its_resources_resolved_here(tmp_path):
    (tmp_path / "resources.yaml").write_text("search:\n  url: https://search.example.org\n")

    @op(executor="gpu")
    def find(q, search: Resource["search"]):
        return {"found": f"{q} @ {search['url']}"}

    with GraphOp(name="g") as g:
        f = find(q=PARENT["q"])
        START >> f >> END
    gpu = Recorder()
    engine = Operon(g, resources=tmp_path / "resources.yaml", executors={"gpu": gpu})
    assert engine.run_sync({"q": "x"})["found"] == "x @ https://search.example.org"
    assert gpu.calls[0][1]["search"]["url"] == "https://search.example.org"  # sent with the inputs
