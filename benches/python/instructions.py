"""Instruction counts per repetition under callgrind: ours against an earlier build of ours.

Wall-clock figures on a shared 2-core machine move by 10-50 % from one minute to the next; the
number of instructions a repetition executes does not (callgrind counts them, whatever else the
machine does). This driver runs each workload under ``valgrind --tool=callgrind`` twice per
interpreter, with N and 2N repetitions after a warm-up, and reports (I(2N) - I(N)) / N, so start-up,
imports and engine builds cancel out. ``PYTHONHASHSEED=0`` keeps dict layouts, and so the counts,
the same from run to run.

    python benches/python/instructions.py --ours .venv/bin/python --before /tmp/old/bin/python
    python benches/python/instructions.py --only W3,N1 --markdown

Workloads are those of ``run_all.py`` (W1, W3, B), ``run_stream.py`` (W5, 2000 items a stream) and
``run_control.py`` (N1, N10, R, L with 1000 iterations).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# workload -> (repetitions N, what one repetition is)
WORKLOADS = {
    "W1": (10, "one run of a 1000-op chain"),
    "W3": (1000, "one run of the 5-op diamond"),
    "W5": (3, "one stream of 2000 items, consumed with async for"),
    "N1": (1000, "one run of a one-op graph"),
    "N10": (300, "one run of a 10-level nested graph"),
    "R": (500, "one run of a 10-way router"),
    "L": (3, "one run of a 1000-iteration loop, 3-op body"),
    "B": (3, "one build of a 1000-op chain into an engine"),
}


def child(which: str, reps: int) -> None:
    """Runs `which` reps + 1 times (the first is a warm-up) under whatever operonx is importable."""
    sys.path.insert(0, str(HERE))
    import control_workloads as c
    import stream_workloads as s
    import workloads as w
    from operonx import Operon

    async def main() -> None:
        if which == "B":
            for _ in range(reps + 1):
                Operon(w.build_chain(1000))
            return
        if which == "W5":
            engine = Operon(s.build_stream())
            for _ in range(reps + 1):
                async for _frame in engine.start(s.stream_inputs(2000)):
                    pass
            return
        graph, inputs = {
            "W1": (lambda: w.build_chain(1000), w.INPUTS),
            "W3": (w.build_diamond, w.INPUTS),
            "N1": (lambda: c.build_nested(1), {"x": 0}),
            "N10": (lambda: c.build_nested(10), {"x": 0}),
            "R": (c.build_router, {"k": 3}),
            "L": (lambda: c.build_loop(1000), {}),
        }[which]
        engine = Operon(graph())
        for _ in range(reps + 1):
            await engine.run(inputs)

    asyncio.run(main())


def count(python: str, which: str, reps: int) -> int:
    """Instructions of a whole child process running `which` `reps` times."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONHASHSEED"] = "0"
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, __file__, "--child", which, str(reps)],
        capture_output=True, text=True, env=env, cwd="/",
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"{which} failed under {python}:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def per_rep(python: str, which: str) -> float:
    n = WORKLOADS[which][0]
    return (count(python, which, 2 * n) - count(python, which, n)) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", default=str(REPO / ".venv" / "bin" / "python"), help="our venv's python")
    ap.add_argument("--before", help="an earlier build of ours (a venv's python), counted in the same run")
    ap.add_argument("--only", default=",".join(WORKLOADS), help=f"subset of {','.join(WORKLOADS)}")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    rows = []
    for which in args.only.split(","):
        ours = per_rep(args.ours, which)
        before = per_rep(args.before, which) if args.before else None
        change = f"{(ours / before - 1) * 100:+.2f} %" if before else "-"
        rows.append([which, WORKLOADS[which][1], f"{ours:,.0f}", f"{before:,.0f}" if before else "-", change])
        print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    head = ["workload", "one repetition", "ours", "ours before", "change"]
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("| --- | --- | ---: | ---: | ---: |")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        for r in [head, *rows]:
            print("  ".join(f"{c:<22}" for c in r))


if __name__ == "__main__":
    main()
