"""Loops: GraphOp.loop run on the engine, at the root and nested.

The deviations from operonx 0.7.1 checked here: run() returns the last iteration's outputs; the
frames of every iteration stream, tagged with their loop context; max_iterations holds at every
nesting level and a loop that reaches it ends normally and says so in the run's state.
Bodies with branches and streams: tests/test_loop_bodies.py; errors: tests/test_loop_errors.py;
@graph(until=...) and documents: tests/test_loop_authoring.py; regressions: tests/test_loop_regressions.py.
"""

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op

from loop_helpers import counter, frames_of, outer_graph, outputs, step

pytestmark = pytest.mark.timeout(30)


# -- root loops ------------------------------------------------------------------------------


async def test_a_root_loop_returns_the_last_iteration_and_streams_every_one():
    engine = Operon(counter())
    result = await engine.run({})
    assert outputs(result) == {"count": 3, "acc": [0, 1, 2]}
    frames = await frames_of(engine)
    assert frames == [
        ("a", ("main", "loop_0"), {"count": 1, "acc": [0]}),
        ("a", ("main", "loop_1"), {"count": 2, "acc": [0, 1]}),
        ("a", ("main", "loop_2"), {"count": 3, "acc": [0, 1, 2]}),
    ]
    assert result["$state"].loops == {"lp": {"runs": 1, "iterations": 3, "max_iterations": 10, "reached_max": 0}}


async def test_run_inputs_override_the_initial_values():
    result = await Operon(counter()).run({"count": 1})
    assert outputs(result) == {"count": 3, "acc": [1, 2]}


async def test_the_condition_is_checked_after_each_iteration_so_the_body_runs_at_least_once():
    result = await Operon(counter()).run({"count": 7})
    assert outputs(result) == {"count": 8, "acc": [7]}


async def test_a_loop_that_reaches_max_iterations_ends_normally_and_says_so():
    result = await Operon(counter(until="count >= 100", max_iterations=4)).run({})
    assert outputs(result)["count"] == 4
    assert result["$state"].loops["lp"] == {"runs": 1, "iterations": 4, "max_iterations": 4, "reached_max": 1}


async def test_without_a_condition_the_loop_runs_max_iterations_times():
    result = await Operon(counter(until=None, max_iterations=5)).run({})
    assert outputs(result)["count"] == 5


async def test_a_callable_until_receives_the_loop_variables():
    seen = []

    def done(variables):
        seen.append(dict(variables))
        return variables["count"] >= 2

    result = await Operon(counter(until=done)).run({})
    assert outputs(result)["count"] == 2
    assert seen == [{"count": 1, "acc": [0]}, {"count": 2, "acc": [0, 1]}]


@pytest.mark.parametrize(
    "until, stop",
    [
        ("count >= 2 and acc[-1] >= 1", 2),
        ("not count < 4", 4),
        ("count * 2 - 1 > 6 or count == 99", 4),
        ("0 < count <= 3 and count % 3 == 0", 3),
        ("acc is not None and count == 2", 2),
        ("count >= 5 or acc[0] != 0", 5),
    ],
)
async def test_until_expressions_follow_python(until, stop):
    result = await Operon(counter(until=until)).run({})
    assert outputs(result)["count"] == stop


async def test_outputs_mapped_to_parent_feed_the_next_iteration():
    with GraphOp.loop(name="lp", until="n >= 4", n=0) as g:
        s = step(n=PARENT["n"])
        s["n"] >> PARENT["n"]
        START >> s
    result = await Operon(g).run({})
    assert outputs(result) == {"n": 4}


async def test_a_body_with_several_ops_runs_in_order_each_iteration():
    log = []

    @op
    def first(n: int):
        log.append(("first", n))
        return {"m": n * 10}

    @op
    def second(m: int, n: int):
        log.append(("second", m))
        return {"n": n + 1, "m": m}

    with GraphOp.loop(name="lp", until="n >= 2", n=0) as g:
        f = first(n=PARENT["n"])
        s = second(m=f["m"], n=PARENT["n"])
        START >> f >> s >> END
    result = await Operon(g).run({})
    assert outputs(result) == {"n": 2, "m": 10}
    assert log == [("first", 0), ("second", 0), ("first", 1), ("second", 10)]


def test_a_loop_runs_from_sync_code_too():
    result = Operon(counter()).run_sync({})
    assert outputs(result)["count"] == 3


# -- nested loops -----------------------------------------------------------------------------


async def test_a_nested_loop_feeds_its_last_outputs_to_the_outer_graph():
    result = await Operon(outer_graph(wired=False)).run({"x": -2})
    assert outputs(result) == {"y": 6}


async def test_a_nested_loop_emits_one_frame_per_iteration_and_only_the_last_counts():
    engine = Operon(outer_graph())
    frames = await frames_of(engine, {"x": -2})
    lp = [f for f in frames if f[0] == "lp"]
    assert [f[1] for f in lp] == [("main", f"loop_{i}") for i in range(7)]
    assert [f[2]["count"] for f in lp] == [-3, -2, -1, 0, 1, 2, 3]
    result = await engine.run({"x": -2})
    assert outputs(result) == {"count": 3, "y": 6}


async def test_max_iterations_holds_in_a_nested_loop():
    result = await Operon(outer_graph(max_iterations=3)).run({"x": -50})
    assert outputs(result)["count"] == -97
    assert result["$state"].loops["outer.lp"]["reached_max"] == 1


async def test_max_iterations_holds_for_a_loop_inside_a_loop():
    with GraphOp.loop(name="outer", until="n >= 1000", max_iterations=3, n=0) as g:
        s = step(n=PARENT["n"])
        with GraphOp.loop(name="inner", until=None, max_iterations=5, n=s["n"]) as inner:
            t = step(n=PARENT["n"])
            START >> t >> END
        START >> s >> inner >> END
    result = await Operon(g).run({})
    # each outer iteration: +1, then the inner loop +5
    assert outputs(result)["n"] == 18
    loops = result["$state"].loops
    assert loops["outer.inner"] == {"runs": 3, "iterations": 15, "max_iterations": 5, "reached_max": 3}
    assert loops["outer"]["reached_max"] == 1
    frames = await frames_of(Operon(g))
    inner_contexts = [f[1] for f in frames if f[0] == "inner"]
    assert inner_contexts == [("main", f"loop_{i}", f"loop_{j}") for i in range(3) for j in range(5)]


async def test_a_loop_inside_a_nested_graph():
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"start": PARENT["x"]}) as sub:
            with GraphOp.loop(name="lp", until="n >= 5", n=PARENT["start"]) as lp:
                s = step(n=PARENT["n"])
                START >> s >> END
            START >> lp >> END
        START >> sub >> END
    result = await Operon(g).run({"x": 1})
    assert outputs(result) == {"n": 5}
