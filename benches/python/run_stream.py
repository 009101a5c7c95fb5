"""Streaming and async benchmarks: our operonx against operonx 0.7.1, LangGraph
and plain asyncio, in one run.

    python benches/python/run_stream.py [--ours PY] [--peer PY] [--langgraph PY]
                                        [--rounds N] [--markdown] [--json PATH]

Per round (order rotated every round, so every engine sees the same machine state):

* ``bench_stream.py --only W4,W5`` under ours (the repo's ``.venv``, built with
  ``maturin develop --release``) and under operonx 0.7.1
  (``benches/peers/operonx-0.7.1/.venv``); the ``asyncio.gather`` baseline of W4
  runs inside our process, interleaved with our runs;
* ``bench_stream_langgraph.py`` under ``benches/peers/langgraph/.venv`` (W5);
* ``bench_stream.py --only M`` and ``--only MR`` under ours, each in a fresh
  process (RSS of a 1 000 000-item stream, with and without ``retain_frames``).

The table holds medians over all repetitions of all rounds (memory: the median
of the per-round values, and the worst). If ours is not built, or cannot run a
workload yet (no ``engine.start``, no generator ops, no ``retain_frames``), its
cell reads ``pending`` and the others are still measured. Peers' venvs come
from ``bash benches/peers/setup.sh``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import benchlib
from benchlib import (
    DEFAULT_OURS,
    DEFAULT_PEER,
    HERE,
    OPERONX_PROBE,
    REPO,
    last_json,
    load_before,
    render_text,
    run_bench,
    wall_time_line,
)
from stream_results import Engine, absorb, build_table, notes, render_markdown

BENCH_STREAM = HERE / "bench_stream.py"
BENCH_LANGGRAPH = HERE / "bench_stream_langgraph.py"
DEFAULT_LANGGRAPH = REPO / "benches" / "peers" / "langgraph" / ".venv" / "bin" / "python"
TIMEOUT_S = 600  # one subprocess; a hung stream in ours becomes "pending", not a hung driver

PROBES = {
    "ours": OPERONX_PROBE,
    "peer": OPERONX_PROBE,
    "before": OPERONX_PROBE,
    "langgraph": "import json, langgraph.graph, langgraph.config; from importlib.metadata import version; "
    "print(json.dumps({'file': langgraph.graph.__file__, 'version': version('langgraph')}))",
}


def probe(engine: Engine) -> None:
    info = benchlib.probe(engine, PROBES[engine.role])
    if info is None:
        return
    if engine.role == "peer":
        engine.label = f"operonx {info['version']}"
    if engine.role == "langgraph":
        engine.label = f"LangGraph {info['version']}"


def run_script(engine: Engine, script: Path, only: str, scale: float) -> dict[str, Any] | None:
    try:
        proc = run_bench(engine, script, only, scale, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        for w in only.split(","):
            engine.errors[w] = f"timed out after {TIMEOUT_S} s"
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        if engine.role != "ours":  # a peer must work: stop with its error
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"{script.name} failed under {engine.label}")
        for w in only.split(","):
            engine.errors[w] = f"process exited {proc.returncode}: {tail[-400:]}"
        return None
    return last_json(proc.stdout)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", default=str(DEFAULT_OURS), help=f"our venv's python (default {DEFAULT_OURS})")
    ap.add_argument("--peer", default=str(DEFAULT_PEER), help=f"operonx 0.7.1's python (default {DEFAULT_PEER})")
    ap.add_argument("--langgraph", default=str(DEFAULT_LANGGRAPH),
                    help=f"LangGraph's python (default {DEFAULT_LANGGRAPH})")
    ap.add_argument("--before", metavar="PY", help="measure an earlier build of OUR package in operonx 0.7.1's "
                    "place, to show a change's before and after in one run; its column reads 'ours before'")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--scale", type=float, default=1.0, help="time-budget multiplier per workload")
    ap.add_argument("--no-memory", action="store_true", help="skip M and MR")
    ap.add_argument("--quick", action="store_true", help="1 round, half the budget (smoke test)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--json", metavar="PATH", help="write medians, notes and all samples here")
    ap.add_argument("--check", action="store_true", help="exit 1 if ours is pending or misses a target")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.scale = 1, args.scale * 0.5
    return args


def engines(args: argparse.Namespace) -> tuple[Engine, Engine, Engine]:
    """Ours, the peer and LangGraph, probed; says on stderr which cannot run."""
    ours = Engine("ours", args.ours, "ours")
    peer = Engine(*benchlib.peer_engine(args, "operonx 0.7.1"))
    lg = Engine("langgraph", args.langgraph, "LangGraph")
    for e in (ours, peer, lg):
        probe(e)
    if not ours.available:
        print(f"NOTE: our operonx is not usable, so its column is 'pending'.\n  {ours.problem}\n"
              "  Build it in release mode first (see benches/README.md) or point --ours at it.",
              file=sys.stderr)
    for e in (peer, lg):
        if not e.available:
            print(f"NOTE: {e.label} is not usable, so its column is 'n/a'.\n  {e.problem}\n"
                  "  Create it with: bash benches/peers/setup.sh", file=sys.stderr)
    return ours, peer, lg


def round_jobs(ours: Engine, peer: Engine, lg: Engine, memory: bool) -> list[tuple[Engine, Path, str]]:
    """The (engine, script, workloads) jobs of one round."""
    jobs: list[tuple[Engine, Path, str]] = []
    if ours.available:
        jobs.append((ours, BENCH_STREAM, "W4,W5"))
    if peer.available:
        jobs.append((peer, BENCH_STREAM, "W4,W5"))
    if lg.available:
        jobs.append((lg, BENCH_LANGGRAPH, "W5,W5a"))
    if ours.available and memory:
        jobs.append((ours, BENCH_STREAM, "M"))
        jobs.append((ours, BENCH_STREAM, "MR"))
    return jobs


def run_rounds(jobs: list[tuple[Engine, Path, str]], rounds: int, scale: float) -> None:
    for rnd in range(rounds):
        k = rnd % len(jobs)
        order = jobs[k:] + jobs[:k]
        for e, script, only in order:
            if e.role == "ours" and only in ("M", "MR") and only in e.errors and rnd > 0:
                continue  # a pending workload stays pending; don't retry it every round
            t0 = time.perf_counter()
            absorb(e, run_script(e, script, only, scale))
            print(f"round {rnd + 1}/{rounds}: {e.label:<16} {only:<6} "
                  f"{time.perf_counter() - t0:5.1f} s", file=sys.stderr)


def write_json(path: str, args: argparse.Namespace, load: Any, table: tuple[list[str], list[list[str]], list[str]],
               note_lines: list[str], all_engines: tuple[Engine, ...]) -> None:
    head, rows, misses = table
    doc = {
        "rounds": args.rounds,
        "loadavg_before": load,
        "table": {"head": head, "rows": rows},
        "notes": note_lines,
        "targets_missed": misses,
        "engines": {
            e.label: {
                "impl": e.impl, "available": e.available, "problem": e.problem, "errors": e.errors,
                "samples_ns": e.samples, "memory": e.memory, "items": e.items,
            }
            for e in all_engines
        },
    }
    Path(path).write_text(json.dumps(doc, indent=1))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load = load_before()
    ours, peer, lg = engines(args)
    jobs = round_jobs(ours, peer, lg, memory=not args.no_memory)
    if not jobs:
        print("nothing to benchmark", file=sys.stderr)
        return 1
    run_rounds(jobs, args.rounds, args.scale)

    head, rows, misses = build_table(ours, peer, lg)
    print()
    print(f"python {sys.version.split()[0]} driver; {args.rounds} round(s), order rotated; medians over all "
          f"repetitions of all rounds (memory: median of rounds, worst in brackets)")
    print()
    print(render_markdown(head, rows) if args.markdown else render_text(head, rows, right={2, 3, 4, 5}))
    print()
    note_lines = notes(ours, peer, lg, args.rounds)
    print("\n".join(note_lines))
    print(wall_time_line(started, load))
    if misses:
        print("\ntargets missed:\n  " + "\n  ".join(misses))
    if args.json:
        write_json(args.json, args, load, (head, rows, misses), note_lines, (ours, peer, lg))

    pending = (not ours.available) or any(w in ours.errors for w in ("W4", "W5", "M"))
    if args.check and (pending or misses):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
