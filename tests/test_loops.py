"""Loops: GraphOp.loop and @graph(until=...), run on the engine.

The deviations from operonx 0.7.1 checked here: run() returns the last iteration's outputs; the
frames of every iteration stream, tagged with their loop context; max_iterations holds at every
nesting level and a loop that reaches it ends normally and says so in the run's state; a
@graph(until=...) node takes the name it is given.
"""

import asyncio
import json

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, graph, op
from operonx.core.ops import if_
from operonx.errors import GraphError, GraphTypeError, GraphValidationError, OpError, RunCancelled

pytestmark = pytest.mark.timeout(30)


@op
def inc(count: int, acc: list = None):
    return {"count": count + 1, "acc": (acc or []) + [count]}


@op
def double(x: int):
    return {"y": x * 2}


@op
def step(n: int):
    return {"n": n + 1}


def counter(until="count >= 3", max_iterations=10, **initial):
    initial.setdefault("count", 0)
    with GraphOp.loop(name="lp", until=until, max_iterations=max_iterations, **initial) as g:
        a = inc(count=PARENT["count"], acc=PARENT["acc"])
        START >> a >> END
    return g


def outputs(result):
    return {k: v for k, v in result.items() if not k.startswith("$")}


async def frames_of(engine, inputs=None):
    return [f async for f in engine.start(inputs or {})]


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


def outer_graph(max_iterations=10, wired=True):
    with GraphOp(name="outer") as g:
        d = double(x=PARENT["x"])
        with GraphOp.loop(name="lp", until=lambda v: v["count"] >= 3, max_iterations=max_iterations, count=d["y"]) as lp:
            a = inc(count=PARENT["count"])
            a["count"] >> PARENT["count"]
            START >> a
        after = double(x=lp["count"])
        START >> d >> lp >> after >> END
        if wired:
            lp >> END
    return g


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


# -- control flow and streams inside loops ---------------------------------------------------------


async def test_a_branch_inside_the_body_chooses_each_iteration():
    @op
    def small(n: int):
        return {"n": n + 1, "path": "small"}

    @op
    def big(n: int):
        return {"n": n + 10, "path": "big"}

    with GraphOp.loop(name="lp", until="n >= 30", n=0) as g:
        router = if_(PARENT["n"] < 3, "s").else_("b")
        s = small(n=PARENT["n"])
        b = big(n=PARENT["n"])
        START >> router >> [s, b]
        [s, b] >> END
    frames = await frames_of(Operon(g))
    assert [f[2]["path"] for f in frames if f[0] in ("s", "b")] == ["small"] * 3 + ["big"] * 3
    result = await Operon(g).run({})
    assert outputs(result) == {"n": 33, "path": "big"}


async def test_a_loop_not_taken_by_a_branch_is_skipped_with_its_successors():
    ran = []

    @op
    def after(n: int):
        ran.append(n)
        return {"after": n}

    @op
    def other(x: int):
        return {"other": x}

    with GraphOp(name="g") as g:
        router = if_(PARENT["x"] > 0, "lp").else_("o")
        with GraphOp.loop(name="lp", until="n >= 3", n=0) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        o = other(x=PARENT["x"])
        a = after(n=lp["n"])
        START >> router >> [lp, o]
        lp >> a >> END
        o >> END
    assert outputs(await Operon(g).run({"x": -1})) == {"other": -1}
    assert ran == []
    assert outputs(await Operon(g).run({"x": 1})) == {"after": 3}


async def test_a_generator_and_a_collect_inside_the_body():
    @op
    def spread(n: int):
        for i in range(n + 1):
            yield {"item": i}

    @op
    def total(items: list, n: int):
        return {"n": n + 1, "total": sum(items)}

    with GraphOp.loop(name="lp", until="n >= 3", n=0) as g:
        gen = spread(n=PARENT["n"])
        t = total(items=gen["item"].collect(), n=PARENT["n"])
        START >> gen >> t >> END
    result = await Operon(g).run({})
    assert outputs(result) == {"n": 3, "total": 3}
    frames = await frames_of(Operon(g))
    assert [f[1] for f in frames] == [("main", f"loop_{i}", "__collect__") for i in range(3)]


