"""What tracing costs: W1 (a 1000-op chain, one run) and W3 (the 5-op diamond, 2000 runs) untraced,
with a LocalTracer, and with an OpenTelemetryTracer exporting to the SDK's in-memory exporter, all in
one process and interleaved by rounds; then 100 runs of W1 (100 000 op executions) through the
OpenTelemetryTracer, counting the spans that reach the exporter.

    python benches/python/bench_tracing.py [--rounds 5] [--json out.json]
    python benches/python/bench_tracing.py --child W3 1000 local   # N runs, for callgrind (below)

Reported per mode, as the median over rounds of each round's median repetition: the wall time
(µs per op for W1, µs per run for W3) and the CPU time of the event loop's thread
(``time.thread_time_ns``), which is what the loop pays: the LocalTracer's files are written on
the engine's tracing thread and the OpenTelemetry SDK runs on the tracer's own thread. Traces are
flushed (``operonx.tracing.flush``) after each repetition, outside its timing, so the next one
does not share the machine with the previous one's export.

``--child WL N MODE`` (MODE: none, local, otel) makes N runs of W1 or W3 after a warm-up run and
flushes the traces: under ``valgrind --tool=callgrind --separate-threads=yes``, the counts of the
main thread (the ``-01`` file) for N and 3N runs give the event loop's instructions per run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads as w  # noqa: E402

import operonx.tracing  # noqa: E402
from operonx import Operon  # noqa: E402

W3_RUNS = 2000


def otel_tracer():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from operonx.tracing.otel import OpenTelemetryTracer

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OpenTelemetryTracer(tracer_provider=provider), exporter


async def one(engine: Operon, runs: int) -> tuple[int, int]:
    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
    for _ in range(runs):
        await engine.run(w.INPUTS)
    return time.perf_counter_ns() - wall, time.thread_time_ns() - cpu


async def measure(engines: dict, reps: dict, rounds: int) -> dict:
    samples: dict = {key: ([], []) for key in engines}
    for r in range(rounds):
        order = list(engines) if r % 2 == 0 else list(reversed(engines))
        for key in order:
            engine, runs, ops = engines[key]
            walls, cpus = [], []
            for _ in range(reps[key[0]]):
                gc.collect()
                wall, cpu = await one(engine, runs)
                operonx.tracing.flush(60)
                walls.append(wall / ops / 1000)
                cpus.append(cpu / ops / 1000)
            samples[key][0].append(statistics.median(walls))
            samples[key][1].append(statistics.median(cpus))
    return {k: (statistics.median(v[0]), statistics.median(v[1]), min(v[0]), max(v[0])) for k, v in samples.items()}


async def completeness(runs: int) -> dict:
    tracer, exporter = otel_tracer()
    engine = Operon(w.build_chain(1000), tracer=tracer)
    started = time.perf_counter()
    loop_cpu = time.thread_time_ns()
    for _ in range(runs):
        await engine.run(w.INPUTS)
    loop_cpu = time.thread_time_ns() - loop_cpu
    ran = time.perf_counter() - started
    assert tracer.force_flush(600)
    exported = exporter.get_finished_spans()
    ops = sum(1 for s in exported if s.name.startswith("chain."))
    return {
        "runs": runs, "op_spans_expected": runs * 1000, "op_spans_exported": ops,
        "workflow_spans": sum(1 for s in exported if s.name.startswith("invoke_workflow")),
        "runs_s": round(ran, 2), "loop_cpu_us_per_op": round(loop_cpu / runs / 1000 / 1000, 3),
        "export_done_s": round(time.perf_counter() - started, 2),
    }


async def child(workload: str, runs: int, mode: str) -> None:
    tracer = {"none": lambda: None, "local": lambda: operonx.tracing.LocalTracer(path=tempfile.mkdtemp()),
              "otel": lambda: otel_tracer()[0]}[mode]()
    graph = w.build_chain(1000) if workload == "W1" else w.build_diamond()
    engine = Operon(graph, tracer=tracer)
    for _ in range(runs + 1):
        await engine.run(w.INPUTS)
    operonx.tracing.flush(600)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        await child(args.child[0], int(args.child[1]), args.child[2])
        return
    traces = Path(tempfile.mkdtemp(prefix="operonx-bench-traces-"))
    local = operonx.tracing.LocalTracer(path=traces)
    otel, _exporter = otel_tracer()
    engines = {}
    for mode, tracer in (("none", None), ("local", local), ("otel", otel)):
        engines[("W1", mode)] = (Operon(w.build_chain(1000), tracer=tracer), 1, 1000)
        engines[("W3", mode)] = (Operon(w.build_diamond(), tracer=tracer), W3_RUNS, W3_RUNS)
    for engine, runs, _ in engines.values():  # warm-up
        await one(engine, min(runs, 50))
    operonx.tracing.flush(60)
    figures = await measure(engines, {"W1": 30, "W3": 3}, args.rounds)
    rows = []
    for wl, unit in (("W1", "µs/op"), ("W3", "µs/run")):
        base_wall, base_cpu = figures[(wl, "none")][:2]
        for mode in ("none", "local", "otel"):
            wall, cpu, lo, hi = figures[(wl, mode)]
            rows.append({
                "workload": wl, "tracer": mode, "unit": unit, "wall": round(wall, 3), "loop_cpu": round(cpu, 3),
                "wall_range": [round(lo, 3), round(hi, 3)],
                "added_wall": round(wall - base_wall, 3), "added_loop_cpu": round(cpu - base_cpu, 3),
                "ratio_wall": round(wall / base_wall, 2), "ratio_loop_cpu": round(cpu / base_cpu, 2),
            })
    complete = await completeness(100)
    for r in rows:
        print(
            f"{r['workload']} {r['tracer']:>5}: wall {r['wall']:.3f} {r['unit']} (x{r['ratio_wall']}, "
            f"+{r['added_wall']:.3f}), loop thread CPU {r['loop_cpu']:.3f} (x{r['ratio_loop_cpu']}, "
            f"+{r['added_loop_cpu']:.3f}), rounds {r['wall_range']}"
        )
    print("OpenTelemetry, 100 runs of W1:", json.dumps(complete))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "completeness": complete}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
