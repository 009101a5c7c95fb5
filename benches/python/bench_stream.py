"""Time the streaming and async workloads of ``stream_workloads.py`` in-process,
for whichever ``operonx`` this interpreter imports, and print one JSON document
on stdout.

    python benches/python/bench_stream.py [--only W4,W5,M,MR] [--scale F] [--pretty]

It is normally started by ``run_stream.py``, once per engine and round, but runs
on its own too. Every workload is checked for the right answer before it is
timed. A workload that cannot run (for instance ``engine.start`` or generator
ops missing) is reported as ``{"error": "..."}`` and the others still run.

Workloads (raw nanoseconds per repetition; the driver divides):

* W4: ``src`` -> 200 async ops sleeping 50 ms -> ``join``; one repetition = one
  ``await engine.run(...)``. In the same process and interleaved with it, the
  baseline: ``asyncio.gather`` of the same 200 sleeps (``gather_ns``).
* W5: a sync generator op yielding 100 000 ``{"i": i}`` wired to END; one
  repetition = ``async for op, ctx, data in engine.start(inputs)`` to the end.
  ``samples_ns`` is start() to the last frame, ``first_ns`` start() to the first.
* M:  ours' ``engine.start(inputs, retain_frames=False)`` over 1 000 000 items,
  once: RSS before, peak RSS during (VmHWM, reset just before start), RSS after.
* MR: the same with the default ``retain_frames`` (every frame kept), for contrast.

M and MR are one measurement each, so the driver runs each in a fresh process.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import sys
from typing import Any, Awaitable, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stream_workloads as sw  # noqa: E402
from benchlib import bench_args, emit, operonx_impl, perf_ns, run_benches, sample  # noqa: E402


# --------------------------------------------------------------------------
# Memory helpers (Linux /proc)
# --------------------------------------------------------------------------


def proc_status_kib(*keys: str) -> dict[str, int]:
    """``VmRSS`` / ``VmHWM`` etc. of this process, in KiB."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# W4
# --------------------------------------------------------------------------


async def bench_w4(scale: float) -> dict[str, Any]:
    engine = sw.Operon(sw.build_w4())
    inputs = dict(sw.W4_INPUTS)
    sw.check_w4(await engine.run(inputs))
    sw.check_gather(await sw.gather_w4())
    run = engine.run
    gather = sw.gather_w4

    async def one_engine() -> int:
        t0 = perf_ns()
        await run(inputs)
        return perf_ns() - t0

    async def one_gather() -> int:
        t0 = perf_ns()
        await gather()
        return perf_ns() - t0

    for _ in range(2):  # warm-up
        await one_engine()
        await one_gather()
    gc.collect()
    turn = itertools.count()

    # Interleaved pairs, order swapped every pair, so both see the same loop state.
    async def one_pair() -> tuple[int, int]:
        if next(turn) % 2 == 0:
            run_ns = await one_engine()
            return run_ns, await one_gather()
        gather_ns = await one_gather()
        return await one_engine(), gather_ns

    pairs = await sample(one_pair, 2.0 * scale, 8, 200)
    return {
        "samples_ns": [e for e, _ in pairs],
        "gather_ns": [g for _, g in pairs],
        "ops": sw.W4_FANOUT + 2,
        "sleep_s": sw.W4_SLEEP_S,
    }


# --------------------------------------------------------------------------
# W5
# --------------------------------------------------------------------------


async def stream_once(engine: Any, inputs: dict[str, Any], n: int) -> tuple[int, int]:
    """One full consumption; returns (ns to the last frame, ns to the first frame)."""
    first_ns = 0
    frames = 0
    data: Any = None
    t0 = perf_ns()
    async for _op, _ctx, data in engine.start(inputs):
        if not first_ns:
            first_ns = perf_ns()
        frames += 1
    total = perf_ns() - t0
    sw.check_stream(n, frames, data)
    return total, (first_ns - t0 if frames else total)


async def bench_w5(scale: float) -> dict[str, Any]:
    n = sw.W5_ITEMS
    engine = sw.Operon(sw.build_stream())
    inputs = sw.stream_inputs(n)
    # First a short stream: its answer is checked and it catches a missing API early.
    await stream_once(engine, sw.stream_inputs(10), 10)
    await stream_once(engine, inputs, n)  # warm-up (and checked)

    async def one() -> tuple[int, int]:
        gc.collect()  # the previous repetition's garbage is not this one's cost
        return await stream_once(engine, inputs, n)

    reps = await sample(one, 1.5 * scale, 3, 300)
    return {"samples_ns": [t for t, _ in reps], "first_ns": [f for _, f in reps], "items": n}