async def test_items_of_an_async_generator_stream_out_of_each_iteration():
    @op
    async def tokens(n: int):
        for i in range(2):
            await asyncio.sleep(0)
            yield {"tok": f"{n}.{i}"}

    @op
    def bump(tok: str, n: int):
        return {"seen": tok}

    with GraphOp.loop(name="lp", until=None, max_iterations=2, n=0) as g:
        t = tokens(n=PARENT["n"])
        b = bump(tok=t["tok"], n=PARENT["n"])
        START >> t >> b >> END
    frames = await frames_of(Operon(g))
    assert [(f[1], f[2]["seen"]) for f in frames] == [
        (("main", "loop_0", "[0]"), "0.0"),
        (("main", "loop_0", "[1]"), "0.1"),
        (("main", "loop_1", "[0]"), "0.0"),
        (("main", "loop_1", "[1]"), "0.1"),
    ]


async def test_a_loop_runs_once_per_item_of_a_stream():
    @op
    def starts():
        for s in (0, 5):
            yield {"s": s}

    with GraphOp(name="g") as g:
        gen = starts()
        with GraphOp.loop(name="lp", until="n % 3 == 0", n=gen["s"]) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        START >> gen >> lp >> END
    frames = await frames_of(Operon(g))
    finals = {f[1][:2]: f[2]["n"] for f in frames}
    assert finals == {("main", "[0]"): 3, ("main", "[1]"): 6}
    result = await Operon(g).run({})
    assert sorted(outputs(result)["n"]) == [3, 6]
    assert result["$state"].loops["g.lp"]["runs"] == 2


async def test_async_ops_in_the_body():
    @op
    async def slow_step(n: int):
        await asyncio.sleep(0.001)
        return {"n": n + 1}

    with GraphOp.loop(name="lp", until="n >= 5", n=0) as g:
        s = slow_step(n=PARENT["n"])
        START >> s >> END
    assert outputs(await Operon(g).run({})) == {"n": 5}


async def test_cancelling_a_running_loop_completes_the_handle():
    started = asyncio.Event()

    @op
    async def forever(n: int):
        started.set()
        await asyncio.sleep(0.01)
        return {"n": n + 1}

    with GraphOp.loop(name="lp", until=None, max_iterations=10_000, n=0) as g:
        s = forever(n=PARENT["n"])
        START >> s >> END
    handle = Operon(g).start({})
    got = []

    async def consume():
        async for f in handle:
            got.append(f)
            if len(got) == 2:
                handle.cancel()

    await asyncio.wait_for(consume(), 5)
    assert len(got) == 2
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), 5)


# -- errors ---------------------------------------------------------------------------------------


async def test_an_until_over_an_unknown_name_fails_naming_the_loop_and_the_name():
    with pytest.raises(OpError) as info:
        await Operon(counter(until="cnt >= 3")).run({})
    message = str(info.value)
    assert "'lp'" in message and "'cnt'" in message and "loop_0" in message


async def test_an_until_that_raises_fails_the_run_with_the_cause():
    def boom(variables):
        raise ValueError("no verdict")

    with pytest.raises(OpError, match="until") as info:
        await Operon(counter(until=boom)).run({})
    assert isinstance(info.value.__cause__, ValueError)


async def test_with_errors_continue_a_failed_until_skips_the_loop_and_its_successors():
    with GraphOp(name="g") as g:
        with GraphOp.loop(name="lp", until="missing > 1", n=0) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        after = double(x=lp["n"])
        other = double(x=PARENT["x"])
        START >> [lp, other]
        lp >> after >> END
        other >> END
    result = await Operon(g).run({"x": 2}, errors="continue")
    assert outputs(result) == {"y": 4}
    assert len(result["$errors"]) == 1 and "missing" in str(result["$errors"][0])


async def test_an_op_that_raises_inside_the_body_names_its_iteration():
    @op
    def fragile(n: int):
        if n == 2:
            raise RuntimeError("two")
        return {"n": n + 1}

    with GraphOp.loop(name="lp", until="n >= 5", n=0) as g:
        s = fragile(n=PARENT["n"])
        START >> s >> END
    handle = Operon(g).start({})
    got = []

    async def consume():
        async for f in handle:
            got.append(f[1])

    with pytest.raises(OpError, match="loop_2"):
        await asyncio.wait_for(consume(), 5)
    # what was produced before the failure came through
    assert got == [("main", "loop_0"), ("main", "loop_1")]


def test_an_until_the_engine_cannot_read_is_refused_when_the_loop_is_made():
    with pytest.raises(GraphError, match=r"loop 'lp': until='count in \[1, 2\]' cannot be read: 'in'"):
        counter(until="count in [1, 2]")


