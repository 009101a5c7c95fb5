"""Property: leaving `async for` over a run at a random point never crashes, hangs or loses a frame,
and leaves nothing of the run behind.

Each example streams a generator (sync or async), alone or through a per-item op (sync, async or
cpu; in order or ``.parallel()``), over a temporary or a named handle, and leaves the iteration one
of several ways: raising, breaking, cancelling the task, an outer ``wait_for`` or ``asyncio.timeout``,
a failing TaskGroup sibling, ``handle.cancel()``, or waiting for each frame with timeouts that
expire. Checked: the frames received are frames of the run, each once, in order where the order
is defined; nothing before the point of leaving is lost (a named handle iterated again delivers
every frame the run made); afterwards no task of the run is pending, every generator that started
was closed, and no cpu job of the run runs or starts.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from operonx import END, PARENT, START, GraphOp, Operon, op

SOURCES = ("sync", "async")
CONSUMERS = (None, "sync", "async", "cpu")
WAYS = ("raise", "break", "cancel_task", "wait_for", "timeout", "task_group", "handle_cancel", "anext_timeouts")
T = 5  # seconds: bound on every wait that could hang
pytestmark = pytest.mark.timeout(900)


class Boom(Exception):
    """Raised by the test itself to leave an iteration."""


@dataclass(frozen=True)
class Spec:
    source: str
    consumer: str | None
    parallel: bool
    n: int
    named: bool
    way: str
    point: int
    delay: float
    timeouts: tuple[float, ...]


@st.composite
def specs(draw) -> Spec:
    consumer = draw(st.sampled_from(CONSUMERS))
    way = draw(st.sampled_from(WAYS))
    return Spec(
        source=draw(st.sampled_from(SOURCES)),
        consumer=consumer,
        parallel=consumer in ("async", "cpu") and draw(st.booleans()),
        n=draw(st.integers(0, 12)),
        named=way == "handle_cancel" or draw(st.booleans()),
        way=way,
        point=draw(st.integers(1, 14)),
        delay=draw(st.sampled_from([0.0, 0.0005, 0.002, 0.005])),
        timeouts=tuple(draw(st.lists(st.sampled_from([0.0001, 0.0005, 0.002]), min_size=1, max_size=4))),
    )


@dataclass
class Log:
    """What the run's ops did; cpu ops write from worker threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: dict = field(default_factory=dict)

    def add(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def __getitem__(self, what: str) -> int:
        with self.lock:
            return self.counts.get(what, 0)


def build(spec: Spec, log: Log) -> GraphOp:
    @op
    def sgen(n):
        log.add("gen_started")
        try:
            for i in range(n):
                yield {"i": i}
        finally:
            log.add("gen_closed")

    @op
    async def agen(n):
        log.add("gen_started")
        try:
            for i in range(n):
                await asyncio.sleep(0)
                yield {"i": i}
        finally:
            log.add("gen_closed")

    @op
    def sync_use(i):
        return {"j": i}

    @op
    async def async_use(i):
        log.add("task_started")
        try:
            await asyncio.sleep(0)
            return {"j": i}
        finally:
            log.add("task_ended")

    @op(bound="cpu")
    def cpu_use(i):
        log.add("job_started")
        log.add("job_ended")
        return {"j": i}

    with GraphOp(name="p") as g:
        src = (sgen if spec.source == "sync" else agen)(n=PARENT["n"])
        if spec.consumer is None:
            START >> src >> END
        else:
            use = {"sync": sync_use, "async": async_use, "cpu": cpu_use}[spec.consumer]
            item = src["i"].parallel() if spec.parallel else src["i"]
            u = use(i=item, name="u")
            START >> src >> u >> END
    return g


def expected_frames(spec: Spec) -> list:
    if spec.consumer is None:
        return [("src", ("main", f"[{i}]"), {"i": i}) for i in range(spec.n)]
    return [("u", ("main", f"[{i}]"), {"j": i}) for i in range(spec.n)]


async def leave(spec: Spec, engine: Operon, handle, received: list) -> str:
    """Iterates the run and leaves it the way `spec` says; returns how the iteration ended."""

    def frames():
        return handle if handle is not None else engine.start({"n": spec.n})

    async def iterate(on_frame=None) -> None:
        async for frame in frames():
            received.append(frame)
            if on_frame is not None:
                await on_frame(len(received))

    async def raise_at(k: int) -> None:
        if k == spec.point:
            raise Boom

    async def cancel_at(k: int) -> None:
        if k == spec.point:
            asyncio.current_task().cancel()
            await asyncio.sleep(0)

    async def cancel_handle_at(k: int) -> None:
        if k == spec.point:
            handle.cancel()

    async def pause(_: int) -> None:
        await asyncio.sleep(0)

    way = spec.way
    try:
        if way == "raise":
            await iterate(raise_at)
        elif way == "break":
            async for frame in frames():
                received.append(frame)
                if len(received) == spec.point:
                    return "left"
        elif way == "cancel_task":
            task = asyncio.ensure_future(iterate(cancel_at))
            await asyncio.wait({task})
            return "left" if task.cancelled() else "done"
        elif way == "wait_for":
            await asyncio.wait_for(iterate(pause), spec.delay)
        elif way == "timeout":
            async with asyncio.timeout(spec.delay):
                await iterate(pause)
        elif way == "task_group":
            await _with_failing_sibling(iterate(pause), spec.delay)
        elif way == "handle_cancel":
            await iterate(cancel_handle_at)
            return "cancelled" if len(received) >= spec.point else "done"
        else:
            await _with_timeouts(frames().__aiter__(), spec.timeouts, received)
    except (Boom, TimeoutError):
        return "left"
    return "done"


async def _with_failing_sibling(work, delay: float) -> None:
    async def sibling() -> None:
        await asyncio.sleep(delay)
        raise Boom

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(work)
            tg.create_task(sibling())
    except* Boom:
        raise Boom from None


async def _with_timeouts(it, timeouts: tuple[float, ...], received: list) -> None:
    k = 0
    while True:
        try:
            received.append(await asyncio.wait_for(it.__anext__(), timeouts[k % len(timeouts)]))
        except TimeoutError:
            k += 1
        except StopAsyncIteration:
            return


def check_frames(spec: Spec, received: list, complete: bool) -> None:
    expected = expected_frames(spec)
    keys = [repr(tuple(f)) for f in received]  # frames are named tuples, the expected ones plain
    assert len(set(keys)) == len(keys), f"a frame came twice: {received}"
    if spec.parallel:
        assert set(keys) <= {repr(tuple(f)) for f in expected}, received
        if complete:
            assert len(received) == len(expected), (received, expected)
    elif complete:
        assert received == expected
    else:
        assert received == expected[: len(received)], f"lost or out of order: {received}"


async def finish(log: Log, before: set) -> None:
    """Waits (boundedly) for what the run left to settle, then checks it left nothing."""
    current = asyncio.current_task()
    for _ in range(400):
        await asyncio.sleep(0.0005 if _ > 20 else 0)
        pending = {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}
        settled = log["job_started"] == log["job_ended"] and log["gen_started"] == log["gen_closed"]
        if not pending and settled and log["task_started"] == log["task_ended"]:
            break
    assert not pending, f"tasks left: {pending}"
    assert log["gen_started"] == log["gen_closed"], "a generator of the run was never closed"
    assert log["task_started"] == log["task_ended"]
    assert log["job_started"] == log["job_ended"]
    jobs = log["job_started"]
    await asyncio.sleep(0.002)
    assert log["job_started"] == jobs, "a cpu job of the run started after the run was over"


async def example(spec: Spec) -> None:
    before = asyncio.all_tasks()
    log = Log()
    engine = Operon(build(spec, log))
    handle = engine.start({"n": spec.n}) if spec.named else None
    received: list = []
    how = await leave(spec, engine, handle, received)
    event(f"{spec.way}: {how}")
    check_frames(spec, received, complete=how == "done")
    if handle is not None:
        # Iterated again, a named handle goes on where it was left: together, every frame of the
        # run (only what had arrived, after a cancel).
        rest = await asyncio.wait_for(_drain(handle), T)
        check_frames(spec, received + rest, complete=not handle.cancelled)
    del handle  # the last reference: a run still going is cancelled now
    await finish(log, before)


async def _drain(handle) -> list:
    return [frame async for frame in handle]


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs())
def test_leaving_async_for_anywhere_keeps_every_frame_and_leaves_nothing(spec):
    asyncio.run(asyncio.wait_for(example(spec), 20))
