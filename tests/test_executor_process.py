"""Ops on worker processes (``bound="process"``): results as on the engine's own threads, streams as
produced, values that cannot travel, workers that die, and cancellation leaving no worker busy.

Every engine here shares one pool of two workers (``executor_ops.shared_pool()``), except the tests
of the engine's own pool. The ops live in tests/executor_ops.py."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import OpError
from operonx.executors import ProcessExecutor, TransferError, WorkerDiedError

import executor_ops as ops
from executor_ops import T, shared_pool, until

pytestmark = pytest.mark.timeout(120)


def engine(g: GraphOp) -> Operon:
    return Operon(g, executors={"process": shared_pool()})


async def run(e: Operon, inputs: dict) -> dict:
    return await asyncio.wait_for(e.run(inputs), T)


async def squared_afterwards(name: str, x: int) -> int:
    """A fresh one-op graph on the pool, run after a test's fault: the square it gives."""
    with GraphOp(name=name) as g:
        s = ops.square(x=PARENT["x"])
        START >> s >> END
    return (await run(engine(g), {"x": x}))["y"]


async def test_a_chain_runs_on_worker_processes_and_gives_the_threads_result():
    with GraphOp(name="chain") as g:
        a = ops.square(x=PARENT["x"])
        b = ops.add_one(y=a["y"])
        c = ops.square(x=b["z"], name="c")
        START >> a >> b >> c >> END
    with GraphOp(name="chain") as t:
        a = ops.square(x=PARENT["x"], bound="cpu")
        b = ops.add_one(y=a["y"])
        c = ops.square(x=b["z"], bound="cpu", name="c")
        START >> a >> b >> c >> END
    got = await run(engine(g), {"x": 3})
    want = await run(Operon(t), {"x": 3})
    assert got["y"] == want["y"] == 100


async def test_the_calls_run_in_the_pools_workers():
    with GraphOp(name="where") as g:
        w = ops.where(x=PARENT["x"])
        START >> w >> END
    pool = shared_pool()
    got = await run(engine(g), {"x": 1})
    assert got["pid"] in pool.pids and got["pid"] != os.getpid()


async def test_a_parallel_fan_out_over_a_stream_matches_the_threads():
    def build(bound: str) -> GraphOp:
        with GraphOp(name="fan") as g:
            n = ops.count(n=PARENT["n"])
            s = ops.square(x=n["i"].parallel(), bound=bound)
            START >> n >> s >> END
        return g

    got = await run(engine(build("process")), {"n": 40})
    want = await run(Operon(build("cpu")), {"n": 40})
    assert sorted(got["y"]) == sorted(want["y"]) == [i * i for i in range(40)]


async def test_a_static_fan_out_spreads_over_both_workers():
    with GraphOp(name="wide") as g:
        src = ops.add_one(y=PARENT["x"])
        fans = [ops.sleeper(seconds=0.2, x=src["z"], name=f"s{i}") for i in range(4)]
        START >> src >> fans >> END
    got = await run(engine(g), {"x": 1})
    assert got["slept"] == [0.2] * 4 and set(got["pid"]) == set(shared_pool().pids)


async def test_a_worker_left_idle_takes_back_work_another_holds():
    """One long call and six short ones: the short ones sent behind the long one are taken back by the
    other worker once it is idle, rather than waiting for the long one to end."""
    with GraphOp(name="uneven") as g:
        calls = [ops.sleeper(seconds=2.0 if i == 0 else 0.05, x=i, name=f"c{i}") for i in range(7)]
        START >> calls >> END
    got = await run(engine(g), {})
    pid_of = dict(zip(got["x"], got["pid"]))
    assert all(pid_of[i] != pid_of[0] for i in range(1, 7))


async def test_a_generator_on_a_worker_streams_its_items_as_it_yields_them():
    with GraphOp(name="stream") as g:
        n = ops.slow_numbers(n=3, pause=20)
        START >> n >> END
    pool = shared_pool()
    handle = engine(g).start({})
    first = await asyncio.wait_for(anext(aiter(handle)), T)  # long before the generator ends
    assert first.data == {"i": 0}
    assert pool.busy == 1
    handle.cancel()
    await until(lambda: pool.busy == 0, what="the generator's worker freed")
    assert (await asyncio.wait_for(handle.collect(), T)) == {}


