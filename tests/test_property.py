"""Property test: random flat graphs run by the engine agree with the reference interpreter.

Hypothesis draws DAGs of 1-60 ops (edges only from a lower to a higher index) with fan-out and fan-in,
hard and soft edges, every op reached from START, sync / async / cpu ops, inputs from PARENT, from other ops, literals,
None literals and defaults, some ops that raise and some with missing required inputs, several ops
wired to END sharing output keys, edges written one by one or with list syntax, with or without a
GraphOp(concurrency=N) cap. Each graph is built with the public authoring API, run by the engine
and by tests/reference.py (a plain-Python interpreter of the same description), and the two must agree:

- all-sync graphs: the exact execution order, the exact result (list order included), the error raised
  or the exact "$errors" list;
- graphs with async or cpu ops: order-independent facts only (which ops ran, each op's outputs, result
  keys with the multiset of their values, the set of failures). Their refs only point at ops that have
  certainly finished before the reader starts, so values do not depend on timing. Each op must still
  start after its hard predecessors and after one soft predecessor.

In every case $state must hold each finished op's outputs and nothing for the others. A failing example
is shown (note) as operonx code that can be pasted into a bug report.

Two metamorphic variants run the same graphs elsewhere: as the body of a root loop that runs once or
twice (everything repeats exactly, in contexts ("main", "loop_n")), and as a nested graph run once per
item of a two-item stream, or once over the collected items (every body runs once per run of the nested
graph, and the run ends).

The op functions and the graphs built from an example: tests/flat_graphs.py; the strategy drawing
examples: tests/flat_cases.py.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from operonx import Operon
from operonx.errors import InputError, OpError

from flat_cases import cases
from flat_graphs import INPUTS, ORDER, Boom, build, build_per_item, to_source
from reference import FUNCS, GraphSpec
from reference import run as reference_run

RUN_TIMEOUT = 5.0  # seconds per engine run; a 60-op run takes well under 0.3 s in a debug build


def _multiset(value, count):
    return Counter(value) if count > 1 else Counter([value])


def _describe(err):
    kind = "input" if isinstance(err, InputError) else "op" if isinstance(err, OpError) else repr(err)
    return kind, err.op.removeprefix("g.")


def _check_error_object(err, expected, missing, context=("main",)):
    """``context=None``: any iteration of a root loop."""
    kind, name = _describe(err)
    assert (kind, name) == expected[:2]
    assert err.graph == "g"
    if context is None:
        assert len(err.context) == 2 and err.context[1].startswith("loop_")
    else:
        assert tuple(err.context) == context
    if kind == "op":
        assert isinstance(err.__cause__, Boom) and str(err.__cause__) == name
    else:
        assert err.input in missing[name]


def _check_start_order(spec: GraphSpec, order: list[str]) -> None:
    """Whatever the timing, an op starts after all its hard predecessors and one soft predecessor
    (bodies record themselves when they start, and a predecessor starts before it finishes)."""
    at = {name: i for i, name in enumerate(order)}
    hard: dict[int, list[int]] = {}
    soft: dict[int, list[int]] = {}
    for u, v, s in spec.edges:
        (soft if s else hard).setdefault(v, []).append(u)
    for v, o in enumerate(spec.ops):
        if o.name not in at:
            continue
        for u in hard.get(v, []):
            assert at.get(spec.ops[u].name, len(order)) < at[o.name], (spec.ops[u].name, o.name)
        if v in soft:
            assert min(at.get(spec.ops[u].name, len(order)) for u in soft[v]) < at[o.name], o.name


_reported_hang = False


def _run(engine, errors, source):
    """Runs once on a fresh event loop. A run that hangs fails the example with its graph; the first
    such graph also goes to stderr at once, because shrinking a hang takes RUN_TIMEOUT per attempt and
    the test's own timeout may end it first."""
    global _reported_hang
    ORDER.clear()
    try:
        return asyncio.run(asyncio.wait_for(engine.run(dict(INPUTS), errors=errors), RUN_TIMEOUT))
    except (asyncio.TimeoutError, TimeoutError):
        if not _reported_hang:
            _reported_hang = True
            print(f"engine run did not finish within {RUN_TIMEOUT} s:\n{source}", file=sys.stderr)
        raise AssertionError(f"engine run did not finish within {RUN_TIMEOUT} s") from None


def _note_events(spec: GraphSpec, errors: str, expected, timing_free: bool) -> None:
    """Hypothesis statistics: what kind of example this is."""
    event("all sync" if timing_free else "async/cpu ops")
    event(f"errors={errors}")
    event(f"ops: {'1-8' if len(spec.ops) <= 8 else '9-30' if len(spec.ops) <= 30 else '31-60'}")
    if expected.error:
        event(f"run fails ({expected.error[0]} error)")
    elif expected.failures:
        event("$errors lists " + ", ".join(sorted({f[0] for f in expected.failures})) + " errors")
    if any(isinstance(v, list) for v in expected.result().values()):
        event("result has list values")
    if len(expected.outputs) < len(spec.ops):
        event("some ops did not run")


