"""Time the control-flow workloads of ``control_workloads.py`` in-process, for
whichever ``operonx`` this interpreter imports, and print one JSON document on
stdout.

    python benches/python/bench_control.py [--only N,R,L] [--scale F] [--pretty]

It is normally started by ``run_control.py``, once per engine and round, but
runs on its own too. Every graph's answer is checked before it is timed.

Workloads (raw nanoseconds per repetition; the driver divides):

* N: a 10-level nested graph (each level one sync op and the next level) and,
  for the per-level cost, the 1-level graph (one op). One repetition = 2000
  sequential ``await engine.run(...)`` of N1, and 2000 of N10, on engines
  built beforehand, the order of the two swapped every repetition;
  ``base_ns`` holds N1's, ``samples_ns`` N10's.
* R: a router choosing among 10 branches; one repetition = 2000 sequential
  runs with ``k`` cycling 0..9.
* L: ``GraphOp.loop`` with a 3-op body, 10 000 iterations; one repetition =
  one run. Where building the loop graph raises (an engine without loops), the
  result is ``{"unsupported": "<the error>"}`` and nothing is timed.

A workload that fails otherwise is reported as ``{"error": ...}`` and the
others still run.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import control_workloads as cw  # noqa: E402
from benchlib import bench_args, emit, operonx_impl, perf_ns, run_benches, sample  # noqa: E402

NESTED_LEVELS = 10
RUNS = 2000
LOOP_ITERATIONS = 10_000


@dataclass
class Budget:
    seconds: float
    min_reps: int
    max_reps: int
    warmup_reps: int


async def _repeat(one: Callable[[], Awaitable[Any]], budget: Budget, scale: float) -> list[Any]:
    """Warm up, then collect per-repetition results within the budget."""
    for _ in range(budget.warmup_reps):
        await one()
    gc.collect()
    return await sample(one, budget.seconds * scale, budget.min_reps, budget.max_reps)


async def bench_nested(scale: float) -> dict[str, Any]:
    deep = cw.Operon(cw.build_nested(NESTED_LEVELS))
    flat = cw.Operon(cw.build_nested(1))
    inputs = {"x": 0}
    cw.check("N10", await deep.run(inputs), cw.expected_nested(NESTED_LEVELS))
    cw.check("N1", await flat.run(inputs), cw.expected_nested(1))
    runs = RUNS
    flip = [False]

    async def timed(run: Callable[..., Awaitable[Any]]) -> int:
        t0 = perf_ns()
        for _ in range(runs):
            await run(inputs)
        return perf_ns() - t0

    async def one() -> tuple[int, int]:
        flip[0] = not flip[0]
        if flip[0]:
            base = await timed(flat.run)
            return base, await timed(deep.run)
        deep_ns = await timed(deep.run)
        return await timed(flat.run), deep_ns

    pairs = await _repeat(one, Budget(2.0, 4, 200, 2), scale)
    return {
        "samples_ns": [d for _, d in pairs],
        "base_ns": [b for b, _ in pairs],
        "levels": NESTED_LEVELS,
        "runs_per_rep": runs,
    }


async def bench_router(scale: float) -> dict[str, Any]:
    engine = cw.Operon(cw.build_router())
    per_k = [{"k": k} for k in range(cw.ROUTER_WAYS)]
    for k, inputs in enumerate(per_k):
        cw.check(f"R k={k}", await engine.run(inputs), cw.expected_router(k))
    seq = [per_k[i % cw.ROUTER_WAYS] for i in range(RUNS)]
    run = engine.run

    async def one() -> int:
        t0 = perf_ns()
        for inputs in seq:
            await run(inputs)
        return perf_ns() - t0

    samples = await _repeat(one, Budget(1.2, 3, 200, 1), scale)
    return {"samples_ns": samples, "ways": cw.ROUTER_WAYS, "runs_per_rep": RUNS}


async def bench_loop(scale: float) -> dict[str, Any]:
    try:
        engine = cw.Operon(cw.build_loop(LOOP_ITERATIONS))
    except Exception as exc:  # building the loop graph is where "no loops" shows
        return {"unsupported": f"{type(exc).__name__}: {exc}"[:300]}
    inputs: dict[str, Any] = {}
    cw.check("L", await engine.run(inputs), LOOP_ITERATIONS, key="i")

    async def one() -> int:
        t0 = perf_ns()
        await engine.run(inputs)
        return perf_ns() - t0

    samples = await _repeat(one, Budget(1.5, 3, 100, 1), scale)
    return {"samples_ns": samples, "iterations": LOOP_ITERATIONS, "body_ops": 3, "runs_per_rep": 1}


BENCHES: dict[str, Callable[[float], Awaitable[dict[str, Any]]]] = {
    "N": bench_nested,
    "R": bench_router,
    "L": bench_loop,
}


def main(argv: list[str] | None = None) -> int:
    args = bench_args(__doc__, BENCHES, ",".join(BENCHES), argv)
    impl = operonx_impl(has_loop=hasattr(cw.GraphOp, "loop"))
    results = asyncio.run(run_benches(BENCHES, args.names, args.scale, keep_going=True))
    emit({"impl": impl, "results": results})

    if args.pretty:
        import statistics

        med = statistics.median
        for name, r in results.items():
            if "error" in r:
                print(f"{name}: ERROR {r['error']}", file=sys.stderr)
            elif "unsupported" in r:
                print(f"{name}: not supported: {r['unsupported']}", file=sys.stderr)
            elif name == "N":
                n = r["runs_per_rep"] * 1000
                deep, flat = med(r["samples_ns"]) / n, med(r["base_ns"]) / n
                print(
                    f"N: N10 {deep:8.2f} us/run, N1 {flat:8.2f} us/run, "
                    f"{(deep - flat) / (r['levels'] - 1):8.3f} us/level ({len(r['samples_ns'])} reps)",
                    file=sys.stderr,
                )
            elif name == "R":
                print(
                    f"R: {med(r['samples_ns']) / r['runs_per_rep'] / 1000:8.2f} us/run "
                    f"({len(r['samples_ns'])} reps)",
                    file=sys.stderr,
                )
            else:
                print(
                    f"L: {med(r['samples_ns']) / 1e6:8.1f} ms/run, "
                    f"{med(r['samples_ns']) / 1000 / r['iterations']:8.2f} us/iteration "
                    f"({len(r['samples_ns'])} reps)",
                    file=sys.stderr,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
