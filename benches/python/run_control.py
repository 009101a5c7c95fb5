"""Control-flow benchmarks: our operonx against operonx 0.7.1, in one run.

    python benches/python/run_control.py [--ours PY] [--peer PY] [--rounds N] [--markdown] [--json PATH]

Runs ``bench_control.py`` under each interpreter (ours: the repo's ``.venv``,
built with ``maturin develop --release``; the peer:
``benches/peers/operonx-0.7.1/.venv``, made by ``benches/peers/setup.sh``),
alternating the two for ``--rounds`` rounds (order swapped every round) so that
both see the same machine state, then prints per workload the median over all
repetitions of all rounds and the ratio peer / ours.

N: nested graphs (10 levels, and 1 level for the per-level cost); R: a router
over 10 branches; L: a loop with a 3-op body for 10 000 iterations. Where ours
cannot build a workload's graph, its cell reads "not supported yet" and the peer
is still measured. If our package cannot be imported at all, its column reads
"pending".
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    HERE,
    EngineBase,
    driver_parser,
    peer_engine,
    explain_unavailable,
    fmt,
    last_json,
    load_before,
    parse_driver_args,
    print_comparison,
    print_engines,
    probe,
    run_bench,
    run_interleaved,
    wall_time_line,
)

BENCH_CONTROL = HERE / "bench_control.py"
TIMEOUT_S = 600
WORKLOADS = ("N", "R", "L")

# (row id, workload, label, unit)
ROWS = [
    ("N10", "N", "N  10-level nested graph, 2000 runs", "µs/run"),
    ("N1", "N", "N  1-level graph (one op), 2000 runs", "µs/run"),
    ("NL", "N", "N  per level: (N10 - N1) / 9", "µs/level"),
    ("R", "R", "R  router over 10 branches, 2000 runs", "µs/run"),
    ("L", "L", "L  loop, 3-op body, 10 000 iterations", "µs/iter"),
    ("Lop", "L", "L  per op of the body: L / 3", "µs/op"),
    ("Lrun", "L", "L  loop, 3-op body, 10 000 iterations", "ms/run"),
]

# Targets from the issue: absolute (ours, in the row's unit) and ratio (peer / ours).
ABS_TARGETS = {"NL": 1.0, "Lop": 1.0}
RATIO_TARGETS = {"N10": 20.0, "NL": 20.0, "R": 20.0, "L": 20.0}


@dataclass
class Engine(EngineBase):
    # workload -> key ("samples_ns", "base_ns") -> all samples of all rounds
    samples: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    round_values: dict[str, list[float]] = field(default_factory=dict)  # row id -> per-round median
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def probe_operonx(engine: Engine) -> None:
    info = probe(engine, what="`import operonx; operonx.Operon`")
    if info is not None and not engine.label:
        engine.label = f"operonx {info['version']}"


def row_value(row: str, samples: dict[str, list[int]], meta: dict[str, Any]) -> float:
    """A row's value (µs per run / level / iteration, or ms per run) from the
    samples of one workload: medians of the raw per-repetition nanoseconds."""
    med = statistics.median
    runs = meta.get("runs_per_rep", 1)
    if row == "N10":
        return med(samples["samples_ns"]) / runs / 1000
    if row == "N1":
        return med(samples["base_ns"]) / runs / 1000
    if row == "NL":
        deep = med(samples["samples_ns"]) / runs / 1000
        flat = med(samples["base_ns"]) / runs / 1000
        return (deep - flat) / (meta["levels"] - 1)
    if row == "R":
        return med(samples["samples_ns"]) / runs / 1000
    if row == "L":
        return med(samples["samples_ns"]) / 1000 / meta["iterations"]
    if row == "Lop":
        return med(samples["samples_ns"]) / 1000 / meta["iterations"] / meta["body_ops"]
    if row == "Lrun":
        return med(samples["samples_ns"]) / 1e6
    raise KeyError(row)


def run_once(engine: Engine, only: str, scale: float) -> None:
    try:
        proc = run_bench(engine, BENCH_CONTROL, only, scale, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"bench_control.py timed out after {TIMEOUT_S} s under {engine.label}")
    if proc.returncode != 0 or not proc.stdout.strip():
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench_control.py failed under {engine.label or engine.python}")
    doc = last_json(proc.stdout)
    engine.impl.update(doc["impl"])
    for name, r in doc["results"].items():
        if "error" in r:  # a wrong answer or a crash is never a number: stop
            sys.stderr.write(r.get("traceback", ""))
            raise SystemExit(f"{name} failed under {engine.label}: {r['error']}")
        if "unsupported" in r:
            if engine.role != "ours":
                raise SystemExit(f"{name} cannot be built under {engine.label}: {r['unsupported']}")
            engine.unsupported[name] = r["unsupported"]
            continue
        meta = {k: v for k, v in r.items() if not k.endswith("_ns") and k != "wall_s"}
        engine.meta[name] = meta
        for key in ("samples_ns", "base_ns"):
            if key in r:
                engine.samples.setdefault(name, {}).setdefault(key, []).extend(r[key])
        for row, workload, _, _ in ROWS:
            if workload == name:
                engine.round_values.setdefault(row, []).append(row_value(row, r, meta))


def value(engine: Engine, row: str, workload: str) -> float | None:
    """Median over all repetitions of all rounds."""
    if not engine.available or workload not in engine.samples:
        return None
    return row_value(row, engine.samples[workload], engine.meta[workload])


def cell(engine: Engine, row: str, workload: str) -> str:
    if not engine.available:
        return "pending" if engine.role == "ours" else "n/a"
    if workload in engine.unsupported:
        return "not supported yet"
    return fmt(value(engine, row, workload))


def build_table(ours: Engine, peer: Engine, only: set[str]) -> tuple[list[str], list[list[str]], list[str]]:
    head = ["workload", "unit", "ours", peer.label or "peer", "ratio", "target", "met"]
    rows: list[list[str]] = []
    misses: list[str] = []
    for row, workload, label, unit in ROWS:
        if workload not in only:
            continue
        o = value(ours, row, workload)
        p = value(peer, row, workload)
        ratio = p / o if (o and p and o > 0) else None
        targets: list[str] = []
        met: list[str] = []
        if row in ABS_TARGETS:
            t = ABS_TARGETS[row]
            targets.append(f"<= {t:g}")
            if o is not None:
                ok = o <= t
                met.append("yes" if ok else "NO")
                if not ok:
                    misses.append(f"{label}: {fmt(o)} {unit} > {t:g}")
        if row in RATIO_TARGETS:
            t = RATIO_TARGETS[row]
            targets.append(f">= {t:g}x")
            if ratio is not None:
                ok = ratio >= t
                met.append("yes" if ok else "NO")
                if not ok:
                    misses.append(f"{label}: ratio {ratio:.1f}x < {t:g}x")
        rows.append(
            [
                label,
                unit,
                cell(ours, row, workload),
                cell(peer, row, workload),
                f"{ratio:.1f}x" if ratio is not None else "n/a",
                ", ".join(targets),
                "/".join(met) if met else ("" if not targets else "-"),
            ]
        )
    return head, rows, misses


def print_repetitions(engines: list[Engine], rounds: int) -> None:
    for e in engines:
        reps = ", ".join(f"{w} {len(s['samples_ns'])}" for w, s in e.samples.items())
        print(f"repetitions, {e.label}: {reps}")
        if rounds > 1 and e.round_values:
            spreads = ", ".join(
                f"{row} {fmt(min(v))}..{fmt(max(v))} {unit}"
                for row, _, _, unit in ROWS
                if (v := e.round_values.get(row))
            )
            print(f"  range of per-round medians: {spreads}")
        for w, msg in e.unsupported.items():
            print(f"  {w} not supported yet: {msg}")


def json_doc(
    rounds: int, load: float, ours: Engine, peer: Engine, table: tuple[list[str], list[list[str]], list[str]]
) -> dict:
    """What ``--json`` writes: per engine its medians, per-round values, metadata and samples; the table."""
    head, rows, misses = table
    return {
        "rounds": rounds,
        "loadavg_before": load,
        "engines": {
            e.label or e.role: {
                "impl": e.impl,
                "available": e.available,
                "problem": e.problem,
                "unsupported": e.unsupported,
                "medians": {
                    row: value(e, row, w) for row, w, _, _ in ROWS if w in e.samples
                },
                "round_medians": e.round_values,
                "meta": e.meta,
                "samples_ns": e.samples,
            }
            for e in (ours, peer)
        },
        "table": {"head": head, "rows": rows},
        "targets_missed": misses,
    }


def main(argv: list[str] | None = None) -> int:
    ap = driver_parser(__doc__.split("\n\n")[0], WORKLOADS)
    args = parse_driver_args(ap, argv)
    only_list = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in only_list if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(unknown)}")
    only_arg = ",".join(only_list)

    started = time.perf_counter()
    load = load_before()
    ours = Engine("ours", args.ours)
    peer = Engine(*peer_engine(args))
    probe_operonx(ours)
    probe_operonx(peer)
    ours.label = "ours"

    explain_unavailable(ours, peer, "bash benches/peers/setup.sh operonx-0.7.1")
    engines = [e for e in (ours, peer) if e.available]
    if not engines:
        print("nothing to benchmark", file=sys.stderr)
        return 1

    run_interleaved(engines, args.rounds, lambda e: run_once(e, only_arg, args.scale))

    head, rows, misses = build_table(ours, peer, set(only_list))
    print()
    print_engines(ours, peer)
    print_comparison(args, peer, head, rows)
    print_repetitions(engines, args.rounds)
    print(wall_time_line(started, load))
    if misses:
        print("\ntargets missed:\n  " + "\n  ".join(misses))

    if args.json:
        Path(args.json).write_text(json.dumps(json_doc(args.rounds, load, ours, peer, (head, rows, misses)), indent=1))

    if args.check and (not ours.available or misses):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