async def test_generator_items_feed_per_item_ops_as_on_threads():
    def build(bound: str) -> GraphOp:
        with GraphOp(name="items") as g:
            n = ops.numbers(n=PARENT["n"], bound=bound)
            a = ops.add_one(y=n["i"])
            START >> n >> a >> END
        return g

    got = await run(engine(build("process")), {"n": 5})
    want = await run(Operon(build("sync")), {"n": 5})
    assert got["z"] == want["z"] == [1, 2, 3, 4, 5]


async def test_large_values_travel_both_ways_while_other_calls_run():
    blobs = [bytes([i]) * (4 << 20) for i in range(3)]  # 4 MB each: far more than a socket buffers
    with GraphOp(name="big") as g:
        calls = [ops.echo_size(blob=b, name=f"e{i}") for i, b in enumerate(blobs)]
        small = [ops.square(x=i, name=f"s{i}") for i in range(20)]
        START >> [*calls, *small] >> END
    got = await run(engine(g), {})
    assert got["n"] == [4 << 20] * 3 and [b[:1] for b in got["blob"]] == [bytes([i]) for i in range(3)]
    assert sorted(got["y"]) == sorted(i * i for i in range(20))


async def test_a_long_stream_keeps_its_order():
    with GraphOp(name="many") as g:
        n = ops.numbers(n=PARENT["n"])
        START >> n >> END
    got = await run(engine(g), {"n": 2000})
    assert got["i"] == list(range(2000))


async def test_async_functions_run_on_workers_too():
    with GraphOp(name="asyncs") as g:
        n = ops.async_numbers(n=PARENT["n"])
        s = ops.async_square(x=n["i"])
        START >> n >> s >> END
    got = await run(engine(g), {"n": 4})
    assert got["y"] == [0, 1, 4, 9] and os.getpid() not in got["pid"]


async def test_a_loop_whose_body_runs_on_processes():
    def build(bound: str) -> GraphOp:
        with GraphOp.loop(name="grow", until="x >= 1000", max_iterations=10, x=2) as g:
            s = ops.square(x=PARENT["x"], bound=bound, outputs={"y": PARENT["x"]})
            START >> s >> END
        return g

    got = await run(engine(build("process")), {})
    want = await run(Operon(build("cpu")), {})
    assert got["x"] == want["x"] == 65536


async def test_an_exception_in_a_worker_is_the_op_error_cause_with_the_workers_traceback():
    with GraphOp(name="bad") as g:
        f = ops.fails(x=PARENT["x"])
        START >> f >> END
    with pytest.raises(OpError) as info:
        await run(engine(g), {"x": 7})
    assert info.value.op == "bad.f"
    cause = info.value.__cause__
    assert isinstance(cause, ValueError) and str(cause) == "bad value 7"
    assert "raise ValueError" in str(cause.__cause__)  # the worker's traceback


async def test_an_input_that_cannot_be_pickled_names_the_op_and_the_input():
    with GraphOp(name="lock_in") as g:
        t = ops.takes(value=threading.Lock())
        START >> t >> END
    with pytest.raises(OpError) as info:
        await run(engine(g), {})
    cause = info.value.__cause__
    assert info.value.op == "lock_in.t"
    assert isinstance(cause, TransferError) and (cause.side, cause.key) == ("argument", "value")
    assert "input 'value' (lock) cannot be pickled to send it to a worker process" in str(cause)


async def test_a_result_that_cannot_be_pickled_names_the_key():
    with GraphOp(name="lock_out") as g:
        t = ops.gives_lock()
        START >> t >> END
    with pytest.raises(OpError) as info:
        await run(engine(g), {})
    cause = info.value.__cause__
    assert isinstance(cause, TransferError) and (cause.side, cause.key) == ("result", "lock")
    assert "key 'lock' of the result (lock) cannot be pickled in the worker process" in str(cause)
    assert shared_pool().busy == 0


async def test_a_closure_travels_by_cloudpickle_and_one_that_cannot_names_the_function():
    pytest.importorskip("cloudpickle")
    k = 5

    @op(bound="process")
    def times_k(x):
        return {"y": x * k}

    lock = threading.Lock()

    @op(bound="process")
    def holds_lock(x):
        with lock:
            return {"y": x}

    with GraphOp(name="closures") as g:
        a = times_k(x=PARENT["x"])
        START >> a >> END
    assert (await run(engine(g), {"x": 2}))["y"] == 10
    with GraphOp(name="closures2") as g2:
        b = holds_lock(x=PARENT["x"])
        START >> b >> END
    with pytest.raises(OpError) as info:
        await run(engine(g2), {"x": 2})
    cause = info.value.__cause__
    assert isinstance(cause, TransferError) and cause.side == "function"
    assert "holds_lock cannot be pickled to send it to a worker process" in str(cause)


