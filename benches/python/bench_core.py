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

import argparse
import asyncio
import gc
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads as wl  # noqa: E402

CHAIN_N = 1000
FANOUT_N = 1000
DIAMOND_RUNS = 2000
BUILD_N = 1000

perf_ns = time.perf_counter_ns

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
    samples: list[int] = []
    deadline = perf_ns() + int(budget.seconds * scale * 1e9)
    while len(samples) < budget.max_reps and (
        len(samples) < budget.min_reps or perf_ns() < deadline
    ):
        samples.append(await one())
    return samples


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


def describe_impl() -> dict[str, Any]:
    import operonx

    version = getattr(operonx, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("operonx")
        except Exception:  # pragma: no cover
            version = "unknown"
    core = sys.modules.get("operonx._core")
    return {
        "version": version,
        "file": getattr(operonx, "__file__", None),
        "rust_core": core is not None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


async def main_async(names: list[str], scale: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        gc.collect()
        t0 = time.perf_counter()
        results[name] = await BENCHES[name](scale)
        results[name]["wall_s"] = round(time.perf_counter() - t0, 3)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset of W1,W2,W3,B")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every time budget by this")
    ap.add_argument("--pretty", action="store_true", help="also print medians to stderr")
    args = ap.parse_args(argv)

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(unknown)}")

    impl = describe_impl()
    results = asyncio.run(main_async(names, args.scale))
    impl["recursion_limit_raised"] = _recursion_limit_raised
    impl["recursion_limit"] = sys.getrecursionlimit()
    doc = {"impl": impl, "results": results}
    json.dump(doc, sys.stdout)
    sys.stdout.write("\n")

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
