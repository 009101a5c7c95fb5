"""Frames are `Frame(op, context, data)` named tuples; the handle, the run's state and the engine say what
they are in their reprs; `if_` is importable from the package."""

from __future__ import annotations

import asyncio
import pickle

import pytest

import operonx
from operonx import END, PARENT, START, ExecutionHandle, Frame, GraphOp, Operon, op
from operonx.errors import OpError

from handle_helpers import T, chain, drain, stream_graph

pytestmark = pytest.mark.timeout(30)


@op
def boom(x):
    raise ValueError("boom")


@op
async def slow(x):
    await asyncio.sleep(10)
    return {"y": x}


async def test_frames_are_named_tuples_that_unpack_as_before():
    frames = await drain(Operon(chain()).start({"x": 1}))
    assert frames == [("a", ("main",), {"y": 2}), ("b", ("main",), {"z": 3})]
    first = frames[0]
    assert type(first) is Frame and isinstance(first, tuple)
    assert (first.op, first.context, first.data) == ("a", ("main",), {"y": 2})
    op_name, ctx, data = first
    assert (op_name, ctx, data) == first
    assert Frame._fields == ("op", "context", "data")
    assert repr(first) == "Frame(op='a', context=('main',), data={'y': 2})"
    assert pickle.loads(pickle.dumps(first)) == first
    assert Frame("a", ("main",), {}) == ("a", ("main",), {})


async def test_every_way_of_reading_frames_gives_frames():
    engine = Operon(stream_graph(n=2))
    handle = engine.start({})
    streamed = await drain(handle)
    assert all(type(f) is Frame for f in streamed)
    flat = await asyncio.wait_for(engine.start({}).collect("flat"), T)
    assert sorted(flat, key=repr) == sorted((f.data for f in streamed), key=repr)
    assert await asyncio.wait_for(handle.result(), T) == {"item": [0, 1], "y": [1, 2]}


def test_sync_iteration_gives_frames():
    frames = list(Operon(chain()).start({"x": 1}))
    assert [type(f) for f in frames] == [Frame, Frame]
    assert frames[1].data == {"z": 3}


def test_frame_is_exported_where_it_is_documented():
    assert operonx.Frame is operonx.handle.Frame is operonx._core.Frame
    assert Frame.__module__ == "operonx.handle"
    assert "context" in (Frame.__doc__ or "")
    assert "Frame" in operonx.__all__ and "ExecutionHandle" in operonx.__all__


async def test_a_handle_says_its_graph_state_and_frame_count():
    engine = Operon(chain())
    handle = engine.start({"x": 1})
    assert isinstance(handle, ExecutionHandle)
    assert repr(handle) == "<ExecutionHandle graph='g' state='running' frame_count=0>"
    await drain(handle)
    assert repr(handle) == "<ExecutionHandle graph='g' state='finished' frame_count=2>"


def test_a_handle_not_yet_iterated_from_sync_code_is_created():
    handle = Operon(chain()).start({"x": 1})
    assert repr(handle) == "<ExecutionHandle graph='g' state='created' frame_count=0>"
    list(handle)
    assert repr(handle) == "<ExecutionHandle graph='g' state='finished' frame_count=2>"


async def test_a_failed_and_a_cancelled_handle_say_so():
    with GraphOp(name="bad") as g:
        START >> boom(x=PARENT["x"]) >> END
    handle = Operon(g).start({"x": 1})
    with pytest.raises(OpError):
        await drain(handle)
    assert repr(handle) == "<ExecutionHandle graph='bad' state='failed' frame_count=0>"

    with GraphOp(name="slow") as g2:
        START >> slow(x=PARENT["x"]) >> END
    handle = Operon(g2).start({"x": 1})
    await asyncio.sleep(0)
    handle.cancel()
    assert repr(handle) == "<ExecutionHandle graph='slow' state='cancelled' frame_count=0>"


def test_run_state_and_engine_reprs():
    engine = Operon(chain())
    assert repr(engine) == "<Operon engine='g' ops=2>"
    state = engine.run_sync({"x": 1})["$state"]
    assert repr(state) == f"RunState(name='g', ops_run=2, keys={len(state)})"
    assert len(state) == 3  # the input x, a's y, b's z


def test_if_is_exported_from_the_package():
    from operonx import if_
    from operonx.core.ops import if_ as old_path

    assert if_ is old_path is operonx.branch.if_
    assert "if_" in operonx.__all__
