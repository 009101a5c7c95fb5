"""Fixtures of loops: root loops, `until` of several forms, max_iterations, nested loops and loops in
loops. Frames of every iteration stream, tagged `loop_i`; the result is the last iteration's."""

from __future__ import annotations

from operonx import END, PARENT, START, GraphOp
from operonx.core.ops import if_

from conformance.fixture import accum, add, case, echo, fixture, frame, inc, scale, step


def counter(until, max_iterations: int = 10) -> GraphOp:
    """A root loop over n (0 at first): a = step(n) -> n + 1, wired to END."""
    with GraphOp.loop(name="lp", until=until, max_iterations=max_iterations, n=0) as g:
        s = step(n=PARENT["n"])
        START >> s >> END
    return g


def steps(values: list[int]) -> list[dict]:
    return [frame("s", f"loop_{i}", n=v) for i, v in enumerate(values)]


@case
def root_loop_until():
    """A root loop stops when `until` holds after an iteration: every iteration's frame streams, the
    result is the last iteration's outputs."""
    return fixture(counter("n >= 3"), frames=steps([1, 2, 3]), result={"n": 3})


@case
def root_loop_run_inputs_override():
    """Run inputs override the loop's initial values; the body runs at least once."""
    return fixture(counter("n >= 3"), inputs={"n": 2}, frames=steps([3]), result={"n": 3})


@case
def root_loop_max_iterations():
    """A loop whose `until` never holds stops after max_iterations, normally."""
    return fixture(counter("n >= 100", max_iterations=4), frames=steps([1, 2, 3, 4]), result={"n": 4})


@case
def root_loop_without_until():
    """No `until`: the loop runs max_iterations times."""
    return fixture(counter(None, max_iterations=3), frames=steps([1, 2, 3]), result={"n": 3})


def accumulator(until: str) -> GraphOp:
    """A root loop over n (0) and acc (unset): each iteration appends n to acc and adds one to n."""
    with GraphOp.loop(name="lp", until=until, max_iterations=10, n=0) as g:
        a = accum(n=PARENT["n"], acc=PARENT["acc"])
        START >> a >> END
    return g


def accumulated(iterations: int) -> dict:
    frames = [frame("a", f"loop_{i}", n=i + 1, acc=list(range(i + 1))) for i in range(iterations)]
    return {"frames": frames, "result": {"n": iterations, "acc": list(range(iterations))}}


@case
def until_and_with_index():
    """`until` with `and` and a negative index into a list variable set by the body."""
    return fixture(accumulator("n >= 2 and acc[-1] >= 1"), **accumulated(2))


@case
def until_not():
    """`until` with `not`."""
    return fixture(accumulator("not n < 4"), **accumulated(4))


@case
def until_arithmetic_or():
    """`until` with arithmetic and `or`."""
    return fixture(accumulator("n * 2 - 1 > 6 or n == 99"), **accumulated(4))


@case
def until_chained_comparison_modulo():
    """`until` with a chained comparison and a modulo."""
    return fixture(accumulator("0 < n <= 3 and n % 3 == 0"), **accumulated(3))


@case
def until_is_not_none():
    """`until` with `is not None`."""
    return fixture(accumulator("acc is not None and n == 2"), **accumulated(2))


@case
def until_or_index_compare():
    """`until` with `or` whose right side indexes a list (`acc[0] != 0` never holds)."""
    return fixture(accumulator("n >= 5 or acc[0] != 0"), **accumulated(5))


@case
def root_loop_mapped_outputs():
    """A body of two ops with outputs mapped to PARENT: both emit a frame per iteration and feed the
    next one; ops run in order within each iteration."""
    with GraphOp.loop(name="lp", until="n >= 2", n=0) as g:
        f = scale(x=PARENT["n"], k=10)
        s = step(n=PARENT["n"])
        START >> f >> s
        f["y"] >> PARENT["m"]
        s["n"] >> PARENT["n"]
    frames = [frame("f", "loop_0", m=0), frame("s", "loop_0", n=1), frame("f", "loop_1", m=10),
              frame("s", "loop_1", n=2)]
    return fixture(g, frames=frames, result={"m": 10, "n": 2})


@case
def root_loop_branch_in_body():
    """A branch in the body chooses anew in each iteration."""
    with GraphOp.loop(name="lp", until="n >= 30", n=0) as g:
        router = if_(PARENT["n"] < 3, "s").else_("b")
        s = step(n=PARENT["n"])
        b = add(a=PARENT["n"], b=10, outputs={"y": PARENT["n"]})
        START >> router >> [s, b]
        [s, b] >> END
    frames = [frame("s", "loop_0", n=1), frame("s", "loop_1", n=2), frame("s", "loop_2", n=3),
              frame("b", "loop_3", n=13), frame("b", "loop_4", n=23), frame("b", "loop_5", n=33)]
    return fixture(g, frames=frames, result={"n": 33})


