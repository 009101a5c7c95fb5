"""Compare our operonx with the published pure-Python operonx 0.7.1, in one run.

    python benches/python/run_all.py [--ours PY] [--peer PY] [--rounds N] [--markdown]

Runs ``bench_core.py`` under each interpreter (ours: the repo's ``.venv``, built
with ``maturin develop --release``; the peer: ``benches/peers/operonx-0.7.1/.venv``,
made by ``benches/peers/setup.sh``), alternating the two for ``--rounds`` rounds
so that both see the same machine state, then prints per workload the median over
all repetitions of all rounds and the ratio peer / ours.

If our package cannot be imported (not built yet), the peer is still measured
and our column says so.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

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

BENCH_CORE = HERE / "bench_core.py"

# (workload, metric, label, unit divisor kind)
ROWS = [
    ("W1", "op", "W1 chain of 1000 sync ops", "us/op"),
    ("W1", "run", "W1 chain of 1000 sync ops", "us/run"),
    ("W2", "op", "W2 fan-out 1 -> 1000 -> 1", "us/op"),
    ("W2", "run", "W2 fan-out 1 -> 1000 -> 1", "us/run"),
    ("W3", "run", "W3 5-op diamond, 2000 runs", "us/run"),
    ("B", "op", "B  build a 1000-op chain", "us/op"),
]

# Targets from the issue: absolute (ours, in the row's unit) and ratio (peer / ours).
ABS_TARGETS = {("W1", "op"): 0.3, ("W3", "run"): 3.0, ("B", "op"): 6.0}
RATIO_TARGETS = {("W1", "op"): 20.0, ("W2", "op"): 20.0, ("W3", "run"): 20.0}


@dataclass
class Engine(EngineBase):
    samples: dict[str, list[int]] = field(default_factory=dict)  # workload -> ns per rep
    meta: dict[str, dict[str, int]] = field(default_factory=dict)  # workload -> ops, runs_per_rep
    round_medians: dict[str, list[float]] = field(default_factory=dict)


def probe_operonx(engine: Engine) -> None:
    info = probe(engine, what="`import operonx; operonx.Operon`")
    if info is not None and not engine.label:
        engine.label = f"operonx {info['version']}"


def run_once(engine: Engine, only: str, scale: float) -> None:
    proc = run_bench(engine, BENCH_CORE, only, scale)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench_core.py failed under {engine.label or engine.python}")
    doc = last_json(proc.stdout)
    engine.impl.update(doc["impl"])
    for name, r in doc["results"].items():
        engine.samples.setdefault(name, []).extend(r["samples_ns"])
        engine.meta[name] = {"ops": r["ops"], "runs_per_rep": r["runs_per_rep"]}
        engine.round_medians.setdefault(name, []).append(
            statistics.median(r["samples_ns"]) / r["runs_per_rep"] / 1000
        )


def value_us(engine: Engine, workload: str, metric: str) -> float | None:
    """Median over all repetitions, in µs per run or per op."""
    if not engine.available or workload not in engine.samples:
        return None
    meta = engine.meta[workload]
    per_run = statistics.median(engine.samples[workload]) / meta["runs_per_rep"] / 1000
    return per_run / meta["ops"] if metric == "op" else per_run


def spread(engine: Engine, workload: str, metric: str) -> str:
    meds = engine.round_medians.get(workload)
    if not engine.available or not meds or len(meds) < 2:
        return ""
    div = engine.meta[workload]["ops"] if metric == "op" else 1
    return f"{fmt(min(meds) / div)}..{fmt(max(meds) / div)}"


def build_table(ours: Engine, peer: Engine, only: set[str]) -> tuple[list[str], list[list[str]], list[str]]:
    head = ["workload", "unit", "ours", peer.label or "peer", "ratio", "target", "met"]
    rows: list[list[str]] = []
    misses: list[str] = []
    for workload, metric, label, unit in ROWS:
        if workload not in only:
            continue
        o = value_us(ours, workload, metric)
        p = value_us(peer, workload, metric)
        ratio = p / o if (o and p) else None
        targets: list[str] = []
        met: list[str] = []
        key = (workload, metric)
        if key in ABS_TARGETS:
            t = ABS_TARGETS[key]
            targets.append(f"<= {t:g}")
            if o is not None:
                ok = o <= t
                met.append("yes" if ok else "NO")
                if not ok:
                    misses.append(f"{label}: {fmt(o)} {unit} > {t:g}")
        if key in RATIO_TARGETS:
            t = RATIO_TARGETS[key]
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
                fmt(o) if ours.available else "pending",
                fmt(p),
                f"{ratio:.1f}x" if ratio is not None else "n/a",
                ", ".join(targets),
                "/".join(met) if met else ("" if not targets else "-"),
            ]
        )
    return head, rows, misses


def recursion_note(engine: Engine) -> str:
    return " (recursion limit raised to build)" if engine.impl.get("recursion_limit_raised") else ""


def print_repetitions(engines: list[Engine], rounds: int) -> None:
    for e in engines:
        reps = ", ".join(f"{w} {len(s)}" for w, s in e.samples.items())
        print(f"repetitions, {e.label}: {reps}")
        if rounds > 1:
            spreads = ", ".join(
                f"{label.split()[0]} {spread(e, w, m)} {unit}"
                for w, m, label, unit in ROWS
                if w in e.samples
            )
            print(f"  range of per-round medians: {spreads}")


def json_doc(
    rounds: int, load: float, ours: Engine, peer: Engine, table: tuple[list[str], list[list[str]], list[str]]
) -> dict:
    """What ``--json`` writes: per engine its medians, per-round medians and samples; the table."""
    head, rows, misses = table
    return {
        "rounds": rounds,
        "loadavg_before": load,
        "engines": {
            e.label or e.role: {
                "impl": e.impl,
                "available": e.available,
                "problem": e.problem,
                "medians_us": {
                    f"{w}/{m}": value_us(e, w, m) for w, m, _, _ in ROWS if w in e.samples
                },
                "round_medians_us_per_run": e.round_medians,
                "samples_ns": e.samples,
            }
            for e in (ours, peer)
        },
        "table": {"head": head, "rows": rows},
        "targets_missed": misses,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_driver_args(driver_parser(__doc__.split("\n\n")[0], ["W1", "W2", "W3", "B"]), argv)

    started = time.perf_counter()
    load = load_before()
    ours = Engine("ours", args.ours)
    peer = Engine(*peer_engine(args))
    probe_operonx(ours)
    probe_operonx(peer)
    ours.label = "ours"

    explain_unavailable(ours, peer, "bash benches/peers/setup.sh")
    engines = [e for e in (ours, peer) if e.available]
    if not engines:
        print("nothing to benchmark", file=sys.stderr)
        return 1

    run_interleaved(engines, args.rounds, lambda e: run_once(e, args.only, args.scale))

    only = set(args.only.split(","))
    head, rows, misses = build_table(ours, peer, only)
    print()
    print_engines(ours, peer, recursion_note)
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
