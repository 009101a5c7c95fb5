"""Random graphs (a generator, a chain of sync / async ops and generators, an optional batch op, maybe
inside a loop) cancelled at random points: every generator and async op that started also finished, no
task is left pending, and nothing arrives after the cancel."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from operonx import END, START, GraphOp, Operon, op
from operonx.errors import RunCancelled

from cancel_helpers import T, leftover, settle

pytestmark = pytest.mark.timeout(30)


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


def random_ops(rec):
    """The ops of a random graph; each generator and async op adds a token to ``rec`` when it starts and
    when it finishes."""

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

    return sgen, agen, sstep, astep, subgen, asubgen, base


def build_random(spec, rec):
    """Generator -> chain of sync/async ops (the first one reads the items with the policy)."""
    sgen, agen, sstep, astep, subgen, asubgen, base = random_ops(rec)
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
