"""Quick check that very large graphs build and run under the DEFAULT recursion
limit: a 100 000-op chain and a 1 -> 100 000 -> 1 fan-out.

    .venv/bin/python benches/python/check_large.py [--n 100000]

Meant for our engine (the published 0.7.1 checks for cycles recursively and
fails here with RecursionError, which this script reports). Prints build and
run times and exits 1 if any graph fails or computes a wrong result.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads as wl  # noqa: E402


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def check(name: str, build, n_ops: int, expected: int) -> bool:
    gc.collect()
    try:
        t0 = time.perf_counter_ns()
        g = build()
        t1 = time.perf_counter_ns()
        engine = wl.Operon(g)
        t2 = time.perf_counter_ns()
        result = await engine.run(dict(wl.INPUTS))
        t3 = time.perf_counter_ns()
        wl.check(name, result, expected)
        t4 = time.perf_counter_ns()
        await engine.run(dict(wl.INPUTS))
        t5 = time.perf_counter_ns()
    except RecursionError as exc:
        print(f"{name:<24} FAIL: RecursionError ({exc})")
        return False
    except Exception as exc:  # report every failure, then go on to the next graph
        print(f"{name:<24} FAIL: {type(exc).__name__}: {exc}")
        return False
    define_ms, compile_ms = (t1 - t0) / 1e6, (t2 - t1) / 1e6
    run1_ms, run2_ms = (t3 - t2) / 1e6, (t5 - t4) / 1e6
    build_us_op = (t2 - t0) / 1e3 / n_ops
    print(
        f"{name:<24} ok  build {define_ms + compile_ms:9.1f} ms "
        f"(define {define_ms:.1f} + Operon {compile_ms:.1f}; {build_us_op:.2f} us/op)  "
        f"run {run1_ms:8.1f} ms, again {run2_ms:8.1f} ms ({run2_ms * 1e3 / n_ops:.3f} us/op)  "
        f"peak RSS so far {_maxrss_mib():.0f} MiB"
    )
    return True


async def main_async(n: int) -> bool:
    ok = await check(f"chain {n}", lambda: wl.build_chain(n), n, wl.expected_chain(n))
    ok &= await check(f"fan-out 1 -> {n} -> 1", lambda: wl.build_fanout(n), n + 2, wl.expected_fanout(n))
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="ops per graph (default 100000)")
    args = ap.parse_args(argv)

    import operonx

    has_core = "operonx._core" in sys.modules
    print(
        f"operonx {getattr(operonx, '__version__', '?')} from {operonx.__file__}"
        f"{'' if has_core else ' (no Rust core: not our engine)'}; "
        f"recursion limit {sys.getrecursionlimit()} (default, never raised here)"
    )
    ok = asyncio.run(main_async(args.n))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
