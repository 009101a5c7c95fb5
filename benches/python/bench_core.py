"""Time the workloads of ``workloads.py`` in-process, for whichever ``operonx``
this interpreter imports, and print one JSON document on stdout.

    python benches/python/bench_core.py [--scale F] [--only W1,W3] [--pretty]

It is normally started by ``run_all.py``, once per engine and round, but runs on
its own too. Every workload is checked for the right answer before it is timed.

Workloads (times are raw nanoseconds per repetition; the driver divides):

* W1: chain of 1000 sync ops; one repetition = one ``await engine.run(...)``
  of an engine built beforehand.
* W2: 1 -> 1000 -> 1 fan-out/fan-in (1002 ops); one repetition = one run.
* W3: 5-op diamond; one repetition = 2000 sequential runs on one engine.
* B:  build a 1000-op chain: define the GraphOp and compile it with ``Operon``.

Repetition counts adapt to the engine's speed: after a warm-up each workload
repeats until its time budget is spent (and at least ``min_reps`` times, at
most ``max_reps``), so a slow engine gets fewer repetitions, never a shorter
measurement of each one.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads as wl  # noqa: E402
from benchlib import bench_args, emit, operonx_impl, perf_ns, run_benches, sample  # noqa: E402

CHAIN_N = 1000
FANOUT_N = 1000
DIAMOND_RUNS = 2000
BUILD_N = 1000

# Raised only if a graph cannot be built under the default recursion limit
# (0.7.1 checks for cycles with a recursive DFS, which overflows at ~1000 ops).
# Reported in the JSON so the raise is never silent.
RAISED_RECURSION_LIMIT = 20_000
_recursion_limit_raised = False


def _build_engine(build: Callable[[], Any]) -> Any:
    """``Operon(build())``, raising the recursion limit once if that is needed."""
    global _recursion_limit_raised
    try:
        return wl.Operon(build())
    except RecursionError:
        if _recursion_limit_raised:
            raise
        _recursion_limit_raised = True
        sys.setrecursionlimit(RAISED_RECURSION_LIMIT)
        print(
            f"bench_core: RecursionError while building; recursion limit raised to "
            f"{RAISED_RECURSION_LIMIT}",
            file=sys.stderr,
        )
        return wl.Operon(build())


@dataclass
class Budget:
    seconds: float
    min_reps: int
    max_reps: int
    warmup_reps: int


async def _repeat(one: Callable[[], Awaitable[int]], budget: Budget, scale: float) -> list[int]:
    """Warm up, then collect per-repetition timings (ns) within the budget."""
    for _ in range(budget.warmup_reps):
        await one()
    gc.collect()
    return await sample(one, budget.seconds * scale, budget.min_reps, budget.max_reps)


async def bench_w1(scale: float) -> dict[str, Any]:
    engine = _build_engine(lambda: wl.build_chain(CHAIN_N))
    inputs = dict(wl.INPUTS)
    wl.check("W1", await engine.run(inputs), wl.expected_chain(CHAIN_N))

    async def one() -> int:
        t0 = perf_ns()
        await engine.run(inputs)
        return perf_ns() - t0

    samples = await _repeat(one, Budget(0.7, 15, 3000, 5), scale)
    return {"samples_ns": samples, "ops": CHAIN_N, "runs_per_rep": 1}


async def bench_w2(scale: float) -> dict[str, Any]:
    engine = _build_engine(lambda: wl.build_fanout(FANOUT_N))
    inputs = dict(wl.INPUTS)
    wl.check("W2", await engine.run(inputs), wl.expected_fanout(FANOUT_N))

    async def one() -> int:
        t0 = perf_ns()
        await engine.run(inputs)
        return perf_ns() - t0

    samples = await _repeat(one, Budget(0.7, 15, 3000, 5), scale)
    return {"samples_ns": samples, "ops": FANOUT_N + 2, "runs_per_rep": 1}


async def bench_w3(scale: float) -> dict[str, Any]:
    engine = _build_engine(wl.build_diamond)
    inputs = dict(wl.INPUTS)
    wl.check("W3", await engine.run(inputs), wl.EXPECTED_DIAMOND)
    run = engine.run
    runs = DIAMOND_RUNS

    async def one() -> int:
        t0 = perf_ns()
        for _ in range(runs):
            await run(inputs)
        return perf_ns() - t0

    samples = await _repeat(one, Budget(1.2, 3, 200, 1), scale)
    return {"samples_ns": samples, "ops": 5, "runs_per_rep": runs}


async def bench_build(scale: float) -> dict[str, Any]:
    # Built once outside the timing so a needed recursion-limit raise happens here.
    engine = _build_engine(lambda: wl.build_chain(BUILD_N))
    wl.check("B", await engine.run(dict(wl.INPUTS)), wl.expected_chain(BUILD_N))
    del engine

    async def one() -> int:
        gc.collect()  # garbage of the previous build is not this build's cost
        t0 = perf_ns()
        g = wl.build_chain(BUILD_N)
        wl.Operon(g)
        return perf_ns() - t0

    samples = await _repeat(one, Budget(1.2, 5, 500, 2), scale)
    return {"samples_ns": samples, "ops": BUILD_N, "runs_per_rep": 1}


BENCHES: dict[str, Callable[[float], Awaitable[dict[str, Any]]]] = {
    "W1": bench_w1,
    "W2": bench_w2,
    "W3": bench_w3,
    "B": bench_build,
}


def main(argv: list[str] | None = None) -> int:
    args = bench_args(__doc__, BENCHES, ",".join(BENCHES), argv)
    impl = operonx_impl()
    results = asyncio.run(run_benches(BENCHES, args.names, args.scale))
    impl["recursion_limit_raised"] = _recursion_limit_raised
    impl["recursion_limit"] = sys.getrecursionlimit()
    emit({"impl": impl, "results": results})

    if args.pretty:
        import statistics

        for name, r in results.items():
            med = statistics.median(r["samples_ns"]) / 1000
            per_run = med / r["runs_per_rep"]
            print(
                f"{name}: {per_run:10.2f} us/run  {per_run / r['ops']:8.3f} us/op  "
                f"({len(r['samples_ns'])} reps, {r['wall_s']} s)",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