def test_a_document_whose_until_the_engine_cannot_read_is_a_validation_error_at_build():
    from operonx import _core
    from operonx.document import engine_document

    text, hosts = engine_document(counter())
    doc = json.loads(text)
    doc["loop"]["until"] = "count in [1, 2]"
    with pytest.raises(GraphValidationError, match="until"):
        _core.Engine(json.dumps(doc), hosts)


@pytest.mark.parametrize("until", ["count >=", "count ==== 1"])
def test_an_until_that_is_not_an_expression_is_refused_when_the_loop_is_made(until):
    with pytest.raises(GraphError, match="until"):
        counter(until=until)


@pytest.mark.parametrize("max_iterations", [0, -1, 2.5, "3", True, None])
def test_max_iterations_must_be_a_positive_int(max_iterations):
    with pytest.raises(GraphError, match="max_iterations"):
        counter(max_iterations=max_iterations)


def test_until_must_be_text_a_callable_or_none():
    with pytest.raises(GraphTypeError, match="until"):
        counter(until=3)


# -- @graph -----------------------------------------------------------------------------------------


@graph
def counting(count):
    a = step(n=count)
    a["n"] >> PARENT["count"]
    START >> a


async def test_graph_with_until_is_a_loop_node_with_the_given_name():
    with GraphOp(name="g") as g:
        d = double(x=PARENT["x"])
        c = counting(count=d["y"], until="count >= 7", max_iterations=5, name="tally")
        START >> d >> c >> END
    assert c.name == "tally" and c.is_loop and c.max_iterations == 5
    result = await Operon(g).run({"x": 2})
    assert outputs(result) == {"count": 7}
    assert "g.tally" in result["$state"].loops


async def test_a_root_graph_loop_from_a_factory():
    g = counting(count=None, until="count >= 3")
    assert g.is_loop and g.max_iterations == 100
    assert outputs(await Operon(g).run({"count": 0})) == {"count": 3}


async def test_a_decorator_until_makes_every_graph_a_loop():
    @graph(until="count >= 2", max_iterations=50)
    def twice(count):
        a = step(n=count)
        a["n"] >> PARENT["count"]
        START >> a

    g = twice(count=0)
    assert g.until == "count >= 2" and g.max_iterations == 50
    assert outputs(await Operon(g).run({})) == {"count": 2}

    @graph(name="named_loop", until="count >= 2")
    def named(count):
        a = step(n=count)
        a["n"] >> PARENT["count"]
        START >> a

    with GraphOp(name="outer") as outer:
        node = named(count=PARENT["c"])
        START >> node >> END
    assert node.name == "named_loop" and node.full_name == "outer.named_loop"
    result = await Operon(outer).run({"c": 0})
    assert outputs(result) == {"count": 2} and "outer.named_loop" in result["$state"].loops


async def test_max_iterations_text_is_computed_from_the_arguments_and_parameters_see_it():
    seen = {}

    @graph
    def retry(count, retries, until=None, max_iterations=7):
        seen["until"] = until
        seen["max"] = max_iterations
        a = step(n=count)
        a["n"] >> PARENT["count"]
        START >> a

    g = retry(count=0, retries=2, until="count >= 100", max_iterations="retries + 1")
    assert g.max_iterations == 3
    assert seen == {"until": "count >= 100", "max": "retries + 1"}
    assert outputs(await Operon(g).run({})) == {"count": 3}
    plain = retry(count=0, retries=2)
    assert not plain.is_loop
    assert retry(count=0, retries=2, until="count > 1").max_iterations == 7
    with pytest.raises(GraphError, match="max_iterations"):
        retry(count=0, retries=2, until="count > 1", max_iterations="nope + 1")


# -- documents --------------------------------------------------------------------------------------


def test_the_document_carries_the_loop():
    doc = counter().export_config()
    assert doc["loop"] == {"until": "count >= 3", "max_iterations": 10}
    assert doc["inputs"]["count"]["literal"] == 0
    nested = outer_graph().export_config()["ops"]["lp"]
    assert nested["loop"]["max_iterations"] == 10
    assert nested["loop"]["until"] == {"callable": "outer_graph.<locals>.<lambda>"}
    json.dumps(nested)


def test_a_document_with_a_callable_until_is_refused_by_an_engine_without_that_callable():
    from operonx import _core

    doc = json.dumps(outer_graph().export_config())
    with pytest.raises(GraphValidationError, match="until"):
        _core.Engine(doc, [])


# -- regressions -------------------------------------------------------------------------------------


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