def outer_with_loop(max_iterations: int = 10) -> GraphOp:
    """d = 2x; loop lp over n = d until n >= 3; after = 2 * lp's n. lp and after are wired to END."""
    with GraphOp(name="outer") as g:
        d = scale(x=PARENT["x"], k=2)
        with GraphOp.loop(name="lp", until="n >= 3", max_iterations=max_iterations, n=d["y"]) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        after = scale(x=lp["n"], k=2)
        START >> d >> lp >> after >> END
        lp >> END
    return g


@case
def nested_loop():
    """A loop node emits a frame per iteration in its iteration's context; only the last counts in the
    result, and the outer graph reads the last iteration's outputs."""
    frames = [frame("lp", f"loop_{i}", n=n) for i, n in enumerate([-1, 0, 1, 2, 3])] + [frame("after", y=6)]
    return fixture(outer_with_loop(), inputs={"x": -1}, frames=frames, result={"n": 3, "y": 6})


@case
def nested_loop_max_iterations():
    """max_iterations holds for a loop node too."""
    frames = [frame("lp", f"loop_{i}", n=n) for i, n in enumerate([-99, -98, -97])] + [frame("after", y=-194)]
    return fixture(outer_with_loop(max_iterations=3), inputs={"x": -50}, frames=frames,
                   result={"n": -97, "y": -194})


@case
def loop_inside_loop():
    """A loop node inside a root loop: each outer iteration runs the inner loop to its cap; inner frames
    carry both iterations; the result is the last outer iteration's last inner one."""
    with GraphOp.loop(name="outer", until="n >= 1000", max_iterations=3, n=0) as g:
        s = step(n=PARENT["n"])
        with GraphOp.loop(name="inner", until=None, max_iterations=5, n=s["n"]) as inner:
            t = step(n=PARENT["n"])
            START >> t >> END
        START >> s >> inner >> END
    frames = [frame("inner", f"loop_{i}", f"loop_{j}", n=6 * i + 2 + j) for i in range(3) for j in range(5)]
    return fixture(g, frames=frames, result={"n": 18})


@case
def loop_inside_nested_graph():
    """A loop inside a nested graph: only the nested graph emits a frame, with the loop's last outputs."""
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"start": PARENT["x"]}) as sub:
            with GraphOp.loop(name="lp", until="n >= 5", n=PARENT["start"]) as lp:
                s = step(n=PARENT["n"])
                START >> s >> END
            START >> lp >> END
        START >> sub >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("sub", n=5)], result={"n": 5})


def routed_loop() -> GraphOp:
    """A branch runs loop lp (x > 0, then a = lp's n + 1) or o."""
    with GraphOp(name="g") as g:
        router = if_(PARENT["x"] > 0, "lp").else_("o")
        with GraphOp.loop(name="lp", until="n >= 3", n=0) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        o = echo(v=PARENT["x"])
        a = inc(x=lp["n"])
        START >> router >> [lp, o]
        lp >> a >> END
        o >> END
    return g


@case
def loop_taken_by_branch():
    """A loop chosen by a branch runs to its end and feeds its successor."""
    return fixture(routed_loop(), inputs={"x": 1}, frames=[frame("a", y=4)], result={"y": 4})


@case
def loop_not_taken_by_branch():
    """A loop not chosen by a branch is skipped with its successors."""
    return fixture(routed_loop(), inputs={"x": -1}, frames=[frame("o", v=-1)], result={"v": -1})


@case
def root_loop_reads_run_input():
    """A run input that is not an initial value stays an input of every iteration, though the body never
    forwards it."""
    with GraphOp.loop(name="lp", until="n >= 12", n=0) as g:
        a = add(a=PARENT["n"], b=PARENT["by"], outputs={"y": PARENT["n"]})
        START >> a >> END
    frames = [frame("a", f"loop_{i}", n=5 * (i + 1)) for i in range(3)]
    return fixture(g, inputs={"by": 5}, frames=frames, result={"n": 15})


@case
def nested_loop_reads_input():
    """A loop node's input that its body reads but does not forward keeps its value in every iteration."""
    with GraphOp(name="g") as g:
        with GraphOp.loop(name="lp", until="n >= 5", n=0, by=PARENT["x"]) as lp:
            a = add(a=PARENT["n"], b=PARENT["by"], outputs={"y": PARENT["n"]})
            START >> a >> END
        after = inc(x=lp["n"])
        START >> lp >> after >> END
    return fixture(g, inputs={"x": 2}, frames=[frame("after", y=7)], result={"y": 7})
