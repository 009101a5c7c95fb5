"""The Ray rows of the scale-out benchmarks, for ``run_scale.py`` or on their own:

* W6 on Ray: 8 CPU-bound ops of about 50 ms each, fanned out from START, run through the Ray
  executor, against the same 8 calls one after another in this process (target: at most 0.65x).
* Ray executor overhead: a 1 000-op fan-out of trivial ops through the Ray executor, against Ray's own
  ``ray.get([f.remote(x) for _ in range(1000)])`` in the same run (target: at most 1.2x).

Ray is started once (``ray.init(num_cpus=2)``) and warmed up (workers started, functions exported)
before anything is timed. Run: ``python benches/python/scale_ray.py [--rounds N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import warnings
from typing import Any

from operonx import END, PARENT, START, GraphOp, Operon, op

W6_OPS = 8
W6_MS = 50
FANOUT = 1000
_LOOPS = {"n": 0}


def burn(loops: int) -> int:
    """CPU work under the GIL: ``loops`` additions."""
    total = 0
    for i in range(loops):
        total += i
    return total


def calibrate(ms: float = W6_MS) -> int:
    """Loops of :func:`burn` that take about ``ms`` milliseconds here (best of 5)."""
    loops = 200_000
    best = min(_timed(lambda: burn(loops)) for _ in range(5))
    return int(loops * (ms / 1000) / best)


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@op(executor="ray")
def crunch(loops):
    return {"total": burn(loops)}


@op(executor="ray")
def trivial(x):
    return {"y": x + 1}


def w6_graph() -> GraphOp:
    with GraphOp(name="w6") as g:
        ops = [crunch(name=f"c{i}", loops=PARENT["loops"]) for i in range(W6_OPS)]
        START >> ops
        ops >> END
    return g


def fanout_graph(n: int = FANOUT) -> GraphOp:
    with GraphOp(name="fanout") as g:
        ops = [trivial(name=f"t{i}", x=PARENT["x"]) for i in range(n)]
        START >> ops
        ops >> END
    return g


def start_ray() -> Any:
    import ray  # noqa: PLC0415 - only this benchmark needs it

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import benches/
    if not ray.is_initialized():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return ray


def measure(rounds: int) -> dict[str, Any]:
    """Medians (seconds) over ``rounds`` of each Ray row, and their ratios."""
    from operonx.executors.ray import RayExecutor  # noqa: PLC0415

    ray = start_ray()
    loops = calibrate()
    executor = RayExecutor()
    w6 = Operon(w6_graph(), executors={"ray": executor})
    fan = Operon(fanout_graph(), executors={"ray": executor})
    plain = ray.remote(max_retries=0)(lambda x: {"y": x + 1})
    samples: dict[str, list[float]] = {"w6_serial": [], "w6_ray": [], "fanout_ray_get": [], "fanout_executor": []}

    async def one_round() -> None:
        samples["w6_serial"].append(_timed(lambda: [burn(loops) for _ in range(W6_OPS)]))
        t0 = time.perf_counter()
        await w6.run({"loops": loops})
        samples["w6_ray"].append(time.perf_counter() - t0)
        samples["fanout_ray_get"].append(_timed(lambda: ray.get([plain.remote(1) for _ in range(FANOUT)])))
        t0 = time.perf_counter()
        await fan.run({"x": 1})
        samples["fanout_executor"].append(time.perf_counter() - t0)

    async def main() -> None:
        for _ in range(2):  # warm-up: workers started, functions exported, caches filled
            await one_round()
        for values in samples.values():
            values.clear()
        for _ in range(rounds):
            await one_round()

    asyncio.run(main())
    executor.shutdown()
    med = {k: statistics.median(v) for k, v in samples.items()}
    med["w6_ratio"] = med["w6_ray"] / med["w6_serial"]
    med["fanout_ratio"] = med["fanout_executor"] / med["fanout_ray_get"]
    med["loops"] = loops
    return med


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Table rows: what, ours, against, ratio, target."""
    return [
        ["W6 Ray (8 x 50 ms CPU)", f"{result['w6_ray'] * 1e3:.0f} ms", f"serial {result['w6_serial'] * 1e3:.0f} ms",
         f"{result['w6_ratio']:.2f}x", "<= 0.65x"],
        ["Ray executor, 1000 trivial ops", f"{result['fanout_executor'] * 1e3:.0f} ms",
         f"ray.get {result['fanout_ray_get'] * 1e3:.0f} ms", f"{result['fanout_ratio']:.2f}x", "<= 1.2x"],
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="write the medians to this file")
    args = ap.parse_args(argv)
    result = measure(args.rounds)
    for row in rows(result):
        print(" | ".join(row))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