def _check_raised(engine, spec: GraphSpec, errors: str, source: str, expected, timing_free: bool, context) -> None:
    """errors="raise" and something fails: the run raises the reference's error."""
    with pytest.raises((OpError, InputError)) as info:
        _run(engine, errors, source)
    err = info.value
    if timing_free:
        _check_error_object(err, expected.error, expected.missing, context)
        assert ORDER == expected.order
    else:
        # which failure comes first depends on timing; it must be one of those a full run has
        full = reference_run(spec, INPUTS, "continue")
        by_op = {f[1]: f for f in full.failures}
        _check_error_object(err, by_op.get(_describe(err)[1], ("?", "?")), full.missing, context)


def _check_state(spec: GraphSpec, state, expected) -> None:
    """Every op that finished left its outputs in $state; the others left nothing."""
    assert state["g", "x"] == INPUTS["x"]
    for o in spec.ops:
        for var in FUNCS[o.func][1]:
            if o.name in expected.outputs:
                assert state[f"g.{o.name}", var] == expected.outputs[o.name][var], (o.name, var)
            else:
                with pytest.raises(KeyError):
                    state[f"g.{o.name}", var]


def check(spec: GraphSpec, statements, errors: str, looped: int = 0) -> None:
    """Runs the example and compares; with ``looped=n`` the graph is the body of a loop run n times.
    Its outputs (v, w) are no inputs of its ops, so every iteration repeats the first: the bodies run
    n times over, failures are listed n times, and the result is one iteration's. Errors carry the
    iteration's context."""
    context = ("main", "loop_0") if looped else ("main",)
    repeat = max(looped, 1)
    source = to_source(spec, statements, errors, looped)
    note(source)
    expected = reference_run(spec, INPUTS, errors)
    note(f"reference: order={expected.order} result={expected.result()} failures={expected.failures}")
    timing_free = all(o.kind == "sync" for o in spec.ops)
    _note_events(spec, errors, expected, timing_free)
    engine = Operon(build(spec, statements, looped))

    if expected.error is not None:  # errors="raise" and something fails
        _check_raised(engine, spec, errors, source, expected, timing_free, context)
        return

    result = _run(engine, errors, source)
    state = result.pop("$state")
    got_errors = result.pop("$errors", [])
    if errors == "raise":
        assert got_errors == []
    got_failures = [_describe(e) for e in got_errors]
    want_failures = [f[:2] for f in expected.failures] * repeat
    for e in got_errors:
        _check_error_object(e, _describe(e), expected.missing, None if looped > 1 else context)
    if looped > 1:  # each iteration lists its own failures
        per_iteration = Counter(tuple(e.context) for e in got_errors)
        assert all(per_iteration[("main", f"loop_{i}")] == len(expected.failures) for i in range(looped)), (
            per_iteration, expected.failures, got_failures)

    want = expected.result()
    if timing_free:
        assert ORDER == expected.order * repeat
        assert result == want
        assert got_failures == want_failures
    else:
        assert sorted(ORDER) == sorted(expected.order * repeat)
        if repeat == 1:
            _check_start_order(spec, ORDER)
        assert Counter(got_failures) == Counter(want_failures)
        assert result.keys() == want.keys()
        counts = Counter(k for frame in expected.frames for k in frame)
        for key, value in want.items():
            assert _multiset(result[key], counts[key]) == _multiset(value, counts[key]), key

    _check_state(spec, state, expected)

    if timing_free:  # the same engine runs again, independently, to the same result
        again = _run(engine, errors, source)
        again.pop("$state")
        again.pop("$errors", None)
        assert again == want and ORDER == expected.order * repeat


@pytest.mark.timeout(180)
@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # no "explain" phase: on Python < 3.12 it traces every line of a failing example, which takes
    # minutes on a 60-op graph; shrinking alone gives a readable counterexample
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(cases())
def test_engine_agrees_with_reference(case):
    check(*case)


@pytest.mark.timeout(180)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(cases(), st.sampled_from([1, 2]))
def test_a_loop_repeats_its_body_exactly(case, iterations):
    # the same graphs as the body of a root loop: every op then runs in the context ("main", "loop_n"),
    # where the scheduler keeps its counts per context instead of per op, and contexts are reused
    check(*case, looped=iterations)


@pytest.mark.timeout(180)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(cases(), st.sampled_from(["seq", "parallel", "collect"]))
def test_the_same_graph_runs_once_per_item_of_a_stream(case, policy):
    # The example as a nested graph fed by each item of a two-item stream (or once, by the collected
    # items): every op body runs once per run of the nested graph, the failures are listed as many
    # times, and the run ends (a hang fails the example).
    spec, statements, errors = case
    expected = reference_run(spec, INPUTS, errors)
    runs = 1 if policy == "collect" else 2
    engine = Operon(build_per_item(spec, statements, policy))
    source = f"per item ({policy}) of:\n" + to_source(spec, statements, errors)
    if expected.error is not None:
        with pytest.raises((OpError, InputError)):
            _run(engine, errors, source)
        return
    result = _run(engine, errors, source)
    assert sorted(ORDER) == sorted(expected.order * runs)
    got = Counter(_describe(e)[1].removeprefix("body.") for e in result.get("$errors", []))
    assert got == Counter({f[1]: runs for f in expected.failures} if expected.failures else {})
