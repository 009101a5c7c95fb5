"""Cancelling a run: handle.cancel(), cancelling the task that awaits run(), dropping the handle.

A cancelled run stops its running async ops (their tasks see CancelledError), closes its running
sync and async generators (their ``finally`` blocks run), starts nothing new, and completes the
handle: iteration ends, ``collect()`` returns what arrived, ``result()`` raises RunCancelled. No
asyncio task created by the run is left pending.
"""

from __future__ import annotations

import asyncio
import gc

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import RunCancelled

pytestmark = pytest.mark.timeout(30)

T = 5  # seconds: bound on every await that could hang


async def settle(turns: int = 5) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


def leftover(before: set) -> set:
    """Tasks not done that did not exist before (the current task excluded)."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}


class Log:
    def __init__(self) -> None:
        self.events: list = []
        self.started = asyncio.Event()

    def add(self, *event) -> None:
        self.events.append(event)

    def has(self, *event) -> bool:
        return event in self.events

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e[0] == kind)


def make_ops(log: Log):
    """Instrumented ops: a sync and an async generator, a slow async op, a plain sync op."""

    @op
    def sgen(n):
        log.add("gen_enter")
        try:
            for i in range(n):
                log.add("pull", i)
                yield {"item": i}
        finally:
            log.add("gen_finally")

    @op
    async def agen(n, pause=0.001):
        log.add("gen_enter")
        try:
            for i in range(n):
                await asyncio.sleep(pause)
                log.add("pull", i)
                yield {"item": i}
        except BaseException as stop:  # GeneratorExit (aclose) or CancelledError (its await)
            log.add("gen_closed", type(stop))
            raise
        finally:
            log.add("gen_finally")

    @op
    async def slow(x, wait=10.0):
        log.add("slow_start", x)
        log.started.set()
        try:
            await asyncio.sleep(wait)
        except asyncio.CancelledError:
            log.add("slow_cancelled", x)
            raise
        finally:
            log.add("slow_finally", x)
        log.add("slow_end", x)
        return {"y": x}

    @op
    def after(y):
        log.add("after", y)
        return {"z": y}

    return sgen, agen, slow, after


def streaming_graph(log: Log, kind: str, n: int = 100_000, wait: float = 10.0):
    """generator a (to END) -> slow async per-item op b -> after c (to END)."""
    sgen, agen, slow, after = make_ops(log)
    source = sgen if kind == "sync" else agen
    with GraphOp(name="g") as g:
        a = source(n=n)
        b = slow(x=a["item"], wait=wait)
        c = after(y=b["y"])
        START >> a >> b >> c
        [a, c] >> END
    return g


KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


# ---------------------------------------------------------------------------
# handle.cancel()
# ---------------------------------------------------------------------------


@KINDS
async def test_cancel_stops_running_op_and_closes_generator(kind):
    log = Log()
    engine = Operon(streaming_graph(log, kind))
    before = asyncio.all_tasks()
    handle = engine.start({})
    await asyncio.wait_for(log.started.wait(), T)
    assert log.has("slow_start", 0)
    handle.cancel()
    assert handle.done
    # iteration ends after the frames that arrived
    frames = await asyncio.wait_for(_drain(handle), T)
    assert all(op_name == "a" for op_name, _, _ in frames)
    await settle()
    assert log.has("slow_cancelled", 0) and log.has("slow_finally", 0)
    assert log.has("gen_finally",)
    assert not log.has("slow_end", 0)
    assert log.count("after") == 0
    assert log.count("slow_start") == 1  # nothing new started
    assert leftover(before) == set()
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


@KINDS
async def test_cancel_then_collect_returns_what_arrived(kind):
    log = Log()
    handle = Operon(streaming_graph(log, kind)).start({})
    await asyncio.wait_for(log.started.wait(), T)
    arrived = handle.frame_count
    handle.cancel()
    out = await asyncio.wait_for(handle.collect(), T)
    assert isinstance(out, dict)
    assert set(out) <= {"item"}
    assert len(out.get("item", [])) == handle.frame_count >= arrived
    assert out.get("item", []) == list(range(len(out.get("item", []))))
    assert await asyncio.wait_for(handle.collect(), T) == {}
    with pytest.raises(RunCancelled, match="cancelled"):
        await asyncio.wait_for(handle.result(), T)
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(unwrap=False), T)


@KINDS
async def test_cancel_while_iterating_ends_iteration(kind):
    log = Log()
    before = asyncio.all_tasks()
    handle = Operon(streaming_graph(log, kind, wait=0.0)).start({})
    got = []

    async def go():
        async for frame in handle:
            got.append(frame)
            if len(got) == 3:
                handle.cancel()

    await asyncio.wait_for(go(), T)
    assert len(got) >= 3
    assert handle.done
    frames_then = handle.frame_count
    await settle()
    assert handle.frame_count == frames_then  # nothing more arrives
    assert log.has("gen_finally",)
    assert leftover(before) == set()
    assert await asyncio.wait_for(handle.collect(), T) == {}
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_cancel_async_generator_runs_its_finally():
    log = Log()
    _, agen, _, _ = make_ops(log)
    with GraphOp(name="g") as g:
        a = agen(n=1_000_000, pause=0.001)
        START >> a >> END
    before = asyncio.all_tasks()
    handle = Operon(g).start({})

    async def two():
        n = 0
        async for _ in handle:
            n += 1
            if n == 2:
                return

    await asyncio.wait_for(two(), T)
    handle.cancel()
    await settle()
    assert log.has("gen_finally",)
    closed = [e[1] for e in log.events if e[0] == "gen_closed"]
    assert len(closed) == 1 and closed[0] in (GeneratorExit, asyncio.CancelledError)
    assert leftover(before) == set()
    pulled = log.count("pull")
    await asyncio.sleep(0.01)
    assert log.count("pull") == pulled


async def test_cancel_plain_async_op_and_nothing_downstream_runs():
    log = Log()
    _, _, slow, after = make_ops(log)
    with GraphOp(name="g") as g:
        b = slow(x=PARENT["x"])
        c = after(y=b["y"])
        START >> b >> c >> END
    before = asyncio.all_tasks()
    handle = Operon(g).start({"x": 7})
    await asyncio.wait_for(log.started.wait(), T)
    handle.cancel()
    assert await asyncio.wait_for(handle.collect(), T) == {}
    await settle()
    assert log.has("slow_cancelled", 7)
    assert log.count("after") == 0
    assert leftover(before) == set()


async def test_cancel_parallel_items_cancels_every_running_task():
    log = Log()
    _, agen, slow, after = make_ops(log)
    with GraphOp(name="g") as g:
        a = agen(n=4, pause=0.0)
        b = slow(x=a["item"].parallel())
        c = after(y=b["y"])
        START >> a >> b >> c >> END
    before = asyncio.all_tasks()
    handle = Operon(g).start({})

    async def four_started():
        while log.count("slow_start") < 4:
            await asyncio.sleep(0.001)

    await asyncio.wait_for(four_started(), T)
    handle.cancel()
    await settle()
    assert sorted(e[1] for e in log.events if e[0] == "slow_cancelled") == [0, 1, 2, 3]
    assert log.count("after") == 0
    assert leftover(before) == set()


async def test_cancel_before_the_run_starts_anything():
    log = Log()
    before = asyncio.all_tasks()
    handle = Operon(streaming_graph(log, "async")).start({})
    handle.cancel()
    assert handle.done
    assert await asyncio.wait_for(_drain(handle), T) == []
    assert await asyncio.wait_for(handle.collect(), T) == {}
    await settle()
    assert log.count("slow_start") == 0
    if log.has("gen_enter",):
        assert log.has("gen_finally",)
    assert leftover(before) == set()
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_cancel_is_idempotent():
    log = Log()
    handle = Operon(streaming_graph(log, "async")).start({})
    await asyncio.wait_for(log.started.wait(), T)
    handle.cancel()
    handle.cancel()
    await settle()
    handle.cancel()
    assert handle.done
    assert log.count("slow_cancelled") == 1
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)


async def test_cancel_after_the_end_changes_nothing():
    log = Log()
    handle = Operon(streaming_graph(log, "async", n=3, wait=0.0)).start({})
    result = await asyncio.wait_for(handle.result(), T)
    assert result["z"] == [0, 1, 2]
    handle.cancel()
    assert await asyncio.wait_for(handle.result(), T) == result
    assert handle.done


async def test_cancel_resolves_pending_waiters():
    log = Log()
    handle = Operon(streaming_graph(log, "async")).start({})
    waiter = asyncio.ensure_future(handle.wait_for("c", "z"))
    done = asyncio.ensure_future(handle.result())
    collected = asyncio.ensure_future(handle.collect())
    await asyncio.wait_for(log.started.wait(), T)
    handle.cancel()
    assert await asyncio.wait_for(waiter, T) is None
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(done, T)
    out = await asyncio.wait_for(collected, T)
    assert isinstance(out, dict) and set(out) <= {"item"}


def test_cancel_from_sync_for():
    log = Log()
    handle = Operon(streaming_graph(log, "async", wait=0.0)).start({})
    got = []
    for frame in handle:
        got.append(frame)
        if len(got) == 3:
            handle.cancel()
    assert handle.done and len(got) >= 3
    assert log.has("gen_finally",)
    started = {e[1] for e in log.events if e[0] == "slow_start"}
    finished = {e[1] for e in log.events if e[0] == "slow_finally"}
    assert started == finished


# ---------------------------------------------------------------------------
# Cancelling the task that awaits run()
# ---------------------------------------------------------------------------


@KINDS
async def test_cancelling_the_run_task_cancels_the_run(kind):
    log = Log()
    engine = Operon(streaming_graph(log, kind))
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(engine.run({}))
    await asyncio.wait_for(log.started.wait(), T)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, T)
    await settle()
    assert log.has("slow_cancelled", 0) and log.has("slow_finally", 0)
    assert log.has("gen_finally",)
    assert log.count("after") == 0
    assert log.count("slow_start") == 1
    assert leftover(before) == set()


async def test_wait_for_timeout_on_run_cancels_the_run():
    log = Log()
    engine = Operon(streaming_graph(log, "async"))
    before = asyncio.all_tasks()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(engine.run({}), 0.05)
    await settle()
    assert log.has("gen_finally",)
    assert {e[1] for e in log.events if e[0] == "slow_start"} == {
        e[1] for e in log.events if e[0] == "slow_finally"
    }
    assert leftover(before) == set()


# ---------------------------------------------------------------------------
# Dropping the handle
# ---------------------------------------------------------------------------


@KINDS
async def test_dropped_handle_cancels_its_run(kind):
    log = Log()
    engine = Operon(streaming_graph(log, kind))
    before = asyncio.all_tasks()
    handle = engine.start({})
    await asyncio.wait_for(log.started.wait(), T)
    del handle
    gc.collect()
    await settle()
    assert log.has("slow_cancelled", 0)
    assert log.has("gen_finally",)
    assert log.count("after") == 0
    assert leftover(before) == set()


async def test_dropped_handle_mid_iteration_cancels_its_run():
    log = Log()
    engine = Operon(streaming_graph(log, "async", wait=0.001))
    before = asyncio.all_tasks()
    handle = engine.start({})

    async def some():
        n = 0
        async for _ in handle:
            n += 1
            if n == 3:
                break

    await asyncio.wait_for(some(), T)
    del handle
    gc.collect()
    await settle()
    assert log.has("gen_finally",)
    assert leftover(before) == set()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dropped_handle_after_sync_for_break_cancels_cleanly(caplog):
    log = Log()
    engine = Operon(streaming_graph(log, "async"))
    handle = engine.start({})
    for i, _ in enumerate(handle):
        if i == 2:
            break
    assert log.has("slow_start", 0)
    del handle
    gc.collect()
    pending = [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]
    assert log.has("gen_finally",)
    assert log.has("slow_cancelled", 0)
    assert pending == []


# ---------------------------------------------------------------------------
# Random graphs cancelled at random points
# ---------------------------------------------------------------------------


@st.composite
def scenarios(draw):
    return {
        "gen_async": draw(st.booleans()),
        "length": draw(st.integers(0, 12)),
        "gen_sleep": draw(st.integers(0, 2)),  # ms, async generator only
        "policy": draw(st.sampled_from(["seq", "parallel", "parallel2", "collect"])),
        # each step: (kind, ms): a sync op, an async op sleeping ms, or a sync / async generator
        # yielding ms items per input (a generator fed by a generator)
        "chain": draw(st.lists(
            st.tuples(st.sampled_from(["sync", "async", "subgen", "asubgen"]), st.integers(0, 2)),
            min_size=0, max_size=3,
        )),
        "batch": draw(st.one_of(st.none(), st.integers(0, 2))),
        "gen_to_end": draw(st.booleans()),
        # 0: a plain graph; n > 0: the whole graph is the body of a loop run n times
        "loop": draw(st.sampled_from([0, 0, 1, 2, 3])),
        "cancel": draw(st.one_of(
            st.tuples(st.just("frames"), st.integers(0, 5)),
            st.tuples(st.just("sleep"), st.integers(0, 4)),
        )),
    }


def build_random(spec, rec):
    """Generator -> chain of sync/async ops (the first one reads the items with the policy)."""

    @op
    def sgen(n):
        token = object()
        rec["gen_started"].add(token)
        try:
            for i in range(n):
                yield {"item": i}
        finally:
            rec["gen_finished"].add(token)

    @op
    async def agen(n, pause):
        token = object()
        rec["gen_started"].add(token)
        try:
            for i in range(n):
                await asyncio.sleep(pause)
                yield {"item": i}
        finally:
            rec["gen_finished"].add(token)

    @op
    def sstep(x, b=0):
        return {"v": x}

    @op
    async def astep(x, pause, b=0):
        token = object()
        rec["op_started"].add(token)
        try:
            await asyncio.sleep(pause)
        finally:
            rec["op_finished"].add(token)
        return {"v": x}

    @op
    def subgen(x, count, b=0):
        token = object()
        rec["gen_started"].add(token)
        try:
            for j in range(count):
                yield {"v": (x, j)}
        finally:
            rec["gen_finished"].add(token)

    @op
    async def asubgen(x, count, b=0):
        token = object()
        rec["gen_started"].add(token)
        try:
            for j in range(count):
                await asyncio.sleep(0)
                yield {"v": (x, j)}
        finally:
            rec["gen_finished"].add(token)

    @op
    async def base(pause):
        token = object()
        rec["op_started"].add(token)
        try:
            await asyncio.sleep(pause)
        finally:
            rec["op_finished"].add(token)
        return {"b": 1}

    if spec["loop"]:
        g = GraphOp.loop(name="rnd", until=None, max_iterations=spec["loop"])
    else:
        g = GraphOp(name="rnd")
    with g:
        if spec["gen_async"]:
            a = agen(n=spec["length"], pause=spec["gen_sleep"] / 1000, name="a")
        else:
            a = sgen(n=spec["length"], name="a")
        START >> a
        bat = None
        if spec["batch"] is not None:
            bat = base(pause=spec["batch"] / 1000, name="bat")
            START >> bat
        prev = a
        ref = {
            "seq": a["item"],
            "parallel": a["item"].parallel(),
            "parallel2": a["item"].parallel(max=2),
            "collect": a["item"].collect(),
        }[spec["policy"]]
        for i, (kind, ms) in enumerate(spec["chain"]):
            x = ref if i == 0 else prev["v"]
            extra = {"b": bat["b"]} if (i == 0 and bat is not None) else {}
            if kind == "async":
                node = astep(x=x, pause=ms / 1000, name=f"s{i}", **extra)
            elif kind == "sync":
                node = sstep(x=x, name=f"s{i}", **extra)
            elif kind == "subgen":
                node = subgen(x=x, count=ms, name=f"s{i}", **extra)
            else:
                node = asubgen(x=x, count=ms, name=f"s{i}", **extra)
            prev >> node
            if extra:
                bat >> node
            prev = node
        ends = [prev]
        if spec["gen_to_end"] and prev is not a:
            ends.append(a)
        if bat is not None and not spec["chain"]:
            ends.append(bat)
        ends >> END
    return g


async def random_scenario(spec):
    rec = {k: set() for k in ("gen_started", "gen_finished", "op_started", "op_finished")}
    engine = Operon(build_random(spec, rec))
    before = asyncio.all_tasks()
    handle = engine.start({})
    mode, amount = spec["cancel"]
    was_done = False
    if mode == "frames":
        got = 0

        async def until_k():
            nonlocal got, was_done
            if amount == 0:
                was_done = handle.done
                handle.cancel()
            async for _ in handle:
                got += 1
                if got == amount:
                    was_done = handle.done
                    handle.cancel()

        await asyncio.wait_for(until_k(), T)
        if got < amount:  # the run ended first
            was_done = True
    else:
        await asyncio.sleep(amount / 1000)
        was_done = handle.done
        handle.cancel()
        out = await asyncio.wait_for(handle.collect(), T)
        assert isinstance(out, dict)
        assert sum(len(v) for v in out.values()) <= handle.frame_count  # one key per frame here
    assert handle.done
    event("run over before cancel" if was_done else "cancelled mid-run")
    event(f"generator started: {bool(rec['gen_started'])}; async ops started: {bool(rec['op_started'])}")
    if spec["loop"]:
        event("inside a loop")
    if was_done:
        result = await asyncio.wait_for(handle.result(), T)
        assert isinstance(result, dict)
    else:
        with pytest.raises(RunCancelled):
            await asyncio.wait_for(handle.result(), T)
    await settle(5)
    assert leftover(before) == set()
    assert rec["gen_started"] == rec["gen_finished"]
    assert rec["op_started"] == rec["op_finished"]
    count = handle.frame_count
    await asyncio.sleep(0.003)
    assert handle.frame_count == count


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=scenarios())
def test_random_graphs_cancelled_at_random_points(spec):
    asyncio.run(asyncio.wait_for(random_scenario(spec), 20))


async def _drain(handle) -> list:
    return [frame async for frame in handle]
