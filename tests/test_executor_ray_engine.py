"""Graphs whose ops run on the Ray executor, through the engine, against a local Ray instance started
once for this module: chains, fan-outs and generators give the results the same graph gives inline; an
op's error is an OpError with the task's exception as cause; a cancelled run cancels its Ray tasks; a
worker killed mid-op is retried per the op's retries; a value Ray cannot serialize is named."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from operonx import END, PARENT, START, GraphOp, Operon, op  # noqa: E402
from operonx.errors import GraphError, OpError, RunCancelled  # noqa: E402
from operonx.executors import RayExecutor, RayWorkerDied, TransferError  # noqa: E402

from ray_helpers import ray_instance, stops_writing  # noqa: E402,F401 - the module fixture

pytestmark = pytest.mark.timeout(120)
T = 60  # seconds any awaited run may take (cold worker starts included) before the test fails


@pytest.fixture(scope="module")
def executor(ray_instance):
    ex = RayExecutor(cancel_grace=0.5)
    yield ex
    ex.shutdown()


def engine(g, executor):
    return Operon(g, executors={"ray": executor})


def values(result):
    """A run's result without its ``$state`` view (an object per run)."""
    return {k: v for k, v in result.items() if k != "$state"}


def inc(x):
    return {"y": x + 1}


def rows(n):
    for i in range(n):
        yield {"row": i}


def chain_graph(f):
    with GraphOp(name="chain") as g:
        a = f(name="a", x=PARENT["x"])
        b = f(name="b", x=a["y"])
        c = f(name="c", x=b["y"])
        START >> a >> b >> c >> END
    return g


def fan_graph(f, n=8):
    with GraphOp(name="fan") as g:
        ops = [f(name=f"f{i}", x=PARENT["x"]) for i in range(n)]
        START >> ops
        ops >> END
    return g


def stream_graph(gen, f):
    with GraphOp(name="stream") as g:
        r = gen(n=PARENT["n"])
        e = f(x=r["row"].parallel())
        START >> r >> e >> END
    return g


async def test_a_chain_on_ray_matches_the_inline_run(executor):
    out = values(await asyncio.wait_for(engine(chain_graph(op(executor="ray")(inc)), executor).run({"x": 1}), T))
    assert out == values(await asyncio.wait_for(Operon(chain_graph(op(inc))).run({"x": 1}), T))
    assert out["y"] == 4


async def test_a_fan_out_on_ray_matches_the_inline_run(executor):
    on_ray = op(ray={"num_cpus": 1})(inc)
    out = values(await asyncio.wait_for(engine(fan_graph(on_ray), executor).run({"x": 1}), T))
    assert out == values(await asyncio.wait_for(Operon(fan_graph(op(inc))).run({"x": 1}), T))
    assert out["y"] == [2] * 8


async def test_a_generator_on_ray_streams_items_to_the_ops_after_it(executor):
    g = stream_graph(op(executor="ray")(rows), op(executor="ray")(inc))
    frames = [f async for f in engine(g, executor).start({"n": 5})]
    assert sorted(f.data["y"] for f in frames if f.op == "e") == [1, 2, 3, 4, 5]
    inline = [f async for f in Operon(stream_graph(op(rows), op(inc))).start({"n": 5})]
    assert sorted(f.data["y"] for f in inline if f.op == "e") == [1, 2, 3, 4, 5]
    assert len(frames) == len(inline)


def fails(x):
    raise KeyError(f"missing {x}")


async def test_an_op_error_names_the_op_and_keeps_the_tasks_exception(executor):
    g = chain_graph(op(executor="ray")(fails))
    with pytest.raises(OpError, match=r"op 'chain\.a'") as e:
        await asyncio.wait_for(engine(g, executor).run({"x": 3}), T)
    assert type(e.value.__cause__) is KeyError
    assert e.value.__cause__.args == ("missing 3",)


def ticks(path, x):
    for _ in range(600):
        with open(path, "a") as f:
            f.write(".")
        time.sleep(0.05)
    return {"y": x}


