"""Ordinary programs under faults: nothing crashes the interpreter, nothing is lost.

Each test here reproduces a way a user's program once crashed or aborted at exit; these run the program
in a subprocess and check its exit status and stderr. Waits for frames that are cancelled or time out,
and handles collected mid-run: tests/test_faults_waits.py; runs that stop, fail or get bad input:
tests/test_faults_runs.py.
"""

from __future__ import annotations

import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest


from fault_helpers import MAX_WORKERS, run_program

pytestmark = pytest.mark.timeout(120)


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