# --------------------------------------------------------------------------
# M / MR
# --------------------------------------------------------------------------


async def _bench_memory(retain: bool | None) -> dict[str, Any]:
    n = sw.M_ITEMS
    engine = sw.Operon(sw.build_stream())
    kwargs: dict[str, Any] = {} if retain is None else {"retain_frames": retain}

    async def consume(count: int) -> tuple[int, Any]:
        frames = 0
        data: Any = None
        async for _op, _ctx, data in engine.start(sw.stream_inputs(count), **kwargs):
            frames += 1
        return frames, data

    frames, data = await consume(1000)  # warm-up: lazy imports, first allocations
    sw.check_stream(1000, frames, data)
    gc.collect()
    hwm_reset = reset_peak_rss()
    before = proc_status_kib("VmRSS")["VmRSS"]
    samples: list[int] = []  # sampled RSS, used as the peak when VmHWM cannot be reset
    frames = 0
    data = None
    t0 = perf_ns()
    handle = engine.start(sw.stream_inputs(n), **kwargs)  # named: released only after the peak is read
    async for _op, _ctx, data in handle:
        frames += 1
        if not frames & 0x3FFF:  # every 16 384 frames
            samples.append(proc_status_kib("VmRSS")["VmRSS"])
    elapsed = perf_ns() - t0
    st = proc_status_kib("VmRSS", "VmHWM")
    sw.check_stream(n, frames, data)
    peak = st["VmHWM"] if hwm_reset else max(samples + [st["VmRSS"]])
    del handle, data
    gc.collect()
    after_release = proc_status_kib("VmRSS")["VmRSS"]
    return {
        "items": n,
        "retain_frames": retain,
        "elapsed_ns": elapsed,
        "rss_before_kib": before,
        "rss_peak_kib": peak,
        "rss_end_kib": st["VmRSS"],
        "rss_after_release_kib": after_release,
        "peak_method": "VmHWM reset via /proc/self/clear_refs" if hwm_reset else "VmRSS sampled",
    }


async def bench_m(scale: float) -> dict[str, Any]:
    return await _bench_memory(False)


async def bench_mr(scale: float) -> dict[str, Any]:
    return await _bench_memory(None)


BENCHES: dict[str, Callable[[float], Awaitable[dict[str, Any]]]] = {
    "W4": bench_w4,
    "W5": bench_w5,
    "M": bench_m,
    "MR": bench_mr,
}


def main(argv: list[str] | None = None) -> int:
    args = bench_args(__doc__, BENCHES, "W4,W5", argv)
    impl = operonx_impl(has_start=hasattr(sw.Operon, "start"))
    results = asyncio.run(run_benches(BENCHES, args.names, args.scale, keep_going=True))
    emit({"impl": impl, "results": results})

    if args.pretty:
        import statistics

        med = statistics.median
        for name, r in results.items():
            if "error" in r:
                print(f"{name}: ERROR {r['error']}", file=sys.stderr)
            elif name == "W4":
                print(
                    f"W4: {med(r['samples_ns']) / 1e6:8.2f} ms/run, gather "
                    f"{med(r['gather_ns']) / 1e6:8.2f} ms/run ({len(r['samples_ns'])} pairs)",
                    file=sys.stderr,
                )
            elif name == "W5":
                print(
                    f"W5: {med(r['samples_ns']) / 1e3 / r['items']:8.3f} us/item, first "
                    f"{med(r['first_ns']) / 1e3:10.1f} us ({len(r['samples_ns'])} reps)",
                    file=sys.stderr,
                )
            else:
                print(
                    f"{name}: RSS growth {(r['rss_peak_kib'] - r['rss_before_kib']) / 1024:.1f} MiB "
                    f"(before {r['rss_before_kib'] / 1024:.1f}, peak {r['rss_peak_kib'] / 1024:.1f}), "
                    f"{r['elapsed_ns'] / 1e3 / r['items']:.3f} us/item",
                    file=sys.stderr,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
