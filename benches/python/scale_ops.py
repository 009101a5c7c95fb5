"""The work of ``run_scale.py``, in a module of its own: worker processes import the module of each
function they run, and this one imports only the standard library (so every engine measured,
ours, 0.7.1 and LangGraph, runs the same code)."""

from __future__ import annotations

import time


def work(iters: int) -> int:
    """A pure-Python CPU loop (it holds the GIL throughout): ``iters`` additions and multiplications."""
    acc = 0
    for i in range(iters):
        acc = (acc + i * i) % 1_000_003
    return acc


def calibrate(ms: float) -> int:
    """How many iterations of :func:`work` take about ``ms`` milliseconds here (best of three)."""
    n = 200_000
    best = min(_timed(n) for _ in range(3))
    return max(1, int(n * (ms / 1000) / best))


def _timed(n: int) -> float:
    t0 = time.perf_counter()
    work(n)
    return time.perf_counter() - t0


def crunch(iters):
    """The W6 op: ``work(iters)``."""
    return {"acc": work(iters)}


def nop(x=None):
    """The trivial op of the overhead fan-out."""
    return {"y": x}


async def wall_times(run, reps: int) -> list[float]:
    """Wall times (s) of ``await run()`` over ``reps`` runs, after one warm-up run."""
    await run()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        await run()
        times.append(time.perf_counter() - t0)
    return times
