"""The Ray executor called directly (submit / submit_stream) against a local Ray instance started once
for this module: results, async and generator ops, values passed between two Ray tasks as ObjectRefs
(no copy through the driver), task errors, cancel reaching Ray, a worker that dies, refused options."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from operonx.errors import OperonUsageError  # noqa: E402
from operonx.executors.ray import RayExecutor, RayWorkerDied  # noqa: E402

from ray_helpers import Token, ray_instance, stops_writing  # noqa: E402,F401 - the module fixture

pytestmark = pytest.mark.timeout(120)
T = 60  # seconds any awaited task may take (a cold worker start included) before the test fails


@pytest.fixture(scope="module")
def executor(ray_instance):
    ex = RayExecutor(cancel_grace=0.5)
    yield ex
    ex.shutdown()


def add_one(x):
    return {"y": x + 1}


async def double_async(x):
    await asyncio.sleep(0.01)
    return {"y": x * 2}


def count_up(n):
    for i in range(n):
        yield {"i": i}


async def count_up_async(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield {"i": i}


def make_blob(size):
    return {"blob": b"x" * size, "small": 1}


def blob_length(blob, pause=0.0):
    time.sleep(pause)
    return {"n": len(blob)}


def fails(x):
    raise ValueError(f"bad input {x}")


def ticks(path, n=600):
    for _ in range(n):
        with open(path, "a") as f:
            f.write(".")
        time.sleep(0.05)
    return {"done": True}


def ticking_rows(path):
    i = 0
    while True:
        with open(path, "a") as f:
            f.write(".")
        time.sleep(0.05)
        i += 1
        yield {"i": i}


def blocked_after_one_item(path):
    """After its first item, ticks into ``path`` in a loop that ignores Ray's interrupt (as a call
    blocked in C code would not see it): only a forced cancel ends it there."""
    yield {"pid": os.getpid()}
    for _ in range(12_000):
        try:
            with open(path, "a") as f:
                f.write(".")
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
    yield {"pid": None}


def dies_once(path):
    if not os.path.exists(path):
        Path(path).write_text("died")
        os._exit(1)
    return {"ok": True}


async def test_a_chain_of_tasks_returns_each_result(executor):
    a = await asyncio.wait_for(executor.submit(add_one, {"x": 1}, cancel=Token()), T)
    b = await asyncio.wait_for(executor.submit(add_one, {"x": a["y"]}, cancel=Token()), T)
    assert (a, b) == ({"y": 2}, {"y": 3})
    assert executor.running == 0


async def test_a_fan_out_runs_every_call(executor):
    futures = [executor.submit(add_one, {"x": i}, cancel=Token()) for i in range(50)]
    results = await asyncio.wait_for(asyncio.gather(*futures), T)
    assert [r["y"] for r in results] == list(range(1, 51))


async def test_an_async_def_op_runs_on_its_own_loop_in_the_worker(executor):
    out = await asyncio.wait_for(executor.submit(double_async, {"x": 21}, cancel=Token()), T)
    assert out == {"y": 42}


@pytest.mark.parametrize("fn", [count_up, count_up_async])
async def test_a_generator_streams_its_items(executor, fn):
    async def collect():
        return [item async for item in executor.submit_stream(fn, {"n": 4}, cancel=Token())]
    assert await asyncio.wait_for(collect(), T) == [{"i": i} for i in range(4)]


def test_a_generator_goes_through_submit_stream_and_a_function_through_submit(executor):
    async def go():
        with pytest.raises(OperonUsageError, match="count_up is a generator function: run it with submit_stream"):
            await executor.submit(count_up, {"n": 1}, cancel=Token())
        with pytest.raises(OperonUsageError, match="add_one is not a generator function: run it with submit"):
            async for _ in executor.submit_stream(add_one, {"x": 1}, cancel=Token()):
                pass
    asyncio.run(asyncio.wait_for(go(), T))


async def test_a_large_value_goes_to_the_next_task_as_an_object_ref(executor):
    size = 2_000_000
    first = await asyncio.wait_for(executor.submit(make_blob, {"size": size}, cancel=Token()), T)
    blob = first["blob"]
    held = executor.shared.lookup(blob)
    assert held is not None and held[1] == "blob"
    core = ray._private.worker.global_worker.core_worker
    before = set(core.get_all_reference_counts())
    second = executor.submit(blob_length, {"blob": blob, "pause": 1.0}, cancel=Token())
    await asyncio.sleep(0.3)
    counts = core.get_all_reference_counts()
    created = set(counts) - before
    # the driver made one object (the second task's return), not a copy of the 2 MB argument
    assert len(created) == 1
    assert counts[held[0].hex().encode()]["submitted"] >= 1
    assert await asyncio.wait_for(second, T) == {"n": size}


async def test_a_small_value_is_sent_by_value(executor):
    first = await asyncio.wait_for(executor.submit(make_blob, {"size": 10}, cancel=Token()), T)
    assert executor.shared.lookup(first["blob"]) is None
    out = await asyncio.wait_for(executor.submit(blob_length, {"blob": first["blob"]}, cancel=Token()), T)
    assert out == {"n": 10}


async def test_a_large_value_made_in_the_driver_is_stored_once_for_every_task_reading_it(executor):
    blob = b"z" * 3_000_000
    assert executor.shared.lookup(blob) is None
    core = ray._private.worker.global_worker.core_worker
    first = executor.submit(blob_length, {"blob": blob}, cancel=Token())
    held = executor.shared.lookup(blob)
    assert held is not None
    before = set(core.get_all_reference_counts())
    rest = [executor.submit(blob_length, {"blob": blob}, cancel=Token()) for _ in range(3)]
    assert len(set(core.get_all_reference_counts()) - before) == 3  # three returns, no new copy of the blob
    results = await asyncio.wait_for(asyncio.gather(first, *rest), T)
    assert results == [{"n": 3_000_000}] * 4


async def test_a_task_error_is_the_ops_own_exception_with_the_remote_traceback(executor):
    with pytest.raises(ValueError) as e:
        await asyncio.wait_for(executor.submit(fails, {"x": 7}, cancel=Token()), T)
    assert type(e.value) is ValueError
    assert str(e.value) == "bad input 7"
    assert any("raised in a Ray task" in note and "fails" in note for note in e.value.__notes__)


async def test_cancel_stops_the_task_in_ray(executor, tmp_path):
    path = tmp_path / "ticks"
    token = Token()
    future = executor.submit(ticks, {"path": str(path)}, cancel=token)
    await asyncio.wait_for(_until(lambda: path.exists() and path.stat().st_size >= 2), T)
    token.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(future, T)
    await stops_writing(path)  # the task no longer runs in Ray
    assert executor.running == 0


async def test_a_cancelled_await_cancels_the_task_in_ray(executor, tmp_path):
    path = tmp_path / "ticks"
    future = executor.submit(ticks, {"path": str(path)}, cancel=Token())
    await asyncio.wait_for(_until(lambda: path.exists()), T)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(future, 0.2)
    await stops_writing(path)  # the task no longer runs in Ray


async def test_a_stream_closed_early_stops_its_generator_in_ray(executor, tmp_path):
    path = tmp_path / "ticks"
    token = Token()

    async def first_items():
        items = executor.submit_stream(ticking_rows, {"path": str(path)}, cancel=token)
        got = [await anext(items) for _ in range(3)]
        await items.aclose()
        return got
    assert await asyncio.wait_for(first_items(), T) == [{"i": 1}, {"i": 2}, {"i": 3}]
    await stops_writing(path)


async def test_a_generator_blocked_in_a_call_is_force_cancelled_after_the_grace(executor, tmp_path):
    # Ray's interrupt either stops the generator where it yielded (the task ends, its worker stays) or
    # lands in the loop that ignores it, and then only the forced cancel after the grace ends the task
    # (its worker with it): either way the task stops running
    path = tmp_path / "ticks"

    async def first_item():
        items = executor.submit_stream(blocked_after_one_item, {"path": str(path)}, cancel=Token())
        item = await anext(items)
        await items.aclose()
        return item["pid"]
    assert await asyncio.wait_for(first_item(), T) > 0
    await asyncio.sleep(executor.cancel_grace + 0.5)  # the forced cancel has been sent
    if path.exists():
        await stops_writing(path)


async def test_a_task_cancelled_in_ray_by_someone_else_fails_the_call(executor, tmp_path):
    path = tmp_path / "ticks"
    future = executor.submit(ticks, {"path": str(path)}, cancel=Token())
    await asyncio.wait_for(_until(lambda: path.exists()), T)
    (call,) = executor._live.values()
    ray.cancel(call.ref, force=True)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        await asyncio.wait_for(future, T)


async def test_a_token_cancelled_before_submit_starts_nothing(executor):
    token = Token()
    token.cancel()
    future = executor.submit(add_one, {"x": 1}, cancel=token)
    assert future.cancelled()


async def test_a_dead_worker_raises_worker_died(executor, tmp_path):
    marker = tmp_path / "died"
    with pytest.raises(RayWorkerDied, match="worker running the task died") as e:
        await asyncio.wait_for(executor.submit(dies_once, {"path": str(marker)}, cancel=Token()), T)
    assert isinstance(e.value.__cause__, ray.exceptions.RayError)
    out = await asyncio.wait_for(executor.submit(dies_once, {"path": str(marker)}, cancel=Token()), T)
    assert out == {"ok": True}


async def test_ray_options_reach_the_task_and_bad_ones_are_refused(executor):
    out = await asyncio.wait_for(executor.submit(add_one, {"x": 1}, cancel=Token(), options={"num_cpus": 1}), T)
    assert out == {"y": 2}
    with pytest.raises(OperonUsageError, match="'num_returns' is set by the executor"):
        await executor.submit(add_one, {"x": 1}, cancel=Token(), options={"num_returns": 2})
    with pytest.raises(OperonUsageError, match="not_an_option"):
        await executor.submit(add_one, {"x": 1}, cancel=Token(), options={"not_an_option": 1})


def test_init_options_are_refused_when_ray_is_already_running(ray_instance):
    with pytest.raises(OperonUsageError, match=r"RayExecutor\(address, num_cpus=...\): Ray is already initialised"):
        RayExecutor(address="auto", num_cpus=1)
    with pytest.raises(OperonUsageError, match="cancel_grace"):
        RayExecutor(cancel_grace=-1)


def test_shutdown_of_an_executor_that_joined_ray_leaves_ray_running(ray_instance):
    ex = RayExecutor()
    ex.shutdown()
    ex.shutdown()
    assert ray.is_initialized()

    async def go():
        return await ex.submit(add_one, {"x": 1}, cancel=Token())
    with pytest.raises(OperonUsageError, match="after shutdown"):
        asyncio.run(go())


async def _until(check, pause: float = 0.05) -> None:
    while not check():
        await asyncio.sleep(pause)



def sleeps(seconds):
    time.sleep(seconds)
    return {"slept": seconds}


async def test_a_task_submitted_while_the_waiter_waits_on_a_long_one_is_not_held_behind_it(executor):
    long = executor.submit(sleeps, {"seconds": 20}, cancel=Token())
    await asyncio.sleep(0.5)  # the waiter thread is now blocked in ray.wait on the long task alone
    short = await asyncio.wait_for(executor.submit(add_one, {"x": 1}, cancel=Token()), T)
    assert short == {"y": 2}
    assert not long.done()  # the short task's result came while the long one still ran
    long.cancel()


async def test_a_batch_with_a_failed_task_gives_each_task_its_own_outcome(executor):
    fns = [fails if i == 7 else add_one for i in range(30)]
    futures = [executor.submit(fn, {"x": i}, cancel=Token()) for i, fn in enumerate(fns)]
    outcomes = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), T)
    assert [o["y"] for i, o in enumerate(outcomes) if i != 7] == [i + 1 for i in range(30) if i != 7]
    assert isinstance(outcomes[7], ValueError) and "bad input 7" in str(outcomes[7])


async def test_shutdown_fails_the_calls_still_running_instead_of_leaving_them_waiting(ray_instance):
    ex = RayExecutor(cancel_grace=0)
    running = ex.submit(sleeps, {"seconds": 30}, cancel=Token())
    await asyncio.sleep(0.5)
    ex.shutdown()
    with pytest.raises(OperonUsageError, match="shutdown"):
        await asyncio.wait_for(running, T)


async def test_a_task_beyond_the_waiters_window_that_finishes_first_is_not_held_back(executor, monkeypatch):
    from operonx.executors import _ray
    monkeypatch.setattr(_ray, "WINDOW", 2)  # the two long tasks fill the window; the short one is beyond it
    longs = [executor.submit(sleeps, {"seconds": 20}, cancel=Token()) for _ in range(2)]
    short = executor.submit(add_one, {"x": 1}, cancel=Token(), options={"num_cpus": 0})
    assert await asyncio.wait_for(short, T) == {"y": 2}
    assert not any(f.done() for f in longs)
    for f in longs:
        f.cancel()
