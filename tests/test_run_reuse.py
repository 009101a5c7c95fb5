"""Runs of one engine one after another: a run that ended leaves its buffers (scheduler state, value store,
frame buffer) to the engine's next run, which must then behave exactly as a run of a fresh engine.

Hypothesis draws the all-sync control-flow graphs of tests/test_property_control.py (branches, soft joins,
nested graphs, loops, failing ops, errors="raise" / "continue"); each is run on one engine after runs with
other inputs (other branches, other failures) and after a streamed run cancelled at its first frame (or a
failed one). Every run with the drawn inputs must give what a fresh engine gives, op bodies included,
whatever the runs before it left.
"""

from __future__ import annotations

import asyncio
import gc

import pytest
from hypothesis import HealthCheck, given, settings

from operonx import Operon

from control_cases import Case, examples
from control_graphs import ORDER, build, run_engine, to_source

pytestmark = pytest.mark.timeout(120)


def _outcome(engine, case: Case, source: str, inputs: dict | None = None):
    """What one run gives: its result (without "$state") and the op bodies it started, or its error."""
    inputs = case.inputs if inputs is None else inputs

    async def run():
        return await engine.run(dict(inputs), errors=case.errors)

    try:
        result = run_engine(run, source)
    except AssertionError:
        raise
    except Exception as e:  # the run's own error: compared by type and message
        return ("raised", type(e).__name__, str(e), list(ORDER))
    result.pop("$state")
    errors = [(type(e).__name__, str(e)) for e in result.pop("$errors", [])]
    return ("done", result, errors, list(ORDER))


def _cancelled_stream(engine, case: Case, source: str) -> None:
    """Starts a streamed run and cancels it at its first frame (or lets it fail)."""

    async def stream():
        handle = engine.start(dict(case.inputs), errors=case.errors)
        try:
            async for _frame in handle:
                handle.cancel()
                break
        except Exception:  # a failed run is as good a predecessor as a cancelled one
            pass
        finally:
            handle.cancel()

    run_engine(stream, source)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(examples(all_sync=True))
def test_a_run_after_other_runs_of_the_engine_behaves_as_a_fresh_one(case):
    source = to_source(case.graph, case.inputs, case.errors)
    fresh = _outcome(Operon(build(source)), case, source)
    engine = Operon(build(source))
    # each run is freed (by reference counting) before the next starts, so the next reuses its buffers
    outcomes = [_outcome(engine, case, source)]
    # runs with other inputs (other branches taken, other ops failing)
    for shift in (3, 7):
        _outcome(engine, case, source, dict(case.inputs, k=(case.inputs.get("k", 0) + shift) % 10))
        outcomes.append(_outcome(engine, case, source))
    _cancelled_stream(engine, case, source)
    outcomes.append(_outcome(engine, case, source))
    for got in outcomes:
        assert got == fresh


async def test_runs_of_one_engine_at_once_and_one_after_another_agree():
    """Concurrent runs share no buffers; sequential ones reuse them. Both give every run its own values."""
    from operonx import END, PARENT, START, GraphOp, op

    @op
    def add(x, k):
        return {"y": x + k}

    with GraphOp(name="g") as g:
        a = add(x=PARENT["x"], k=1)
        b = add(x=a["y"], k=10)
        START >> a >> b >> END
    engine = Operon(g)
    for x in range(50):
        assert (await asyncio.wait_for(engine.run({"x": x}), 5))["y"] == x + 11
    results = await asyncio.wait_for(asyncio.gather(*(engine.run({"x": x}) for x in range(50))), 5)
    assert [r["y"] for r in results] == [x + 11 for x in range(50)]
    states = [r.pop("$state") for r in results]
    del results
    gc.collect()
    assert (await asyncio.wait_for(engine.run({"x": 7}), 5))["y"] == 18
    # the $state of earlier runs still reads their own values
    assert [s["g.b", "y"] for s in states[:3]] == [11, 12, 13]
