"""Fixtures of failures: an op that raises, a missing required input, a loop whose body or `until`
fails; with errors="raise" (the run fails, frames produced before stay readable) and
errors="continue" (failed ops' successors are skipped, soft joins still fire, errors are listed)."""

from __future__ import annotations

from operonx import END, PARENT, START, GraphOp
from operonx.core.ops import if_

from conformance.fixture import case, echo, err, fail, fail_at, fixture, frame, inc, scale, step


@case
def op_error_fails_the_run():
    """An op that raises fails the run, naming the op and its context; earlier frames were emitted."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = fail(x=a["y"])
        c = inc(x=a["y"])
        START >> a >> b >> c
        [a, c] >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("a", y=2)], error=err("OpFailed", "g.b"))


@case
def op_error_continue_skips_successors():
    """errors="continue": the failed op's successors are skipped, independent ops run, the error is
    listed."""
    with GraphOp(name="g") as g:
        a = fail(x=PARENT["x"])
        b = inc(x=PARENT["x"])
        c = scale(x=PARENT["x"])
        START >> [a, c]
        a >> b
        [b, c] >> END
    return fixture(g, inputs={"x": 1}, mode="continue", frames=[frame("c", y=10)], result={"y": 10},
                   errors=[err("OpFailed", "g.a")])


@case
def op_error_continue_soft_join_fires():
    """errors="continue": a soft join fires on its predecessor that finished, not on the failed one."""
    with GraphOp(name="g") as g:
        f = fail()
        a = inc(x=PARENT["x"])
        j = echo(v="joined")
        START >> [f, a]
        f >> ~j
        a >> ~j
        j >> END
    return fixture(g, inputs={"x": 1}, mode="continue", frames=[frame("j", v="joined")], result={"v": "joined"},
                   errors=[err("OpFailed", "g.f")])


@case
def op_error_continue_soft_join_all_failed():
    """errors="continue": a soft join whose every predecessor failed is skipped."""
    with GraphOp(name="g") as g:
        f1 = fail()
        f2 = fail()
        j = echo(v="joined")
        c = scale(x=PARENT["x"])
        START >> [f1, f2, c]
        [f1, f2] > j
        [j, c] >> END
    return fixture(g, inputs={"x": 1}, mode="continue", frames=[frame("c", y=10)], result={"y": 10},
                   errors=[err("OpFailed", "g.f1"), err("OpFailed", "g.f2")])


@case
def op_error_continue_in_branch():
    """errors="continue": the chosen target fails; its successor is skipped, and a soft join of the
    targets is skipped too (the other target was not chosen)."""
    with GraphOp(name="g") as g:
        router = if_(PARENT["x"] > 0, "bad").else_("good")
        bad = fail(x=PARENT["x"])
        good = echo(v="good")
        after = echo(v="after")
        joined = echo(v="joined")
        START >> router >> [bad, good]
        bad >> after
        bad >> ~joined
        good >> ~joined
        [after, good, joined] >> END
        router["target"] >> PARENT["t"]
    return fixture(g, inputs={"x": 1}, mode="continue", frames=[frame("router", t="bad")], result={"t": "bad"},
                   errors=[err("OpFailed", "g.bad")])


@case
def op_error_in_nested_graph():
    """An op failing inside a nested graph fails the run, named by its full name."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        with GraphOp(name="sub", inputs={"v": a["y"]}) as sub:
            p = fail(x=PARENT["v"])
            START >> p >> END
        START >> a >> sub >> END
        a >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("a", y=2)], error=err("OpFailed", "g.sub.p"))


@case
def op_error_continue_in_nested_graph():
    """errors="continue": a nested graph whose inner op failed still ends, with what its other ops
    forwarded, and its successors run."""
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"v": PARENT["x"]}) as sub:
            p = fail(x=PARENT["v"])
            q = inc(x=PARENT["v"])
            START >> [p, q]
            [p, q] >> END
        after = inc(x=sub["y"])
        START >> sub >> after
        [sub, after] >> END
    return fixture(g, inputs={"x": 1}, mode="continue", frames=[frame("sub", y=2), frame("after", y=3)],
                   result={"y": [2, 3]}, errors=[err("OpFailed", "g.sub.p")])


