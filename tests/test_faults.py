"""Ordinary programs under faults: nothing crashes the interpreter, nothing is lost.

Each test here reproduces a way a user's program once crashed, aborted at exit, lost a frame, kept
a run going nobody could see, or accepted bad input; the crash tests run the program in a
subprocess and check its exit status and stderr.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from operonx import END, PARENT, START, GraphOp, Middleware, Operon, op
from operonx.errors import InputError, OpError, RunCancelled

pytestmark = pytest.mark.timeout(120)

T = 5  # seconds: bound on every await that could hang
# The cpu pool has at most 8 threads: at most that many jobs can have started before a run stopped.
MAX_WORKERS = 8


def run_program(source: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs a Python program in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)], capture_output=True, text=True, timeout=timeout
    )


# ---------------------------------------------------------------------------
# 1. An exception leaving `async for ... in engine.start(...)`
# ---------------------------------------------------------------------------

STREAM = """
import asyncio, signal, sys
from operonx import Operon, GraphOp, op, START, END, PARENT

@op
def rows(n):
    for i in range(n):
        yield {"i": i}

@op
async def arows(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield {"i": i}

def graph(kind):
    with GraphOp(name="s") as g:
        r = (rows if kind == "sync" else arows)(n=PARENT["n"])
        START >> r >> END
    return g
"""

# Each body leaves an `async for` over a temporary handle while the run goes on, and says which
# exception must come out of `asyncio.run`.
WAYS = {
    "raise": (
        """
        async def main():
            async for _, _, data in Operon(graph(KIND)).start({"n": 100000}):
                if data["i"] == 5:
                    raise ValueError("stop here")
        """,
        "ValueError",
    ),
    "cancel_task": (
        """
        async def main():
            async def consume():
                async for _, _, data in Operon(graph(KIND)).start({"n": 100000}):
                    if data["i"] == 5:
                        asyncio.current_task().cancel()
                        await asyncio.sleep(0)
            await consume()
        """,
        "CancelledError",
    ),
    "wait_for": (
        """
        async def main():
            async def consume():
                async for _ in Operon(graph(KIND)).start({"n": 10**9}):
                    await asyncio.sleep(0)
            await asyncio.wait_for(consume(), 0.05)
        """,
        "TimeoutError",
    ),
    "timeout": (
        """
        async def main():
            async with asyncio.timeout(0.05):
                async for _ in Operon(graph(KIND)).start({"n": 10**9}):
                    await asyncio.sleep(0)
        """,
        "TimeoutError",
    ),
    "task_group": (
        """
        async def main():
            async def consume():
                async for _ in Operon(graph(KIND)).start({"n": 10**9}):
                    await asyncio.sleep(0)
            async def fail():
                await asyncio.sleep(0.02)
                raise KeyError("sibling")
            async with asyncio.TaskGroup() as tg:
                tg.create_task(consume())
                tg.create_task(fail())
        """,
        "ExceptionGroup",
    ),
    "ctrl_c": (
        """
        async def main():
            asyncio.get_running_loop().call_later(0.05, signal.raise_signal, signal.SIGINT)
            async for _ in Operon(graph(KIND)).start({"n": 10**9}):
                await asyncio.sleep(0)
        """,
        "KeyboardInterrupt",
    ),
}


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("way", sorted(WAYS))
def test_an_exception_leaving_async_for_over_a_temporary_handle_propagates(way, kind):
    body, expected = WAYS[way]
    program = (
        STREAM
        + f"KIND = {kind!r}\n"
        + textwrap.dedent(body)
        + textwrap.dedent(
            f"""
            try:
                asyncio.run(main())
            except BaseException as e:
                print("raised", type(e).__name__)
                sys.exit(0 if type(e).__name__ == {expected!r} else 3)
            print("nothing raised")
            sys.exit(4)
            """
        )
    )
    done = run_program(program)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    assert f"raised {expected}" in done.stdout
    assert "SystemError" not in done.stderr and "Fatal" not in done.stderr


# ---------------------------------------------------------------------------
# 2. A process that ran a cpu op exits cleanly
# ---------------------------------------------------------------------------

CPU_PROGRAM = """
from operonx import Operon, GraphOp, op, START, END, PARENT

@op(bound="cpu")
def work(x):
    return {"y": x + 1}

with GraphOp(name="c") as g:
    a = work(x=PARENT["x"])
    START >> a >> END
assert Operon(g).run_sync({"x": 1})["y"] == 2
"""


def test_a_process_that_ran_a_cpu_op_exits_with_status_0_every_time():
    def once(_: int) -> tuple[int, str]:
        done = run_program(CPU_PROGRAM)
        return done.returncode, done.stderr

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(once, range(100)))
    failed = [o for o in outcomes if o[0] != 0]
    assert failed == [], f"{len(failed)} of 100 exited badly; first: {failed[:1]}"


def test_a_cpu_op_still_running_at_exit_finishes_before_the_interpreter_does():
    done = run_program(
        """
        import asyncio, time
        from operonx import Operon, GraphOp, op, START, END, PARENT

        @op(bound="cpu")
        def work(x):
            time.sleep(0.2)
            print("finished", x, flush=True)
            return {"y": x}

        with GraphOp(name="c") as g:
            a = work(x=PARENT["x"])
            START >> a >> END

        async def main():
            handle = Operon(g).start({"x": 1})
            await asyncio.sleep(0.05)  # the job is running; the script ends now
            handle.cancel()

        asyncio.run(main())
        """
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "finished 1" in done.stdout  # joined at exit, not killed mid-call


def test_cpu_jobs_still_queued_at_exit_are_dropped():
    done = run_program(
        """
        import asyncio, time
        from operonx import Operon, GraphOp, op, START, END

        @op(bound="cpu")
        def work(x):
            print("ran", x, flush=True)
            time.sleep(0.05)
            return {"y": x}

        with GraphOp(name="c") as g:
            START >> [work(x=i, name=f"w{i}") for i in range(40)] >> END

        async def main():
            global handle
            handle = Operon(g).start({})  # kept alive past the loop: its run is never cancelled
            await asyncio.sleep(0.01)

        asyncio.run(main())
        """
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert 0 < done.stdout.count("ran") <= 2 * MAX_WORKERS


def test_a_forked_child_runs_cpu_ops_on_a_pool_of_its_own():
    done = run_program(
        """
        import os, sys
        from operonx import Operon, GraphOp, op, START, END, PARENT

        @op(bound="cpu")
        def work(x):
            return {"y": x + 1, "pid": os.getpid()}

        with GraphOp(name="c") as g:
            a = work(x=PARENT["x"])
            START >> a >> END
        engine = Operon(g)
        assert engine.run_sync({"x": 1})["y"] == 2
        pid = os.fork()
        if pid == 0:
            out = engine.run_sync({"x": 2})
            os._exit(0 if out["y"] == 3 and out["pid"] == os.getpid() else 5)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert engine.run_sync({"x": 3})["y"] == 4
        """,
        timeout=30,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)


# ---------------------------------------------------------------------------
# 3. A cancelled or timed-out wait for the next frame
# ---------------------------------------------------------------------------


def slow_stream(pause: float = 0.05):
    @op
    async def slow(n):
        for i in range(n):
            await asyncio.sleep(pause)
            yield {"i": i}

    with GraphOp(name="s") as g:
        r = slow(n=PARENT["n"])
        START >> r >> END
    return g


async def test_a_timed_out_wait_for_the_next_frame_loses_nothing():
    it = Operon(slow_stream()).start({"n": 3}).__aiter__()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(it.__anext__(), 0.01)  # before the first frame
    await asyncio.sleep(0.08)  # the first frame has arrived meanwhile
    assert await asyncio.wait_for(it.__anext__(), T) == ("r", ("main", "[0]"), {"i": 0})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(it.__anext__(), 0.001)
    assert await asyncio.wait_for(it.__anext__(), T) == ("r", ("main", "[1]"), {"i": 1})
    assert [f async for f in it] == [("r", ("main", "[2]"), {"i": 2})]


async def test_a_new_waiter_replaces_a_cancelled_one():
    it = Operon(slow_stream()).start({"n": 2}).__aiter__()
    waiting = asyncio.ensure_future(it.__anext__())
    await asyncio.sleep(0.01)
    waiting.cancel()
    # asked again before any frame arrived: no "another consumer is waiting", and nothing lost
    assert await asyncio.wait_for(it.__anext__(), T) == ("r", ("main", "[0]"), {"i": 0})
    assert waiting.cancelled()
    assert [f[2]["i"] async for f in it] == [1]


async def test_waits_that_time_out_over_and_over_lose_no_frame():
    handle = Operon(slow_stream(0.0005)).start({"n": 20})
    it = handle.__aiter__()
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(it.__anext__(), 0.0002))
        except TimeoutError:
            continue
        except StopAsyncIteration:
            break
    assert [f[2]["i"] for f in got] == list(range(20))


async def test_concurrent_consumers_share_the_frames_without_loss_or_duplicates():
    handle = Operon(slow_stream(0.001)).start({"n": 60})
    it = handle.__aiter__()

    async def consume() -> list:
        mine = []
        async for frame in it:
            mine.append(frame[2]["i"])
        return mine

    parts = await asyncio.wait_for(asyncio.gather(consume(), consume(), consume()), T)
    assert sorted(i for part in parts for i in part) == list(range(60))
    for part in parts:
        assert part == sorted(part)


async def test_waits_for_a_value_or_the_end_that_time_out_are_forgotten_and_lose_nothing():
    handle = Operon(slow_stream(0.3)).start({"n": 2})
    for _ in range(20):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(handle.wait_for("r", "i"), 0.0001)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(handle.result(), 0.0001)
    assert await asyncio.wait_for(handle.wait_for("r", "i"), T) == 0
    assert (await asyncio.wait_for(handle.result(unwrap=False), T))["i"] == [0, 1]


# ---------------------------------------------------------------------------
# 4. A handle freed by the cyclic garbage collector while its run is being stepped
# ---------------------------------------------------------------------------


async def test_a_handle_collected_while_its_run_is_stepped_cancels_the_run():
    pulled = []
    closed = threading.Event()
    collect_at = 50

    @op
    def endless():
        try:
            i = 0
            while True:
                pulled.append(i)
                yield {"v": i}
                i += 1
        finally:
            closed.set()

    def collect_now(v):
        if v == collect_at:
            gc.collect()  # runs while the driver steps the run (its lock held)
        return v

    @op
    def use(v):
        return {"w": v}

    with GraphOp(name="e") as g:
        src = endless()
        u = use(v=src["v"].apply(collect_now))
        START >> src >> u >> END
    engine = Operon(g)
    gc.collect()
    gc.disable()
    try:
        handle = engine.start({})
        cycle: list = [handle]
        cycle.append(cycle)  # only the cyclic collector frees it
        del handle, cycle
        for _ in range(200):
            await asyncio.sleep(0.005)
            if closed.is_set():
                break
    finally:
        gc.enable()
    assert closed.is_set(), f"the run went on after its handle was collected ({len(pulled)} items pulled)"
    n = len(pulled)
    await asyncio.sleep(0.05)
    assert len(pulled) == n


# ---------------------------------------------------------------------------
# 5. Cancelled or failed runs start none of their queued cpu jobs
# ---------------------------------------------------------------------------

def cpu_fanout(calls: list, fail: bool, n: int = 32):
    @op(bound="cpu")
    def work(x):
        calls.append(x)
        time.sleep(0.02)
        return {"y": x}

    @op
    def boom(x):
        raise RuntimeError("boom")

    with GraphOp(name="fan") as g:
        workers = [work(x=i, name=f"w{i}") for i in range(n)]
        START >> workers >> END
        if fail:
            b = boom(x=1)
            START >> b >> END
    return g


async def test_a_failed_run_starts_none_of_its_queued_cpu_jobs():
    calls: list = []
    with pytest.raises(OpError, match="boom"):
        await asyncio.wait_for(Operon(cpu_fanout(calls, fail=True)).run({}), T)
    at_failure = len(calls)
    await asyncio.sleep(0.3)  # long enough for 32 jobs on 2+ threads to have run
    assert len(calls) == at_failure <= MAX_WORKERS


async def test_a_cancelled_run_starts_none_of_its_queued_cpu_jobs():
    calls: list = []
    handle = Operon(cpu_fanout(calls, fail=False)).start({})
    await asyncio.sleep(0.03)
    handle.cancel()
    at_cancel = len(calls)
    await asyncio.sleep(0.3)
    assert len(calls) <= at_cancel + MAX_WORKERS and len(calls) < 32
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_a_cpu_op_running_when_its_run_is_cancelled_starts_no_successor():
    events: list = []

    @op(bound="cpu")
    def slow(x):
        events.append("slow")
        time.sleep(0.15)
        return {"y": x}

    @op
    def after(y):
        events.append("after")
        return {"z": y}

    with GraphOp(name="c") as g:
        s = slow(x=1)
        a = after(y=s["y"])
        START >> s >> a >> END
    handle = Operon(g).start({})
    await asyncio.sleep(0.05)
    assert events == ["slow"]
    handle.cancel()
    await asyncio.sleep(0.3)
    assert events == ["slow"]
    # the pool is free for the next run
    assert (await asyncio.wait_for(Operon(g).run({}), T))["z"] == 1


# ---------------------------------------------------------------------------
# 6. errors="continue" through the handle
# ---------------------------------------------------------------------------


def half_failing():
    @op
    def gen(n):
        for i in range(n):
            yield {"i": i}

    @op
    def check(i):
        if i % 2:
            raise ValueError(f"odd {i}")
        return {"even": i}

    with GraphOp(name="h") as g:
        s = gen(n=PARENT["n"])
        c = check(i=s["i"])
        START >> s >> c >> END
    return g


async def test_start_with_errors_continue_keeps_every_failure():
    engine = Operon(half_failing())
    ran = await asyncio.wait_for(engine.run({"n": 6}, errors="continue"), T)
    handle = engine.start({"n": 6}, errors="continue")
    result = await asyncio.wait_for(handle.result(), T)
    assert [str(e) for e in handle.errors] == [str(e) for e in ran["$errors"]]
    assert len(handle.errors) == 3 and all(isinstance(e, OpError) for e in handle.errors)
    assert [e.context for e in result["$errors"]] == [("main", "[1]"), ("main", "[3]"), ("main", "[5]")]
    assert result["even"] == ran["even"] == [0, 2, 4]
    collected = await asyncio.wait_for(engine.start({"n": 6}, errors="continue").collect(), T)
    assert len(collected["$errors"]) == 3 and collected["even"] == [0, 2, 4]


async def test_a_raising_run_lists_no_errors_on_its_handle():
    handle = Operon(half_failing()).start({"n": 1})
    assert await asyncio.wait_for(handle.result(), T) == {"even": 0}
    assert handle.errors == []
    failing = Operon(half_failing()).start({"n": 2})
    with pytest.raises(OpError, match="odd 1"):
        await asyncio.wait_for(failing.result(), T)
    assert failing.errors == []


# ---------------------------------------------------------------------------
# 7. cpu ops see the caller's contextvars
# ---------------------------------------------------------------------------

REQUEST = contextvars.ContextVar("request", default="unset")


async def test_cpu_ops_see_the_callers_contextvars():
    @op(bound="cpu")
    def read(x):
        REQUEST.set("changed inside")  # a copy: the caller's value stays
        return {"seen": x}

    @op(bound="cpu")
    def look(seen):
        return {"value": REQUEST.get(), "seen": seen}

    with GraphOp(name="cv") as g:
        r = read(x=1)
        lk = look(seen=r["seen"])
        START >> r >> lk >> END
    REQUEST.set("from the caller")
    out = await asyncio.wait_for(Operon(g).run({}), T)
    assert out["value"] == "from the caller"
    assert REQUEST.get() == "from the caller"


# ---------------------------------------------------------------------------
# 9. Run inputs are checked before middleware sees them
# ---------------------------------------------------------------------------


class Recorder(Middleware):
    def __init__(self) -> None:
        self.seen: list = []

    async def before_run(self, graph, inputs, context):
        self.seen.append(inputs)
        return inputs


@pytest.mark.parametrize("bad", [[("x", 1)], "ab", 5, 1.5, b"x"], ids=repr)
@pytest.mark.parametrize("with_middleware", [False, True])
def test_run_inputs_that_are_not_a_mapping_are_an_input_error(bad, with_middleware):
    @op
    def f(x):
        return {"y": x}

    with GraphOp(name="c") as g:
        a = f(x=PARENT["x"])
        START >> a >> END
    recorder = Recorder()
    engine = Operon(g, middleware=[recorder] if with_middleware else [])
    with pytest.raises(InputError, match=r"run inputs of graph 'c' must be a mapping") as raised:
        engine.run_sync(bad)
    assert raised.value.graph == "c"
    assert recorder.seen == []
    assert engine.run_sync({"x": 2})["y"] == 2