async def test_a_worker_killed_mid_op_fails_only_that_op_and_is_replaced():
    with GraphOp(name="killed") as g:
        k = ops.kill_self(x=PARENT["x"])
        START >> k >> END
    pool = shared_pool()
    before = set(pool.pids)
    with pytest.raises(OpError) as info:
        await run(engine(g), {"x": 1})
    cause = info.value.__cause__
    assert isinstance(cause, WorkerDiedError) and cause.exitcode == -9
    assert "died: killed by signal 9 (SIGKILL)" in str(cause) and info.value.op == "killed.k"
    await until(lambda: len(pool.pids) == 2, what="the dead worker replaced")
    assert set(pool.pids) != before
    assert await squared_afterwards("after", 4) == 16


async def test_an_op_whose_worker_dies_is_retried_with_retries(tmp_path):
    with GraphOp(name="retried") as g:
        k = ops.kill_self_once(marker=str(tmp_path / "marker"))
        START >> k >> END
    got = await run(engine(g), {})
    assert got["ok"] is True and (tmp_path / "marker").exists()


async def test_cancel_kills_the_running_call_and_leaves_no_worker_busy():
    with GraphOp(name="long") as g:
        s = ops.sleeper(seconds=60)
        START >> s >> END
    pool = shared_pool()
    handle = engine(g).start({})
    await until(lambda: pool.busy == 1, what="the call started")
    handle.cancel()
    await until(lambda: pool.busy == 0 and pool.queued == 0, what="no worker busy")
    assert await squared_afterwards("next", 3) == 9


async def test_a_failed_run_cancels_the_calls_it_submitted_running_and_queued():
    with GraphOp(name="fail_fast") as g:
        slow = [ops.sleeper(seconds=60, name=f"slow{i}") for i in range(5)]
        bad = ops.fails_now()
        START >> slow
        START >> bad
        [*slow, bad] >> END
    pool = shared_pool()
    e = engine(g)
    task = asyncio.ensure_future(e.run({}))
    with pytest.raises(OpError, match="fails at once"):
        await asyncio.wait_for(task, T)
    await until(lambda: pool.busy == 0 and pool.queued == 0, what="the run's calls stopped")


async def test_cancel_drops_the_short_calls_workers_hold_ahead():
    """Short calls are sent to busy workers ahead of time; a cancel drops those not started there."""
    with GraphOp(name="ahead") as g:
        n = ops.count(n=PARENT["n"])
        s = ops.square(x=n["i"].parallel())
        START >> n >> s >> END
    pool = shared_pool()
    handle = engine(g).start({"n": 3000})
    seen = 0
    async for _ in handle:
        seen += 1
        if seen == 200:
            handle.cancel()
    assert 200 <= seen < 3000
    await until(lambda: pool.busy == 0 and pool.queued == 0, what="the held calls dropped")
    assert await squared_afterwards("after_ahead", 5) == 25


async def test_a_timeout_stops_the_call_on_its_worker():
    with GraphOp(name="timed") as g:
        s = ops.sleeper(seconds=60, timeout=0.5)
        START >> s >> END
    pool = shared_pool()
    with pytest.raises(OpError, match="timed out|timeout"):
        await run(engine(g), {})
    await until(lambda: pool.busy == 0, what="the timed-out call stopped")


def test_run_sync_and_the_engines_own_pool_which_close_stops():
    with GraphOp(name="own") as g:
        w = ops.where(x=PARENT["x"])
        START >> w >> END
    e = Operon(g, processes=1)
    pool = e.executors["process"]
    assert isinstance(pool, ProcessExecutor) and pool.processes == 1 and pool.pids == []  # started at first use
    got = e.run_sync({"x": 1})
    assert got["pid"] in pool.pids
    procs = list(pool.pids)
    e.close()
    assert pool.pids == []
    for pid in procs:
        with pytest.raises(ProcessLookupError):
            _wait_gone(pid)


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        os.kill(pid, 0)  # raises ProcessLookupError once the process is reaped
        time.sleep(0.02)
