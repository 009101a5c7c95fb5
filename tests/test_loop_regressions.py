"""Loop regressions, most found by the property tests: soft joins per iteration and per item, parallel
items with their own loop variables, ops that never run inside a loop or a nested graph."""

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.core.ops import if_
from operonx.errors import GraphValidationError

from loop_helpers import counter, double, outer_graph, outputs, step

pytestmark = pytest.mark.timeout(30)


async def test_a_soft_join_fires_once_per_iteration():
    # Found by the property test: a soft join outside the root context ran once per soft predecessor.
    runs = []

    @op
    def join(n: int):
        runs.append(n)
        return {"n": n + 1}

    with GraphOp.loop(name="lp", until=None, max_iterations=3, n=0) as g:
        a = step(n=PARENT["n"])
        b = step(n=PARENT["n"])
        j = join(n=PARENT["n"])
        START >> [a, b]
        [a, b] > j
        j >> END
    assert outputs(await Operon(g).run({})) == {"n": 3}
    assert runs == [0, 1, 2]


async def test_a_soft_join_fires_once_per_item():
    runs = []

    @op
    def items():
        yield {"i": 1}
        yield {"i": 2}

    @op
    def join(i: int):
        runs.append(i)
        return {"j": i}

    with GraphOp(name="g") as g:
        gen = items()
        a = step(n=gen["i"])
        b = step(n=gen["i"])
        j = join(i=gen["i"])
        START >> gen >> [a, b]
        [a, b] > j
        j >> END
    await Operon(g).run({})
    assert runs == [1, 2]


def test_the_input_schema_of_a_root_loop_gives_initial_values_as_defaults():
    schema = Operon(counter()).input_schema()
    assert schema["properties"]["count"] == {"default": 0}
    assert "count" not in schema["required"]


async def test_loops_of_parallel_items_with_async_bodies_keep_their_own_variables():
    @op
    def starts():
        for s in range(6):
            yield {"s": s * 100}

    @op
    async def slow_step(n: int, s: int):
        # items interleave: later items sleep less, so their iterations overtake earlier ones
        await asyncio.sleep(0.0005 * (6 - s // 100))
        return {"n": n + 1, "first": s}

    with GraphOp(name="g") as g:
        gen = starts()
        with GraphOp.loop(name="lp", until="n >= first + 3", n=gen["s"].parallel(), s=gen["s"].parallel()) as lp:
            st = slow_step(n=PARENT["n"], s=PARENT["s"])
            START >> st >> END
        START >> gen >> lp >> END
    handle = Operon(g).start({})
    frames = [f async for f in handle]
    last = {}
    for name, ctx, data in frames:
        assert name == "lp" and ctx[2].startswith("loop_")
        last[ctx[1]] = data
    assert {item: (d["n"], d["first"]) for item, d in last.items()} == {
        f"[{i}]": (i * 100 + 3, i * 100) for i in range(6)
    }
    assert len(frames) == 18
    result = await Operon(g).run({})
    assert sorted(result["n"]) == [i * 100 + 3 for i in range(6)]
    assert result["$state"].loops["g.lp"] == {"runs": 6, "iterations": 18, "max_iterations": 100, "reached_max": 0}


async def test_the_state_reads_a_loop_and_a_nested_graph_by_name():
    result = await Operon(outer_graph()).run({"x": -2})
    state = result["$state"]
    assert state["outer.lp", "count"] == 3  # the loop's last outputs
    assert state["outer.lp.a", "count"] == 3  # the body op's last run
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"v": PARENT["x"]}) as sub:
            a = double(x=PARENT["v"])
            START >> a >> END
        START >> sub >> END
    state = (await Operon(g).run({"x": 4}))["$state"]
    assert (state["g.sub", "y"], state["g.sub", "v"]) == (8, 4)  # outputs first, then inputs


async def test_an_op_after_a_skipped_hard_predecessor_and_a_dead_soft_group_is_skipped_once():
    # Found by the property test once root graphs could loop: in a loop iteration (any context but the
    # root), a soft predecessor's skip was counted twice when a hard predecessor had already been
    # skipped, and the engine failed with an internal error.
    runs = []

    @op
    def j(n: int):
        runs.append(n)
        return {"j": n}

    with GraphOp.loop(name="lp", until=None, max_iterations=2, n=0) as g:
        r = if_(PARENT["n"] == 99, "a").if_(PARENT["n"] == 98, "b").if_(PARENT["n"] == 97, "c").build(name="r")
        a = step(n=PARENT["n"], name="a")
        b = step(n=PARENT["n"], name="b")
        c = step(n=PARENT["n"], name="c")
        last = j(n=PARENT["n"], name="last")
        START >> r >> [c, b, a]  # skips settle last-in first: a (hard), then b, then c
        a >> last
        [b, c] > last
        last >> END
    result = await Operon(g).run({}, errors="continue")
    assert runs == [] and result["$errors"] == []