@case
def missing_input_fails_the_run():
    """A required input with no value fails the run before the op runs, naming the op."""
    with GraphOp(name="g") as g:
        b = scale(x=PARENT["k"])
        a = inc(x=PARENT["x"])
        START >> [b, a]
        [b, a] >> END
    return fixture(g, inputs={"k": 2}, frames=[frame("b", y=20)], error=err("MissingInput", "g.a"))


@case
def missing_input_none_counts_as_absent():
    """A required input whose value is None has no value."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        START >> a >> END
    return fixture(g, inputs={"x": None}, error=err("MissingInput", "g.a"))


@case
def missing_input_continue():
    """errors="continue": an op missing an input is listed and its successors are skipped."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        c = scale(x=PARENT["k"])
        START >> [a, c]
        a >> b
        [b, c] >> END
    return fixture(g, inputs={"k": 2}, mode="continue", frames=[frame("c", y=20)], result={"y": 20},
                   errors=[err("MissingInput", "g.a")])


@case
def missing_input_in_loop():
    """A missing input inside a loop body is named with the iteration's context."""
    with GraphOp.loop(name="lp", until="n >= 3", n=0) as g:
        s = step(n=PARENT["n"])
        b = inc(x=PARENT["nope"])
        START >> s >> b
        s >> END
    return fixture(g, frames=[frame("s", "loop_0", n=1)], error=err("MissingInput", "lp.b", "loop_0"))


@case
def loop_body_error_fails_the_run():
    """An op failing in a loop body fails the run in its iteration's context, after the frames of the
    earlier iterations."""
    with GraphOp.loop(name="lp", until="n >= 5", n=0) as g:
        s = fail_at(n=PARENT["n"], at=2)
        START >> s >> END
    frames = [frame("s", "loop_0", n=1), frame("s", "loop_1", n=2)]
    return fixture(g, frames=frames, error=err("OpFailed", "lp.s", "loop_2"))


@case
def until_unknown_variable_fails_the_run():
    """An `until` over a variable the loop does not have fails the run, naming the loop and the
    iteration."""
    with GraphOp.loop(name="lp", until="cnt >= 3", n=0) as g:
        s = step(n=PARENT["n"])
        START >> s >> END
    return fixture(g, frames=[frame("s", "loop_0", n=1)], error=err("OpFailed", "lp", "loop_0"))


@case
def until_error_continue_skips_the_loop():
    """errors="continue": a loop whose `until` fails is skipped with its successors; other ops run."""
    with GraphOp(name="g") as g:
        with GraphOp.loop(name="lp", until="missing > 1", n=0) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        after = scale(x=lp["n"])
        other = scale(x=PARENT["x"], k=2)
        START >> [lp, other]
        lp >> after >> END
        other >> END
    return fixture(g, inputs={"x": 2}, mode="continue", frames=[frame("other", y=4)], result={"y": 4},
                   errors=[err("OpFailed", "g.lp", "loop_0")])


@case
def loop_body_error_continue():
    """errors="continue": a failed body op forwards nothing, so the variables stay as they were and the
    loop goes on to max_iterations; the result is the last iteration's outputs (none)."""
    with GraphOp.loop(name="lp", until="n >= 3", max_iterations=4, n=0) as g:
        s = fail_at(n=PARENT["n"], at=1)
        START >> s >> END
    errors = [err("OpFailed", "lp.s", f"loop_{i}") for i in (1, 2, 3)]
    return fixture(g, mode="continue", frames=[frame("s", "loop_0", n=1)], result={}, errors=errors)


@case
def run_inputs_not_a_mapping():
    """Run inputs that are not a mapping fail the run before any op runs; no op is named."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        START >> a >> END
    return fixture(g, inputs=[1, 2], error={"kind": "RunInputs", "op": None, "context": None})