async def test_a_cancelled_run_cancels_its_ray_task(executor, tmp_path):
    path = tmp_path / "ticks"
    with GraphOp(name="slow") as g:
        t = op(executor="ray")(ticks)(path=str(path), x=PARENT["x"])
        START >> t >> END
    handle = engine(g, executor).start({"x": 1})
    while not (path.exists() and path.stat().st_size >= 2):
        await asyncio.wait_for(asyncio.sleep(0.05), T)
    handle.cancel()
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)
    await stops_writing(path)  # the task no longer runs in Ray
    assert executor.running == 0


def dies_first(path, x):
    if not os.path.exists(path):
        Path(path).write_text("died")
        os._exit(1)
    return {"y": x + 1}


async def test_a_worker_killed_mid_op_is_retried_per_retries(executor, tmp_path):
    marker = tmp_path / "died"
    with GraphOp(name="crash") as g:
        d = op(executor="ray", retries=1, backoff=0.01)(dies_first)(path=str(marker), x=PARENT["x"])
        START >> d >> END
    out = await asyncio.wait_for(engine(g, executor).run({"x": 1}), T)
    assert out["y"] == 2
    assert marker.read_text() == "died"


async def test_a_worker_killed_without_retries_fails_the_op_saying_so(executor, tmp_path):
    with GraphOp(name="crash") as g:
        d = op(executor="ray")(dies_first)(path=str(tmp_path / "died"), x=PARENT["x"])
        START >> d >> END
    with pytest.raises(OpError, match=r"op 'crash\.d'") as e:
        await asyncio.wait_for(engine(g, executor).run({"x": 1}), T)
    assert isinstance(e.value.__cause__, RayWorkerDied)
    assert "worker running the task died" in str(e.value.__cause__)


class Unpicklable:
    def __reduce__(self):
        raise TypeError("this object does not travel")


def takes(x, v):
    return {"y": x}


async def test_an_input_ray_cannot_serialize_is_named(executor):
    with GraphOp(name="pickle") as g:
        t = op(executor="ray")(takes)(x=PARENT["x"], v=PARENT["v"])
        START >> t >> END
    with pytest.raises(OpError, match=r"op 'pickle\.t'") as e:
        await asyncio.wait_for(engine(g, executor).run({"x": 1, "v": Unpicklable()}), T)
    cause = e.value.__cause__
    assert isinstance(cause, TransferError) and cause.key == "v"
    assert "input 'v' of takes cannot be sent to Ray" in str(cause)


def test_an_engine_without_a_ray_executor_refuses_ray_ops():
    with pytest.raises(GraphError, match="executor 'ray', which this engine was not given"):
        Operon(chain_graph(op(executor="ray")(inc)))


def make_blob(x):
    return {"blob": b"b" * 1_000_000, "x": x}


def blob_length(blob):
    return {"n": len(blob)}


async def test_a_large_value_between_two_ray_ops_goes_as_an_object_ref(executor):
    sent = []
    arguments = executor._arguments

    def spy(kwargs):
        picks, args = arguments(kwargs)
        sent.append((picks, {k: type(v).__name__ for k, v in args.items()}))
        return picks, args
    with GraphOp(name="blobs") as g:
        a = op(executor="ray")(make_blob)(x=PARENT["x"])
        b = op(executor="ray")(blob_length)(blob=a["blob"])
        START >> a >> b >> END
    executor._arguments = spy
    try:
        out = await asyncio.wait_for(engine(g, executor).run({"x": 1}), T)
    finally:
        del executor._arguments
    assert out["n"] == 1_000_000
    assert sent == [((), {"x": "int"}), ((("blob", "blob"),), {"blob": "ObjectRef"})]


async def test_an_attempt_that_times_out_is_cancelled_in_ray(executor, tmp_path):
    path = tmp_path / "ticks"
    with GraphOp(name="slow") as g:
        t = op(executor="ray", timeout=1.0)(ticks)(path=str(path), x=PARENT["x"])
        START >> t >> END
    with pytest.raises(OpError, match=r"op 'slow\.t'.*timed out"):
        await asyncio.wait_for(engine(g, executor).run({"x": 1}), T)
    await stops_writing(path)  # the task no longer runs in Ray
    assert executor.running == 0