async def test_every_run_input_is_a_variable_of_a_root_loop():
    seen = []

    def done(variables):
        seen.append(sorted(variables))
        return variables["count"] >= variables["limit"]

    result = await Operon(counter(until=done)).run({"limit": 2, "unused": "x"})
    assert outputs(result)["count"] == 2
    assert seen[0] == ["acc", "count", "limit", "unused"]
    result = await Operon(counter(until="count >= limit")).run({"limit": 4})
    assert outputs(result)["count"] == 4


def unreached(g):
    """The ops no path from START reaches in ``g``, as the engine names them when it refuses ``g``."""
    with pytest.raises(GraphValidationError) as info:
        Operon(g)
    return [e.op_name for e in info.value.result.errors if e.category == "unreachable"]


def never_runs(wired, items=None):
    """An op that never runs: when ``wired``, behind a disabled op (fed by START, or per item of the
    generator ``items``), else wired from nothing at all (which the engine refuses)."""
    orphan = step(n=PARENT["n"], name="orphan")
    if wired:
        off = step(n=PARENT["n"] if items is None else items["i"], name="off")
        off.enabled = False
        (START if items is None else items) >> off >> orphan
    return orphan


@pytest.mark.parametrize("wired", [False, True])
async def test_an_op_that_never_runs_does_not_hold_back_its_soft_successor_in_any_context(wired):
    # Found by running the flat property test's graphs inside a loop: an op that no entry reaches
    # was placed in the root context, which made its soft successor wait for it there forever. Such an op
    # is now refused when the engine is built; one skipped at run time (behind a disabled op, in the
    # same context) still does not hold its soft successor back, in a loop's iterations or in a stream's
    # items.
    runs = []

    @op
    def join(n: int):
        runs.append(n)
        return {"n": n + 1}

    @op
    def items():
        yield {"i": 10}
        yield {"i": 20}

    with GraphOp.loop(name="lp", until=None, max_iterations=2, n=0) as g:
        a = step(n=PARENT["n"], name="a")
        orphan = never_runs(wired)
        j = join(n=PARENT["n"], name="j")
        START >> a
        a >> ~j
        orphan >> ~j
        j >> END
    if not wired:
        assert unreached(g) == ["orphan"]
    else:
        assert outputs(await Operon(g).run({})) == {"n": 2}
        assert runs == [0, 1]

    runs.clear()
    with GraphOp(name="s") as s:
        gen = items()
        a = step(n=gen["i"], name="a")
        orphan = never_runs(wired, items=gen)
        j = join(n=gen["i"], name="j")
        START >> gen >> a
        a >> ~j
        orphan >> ~j
        j >> END
    if not wired:
        assert unreached(s) == ["orphan"]
    else:
        assert sorted(outputs(await Operon(s).run({}))["n"]) == [11, 21]
        assert runs == [10, 20]


@pytest.mark.parametrize("wired", [False, True])
async def test_an_iteration_ends_when_what_can_run_has_run(wired):
    # `s` waits for `a` and for an op that never runs, so it can never run: the iteration still ends, and
    # so does a nested graph holding such an op (as a run ends when nothing more can run). An op that
    # never runs because nothing wires it is refused when the engine is built, in a loop and in a nested
    # graph; one behind a disabled op is skipped, and so is `s`.
    @op
    def stuck(n: int):
        raise AssertionError("never runs")

    with GraphOp.loop(name="lp", until=None, max_iterations=3, n=0) as g:
        a = step(n=PARENT["n"], name="a")
        orphan = never_runs(wired)
        s = stuck(n=PARENT["n"], name="s")
        START >> a
        [a, orphan] >> s
        a >> END
    if not wired:
        assert unreached(g) == ["orphan"]
    else:
        result = await Operon(g).run({})
        assert outputs(result) == {"n": 3}
        assert result["$state"].loops["lp"]["iterations"] == 3

    with GraphOp(name="outer") as outer:
        with GraphOp(name="sub", inputs={"n": PARENT["n"]}) as sub:
            a = step(n=PARENT["n"], name="a")
            orphan = never_runs(wired)
            s = stuck(n=PARENT["n"], name="s")
            START >> a
            [a, orphan] >> s
            a >> END
        after = double(x=sub["n"], name="after")
        START >> sub >> after >> END
    if not wired:
        assert unreached(outer) == ["orphan"]
    else:
        assert outputs(await Operon(outer).run({"n": 1})) == {"y": 4}
