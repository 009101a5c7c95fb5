"""What the benchmark scripts in this folder share. Standard library only: the
in-process scripts (``bench_*.py``) import it under the peers' interpreters too,
and find it because a script run by path has its own folder first on
``sys.path``.

In-process side (``bench_core.py``, ``bench_stream.py``, ``bench_stream_langgraph.py``):
``sample``, ``run_benches``, ``bench_args``, ``operonx_impl``, ``emit``.

Driver side (``run_all.py``, ``run_stream.py``, ``run_control.py``): the default
interpreters, ``EngineBase`` and ``probe``, ``run_bench``, ``last_json``, ``fmt``,
``render_text``, ``render_markdown``, ``load_before``, ``wall_time_line``, and for
the drivers comparing ours with one peer ``driver_parser``, ``run_interleaved``,
``print_engines`` and ``print_comparison``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Sequence

perf_ns = time.perf_counter_ns

# --------------------------------------------------------------------------
# In-process side
# --------------------------------------------------------------------------


async def sample(
    one: Callable[[], Awaitable[Any]], seconds: float, min_reps: int, max_reps: int
) -> list[Any]:
    """``await one()`` at least ``min_reps`` and at most ``max_reps`` times, and in
    between until ``seconds`` have passed since the call; the results in order.
    Warm-up is the caller's business: do it before."""
    out: list[Any] = []
    deadline = perf_ns() + int(seconds * 1e9)
    while len(out) < max_reps and (len(out) < min_reps or perf_ns() < deadline):
        out.append(await one())
    return out


Bench = Callable[[float], Awaitable[dict[str, Any]]]


async def run_benches(
    benches: Mapping[str, Bench], names: Sequence[str], scale: float, keep_going: bool = False
) -> dict[str, Any]:
    """Run the named workloads in order, each after a ``gc.collect()``, adding
    ``wall_s`` to each result. With ``keep_going`` a workload that raises is
    reported as ``{"error", "traceback"}`` and the next one still runs."""
    results: dict[str, Any] = {}
    for name in names:
        gc.collect()
        t0 = time.perf_counter()
        try:
            results[name] = await benches[name](scale)
        except Exception as exc:
            if not keep_going:
                raise
            results[name] = {  # reported, not fatal: the driver prints "pending"
                "error": f"{type(exc).__name__}: {exc}"[:500],
                "traceback": traceback.format_exc()[-3000:],
            }
        results[name]["wall_s"] = round(time.perf_counter() - t0, 3)
    return results


def bench_args(
    doc: str, benches: Mapping[str, Bench], default_only: str, argv: list[str] | None
) -> argparse.Namespace:
    """``--only``, ``--scale``, ``--pretty``; ``args.names`` is ``--only`` as a
    checked list."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--only", default=default_only, help=f"comma-separated subset of {','.join(benches)}")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every time budget by this")
    ap.add_argument("--pretty", action="store_true", help="also print medians to stderr")
    args = ap.parse_args(argv)
    args.names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in args.names if n not in benches]
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(unknown)}")
    return args


def operonx_impl(**extra: Any) -> dict[str, Any]:
    """Which ``operonx`` this interpreter imports (``extra`` goes after ``rust_core``)."""
    import operonx

    version = getattr(operonx, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("operonx")
        except Exception:  # pragma: no cover
            version = "unknown"
    return {
        "version": version,
        "file": getattr(operonx, "__file__", None),
        "rust_core": sys.modules.get("operonx._core") is not None,
        **extra,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


def emit(doc: dict[str, Any]) -> None:
    """The one JSON line on stdout that the driver reads."""
    json.dump(doc, sys.stdout)
    sys.stdout.write("\n")


# --------------------------------------------------------------------------
# Driver side
# --------------------------------------------------------------------------

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_OURS = REPO / ".venv" / "bin" / "python"
DEFAULT_PEER = REPO / "benches" / "peers" / "operonx-0.7.1" / ".venv" / "bin" / "python"

OPERONX_PROBE = (
    "import json, sys, operonx; operonx.Operon; "
    "print(json.dumps({'file': operonx.__file__, "
    "'version': getattr(operonx, '__version__', '?'), "
    "'rust_core': 'operonx._core' in sys.modules}))"
)


@dataclass
class EngineBase:
    role: str  # "ours" or "peer" (both operonx), or another peer's name
    python: str
    label: str = ""
    available: bool = False
    problem: str = ""
    impl: dict[str, Any] = field(default_factory=dict)


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    # The interpreter alone decides which packages are imported; no tracing side channels.
    for var in list(env):
        if var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP") or var.startswith(
            ("LANGSMITH_", "LANGCHAIN_")
        ):
            env.pop(var)
    return env


def run_python(
    python: str, args: list[str], timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, *args], capture_output=True, text=True, env=clean_env(), cwd="/", timeout=timeout
    )


def last_json(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


def probe(engine: EngineBase, code: str = OPERONX_PROBE, what: str = "import") -> dict[str, Any] | None:
    """Run ``code`` under the engine's interpreter; fill ``impl``, ``available``
    and ``problem``. An ``"ours"`` without the Rust core, or a ``"peer"`` with
    it, is not available. Returns what ``code`` printed, or None if it failed."""
    if not Path(engine.python).exists():
        engine.problem = f"interpreter {engine.python} does not exist"
        return None
    proc = run_python(engine.python, ["-c", code])
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        engine.problem = f"{what} fails under {engine.python}: {last}"
        return None
    info = last_json(proc.stdout)
    engine.impl = info
    engine.available = True
    if engine.role == "ours" and not info["rust_core"]:
        engine.available = False
        engine.problem = (
            f"{engine.python} imports {info['file']}, which has no Rust core: that is not our package"
        )
    if engine.role == "peer" and info["rust_core"]:
        engine.available = False
        engine.problem = f"{engine.python} imports our package ({info['file']}), not the peer"
    if engine.role == "before" and not info["rust_core"]:
        engine.available = False
        engine.problem = f"{engine.python} imports {info['file']}, which is not a build of our package"
    return info


def peer_engine(args: argparse.Namespace, label: str = "") -> tuple[str, str, str]:
    """Role, interpreter and label of the engine measured against ours: the peer, or with
    ``--before PY`` an earlier build of our own package (a change's before and after in one run)."""
    if args.before:
        return "before", args.before, "ours before"
    return "peer", args.peer, label


def run_bench(
    engine: EngineBase, script: Path, only: str, scale: float, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """``script --only ONLY --scale SCALE`` under the engine's interpreter."""
    return run_python(engine.python, [str(script), "--only", only, "--scale", str(scale)], timeout)


def fmt(v: float | None, grouped_from: float = 1000) -> str:
    """A value for the table: thousands grouped from ``grouped_from`` up, fewer
    decimals the larger it is."""
    if v is None:
        return "n/a"
    if v >= grouped_from:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def render_text(head: list[str], rows: list[list[str]], right: set[int]) -> str:
    """Aligned columns; those in ``right`` right-aligned."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        )

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def render_markdown(head: list[str], rows: list[list[str]], align: list[str]) -> str:
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def load_before() -> float:
    """The load average now, with a warning on stderr if it is high."""
    load = os.getloadavg()[0]
    if load > 0.7:
        print(
            f"WARNING: load average is {load:.2f} before starting: other processes compete "
            f"for the CPU and the numbers will be noisy",
            file=sys.stderr,
        )
    return load


def wall_time_line(started: float, load_before: float) -> str:
    return (
        f"total wall time: {time.perf_counter() - started:.0f} s; load average {load_before:.2f} "
        f"before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)"
    )


def driver_parser(description: str, workloads: Sequence[str]) -> argparse.ArgumentParser:
    """The options every comparison driver shares (ours against operonx 0.7.1, interleaved rounds)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--ours", default=str(DEFAULT_OURS), help=f"our venv's python (default {DEFAULT_OURS})")
    ap.add_argument("--peer", default=str(DEFAULT_PEER), help=f"the peer venv's python (default {DEFAULT_PEER})")
    ap.add_argument(
        "--before",
        metavar="PY",
        help="measure an earlier build of OUR package (a venv's python) in the peer's place, to show a "
        "change's before and after in one run; its column reads 'ours before'",
    )
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds per engine (default 5)")
    ap.add_argument("--scale", type=float, default=1.0, help="time-budget multiplier per workload")
    ap.add_argument("--only", default=",".join(workloads), help=f"subset of {','.join(workloads)}")
    ap.add_argument("--quick", action="store_true", help="1 round, half the budget (smoke test)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--json", metavar="PATH", help="write medians, per-round values and all samples here")
    ap.add_argument("--check", action="store_true", help="exit 1 if ours is unavailable or misses a target")
    return ap


def parse_driver_args(ap: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parses a driver's options; ``--quick`` means one round with half the budget."""
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.scale = 1, args.scale * 0.5
    return args


def run_interleaved(engines: list[EngineBase], rounds: int, run_once: Callable[[EngineBase], None]) -> None:
    """``run_once(engine)`` for every engine, ``rounds`` times, the order swapped every round so that both
    see the same machine state; how long each took goes to stderr."""
    for rnd in range(rounds):
        order = engines if rnd % 2 == 0 else engines[::-1]
        for e in order:
            t0 = time.perf_counter()
            run_once(e)
            print(
                f"round {rnd + 1}/{rounds}: {e.label:<14} {time.perf_counter() - t0:5.1f} s",
                file=sys.stderr,
            )


def print_engines(ours: EngineBase, peer: EngineBase, note: Callable[[EngineBase], str] = lambda e: "") -> None:
    """Which operonx each engine measured and from where (and ``note(engine)``), or why it measured nothing."""
    for e in (ours, peer):
        if e.available:
            print(f"{e.label}: operonx {e.impl.get('version')} from {e.impl.get('file')}{note(e)}")
        else:
            print(f"{e.label or e.role}: NOT MEASURED: {e.problem}")


def print_comparison(args: argparse.Namespace, peer: EngineBase, head: list[str], rows: list[list[str]]) -> None:
    """How the table was measured, then the table (Markdown with ``--markdown``)."""
    print(
        f"python {sys.version.split()[0]} driver; {args.rounds} interleaved round(s); "
        f"medians over all repetitions; ratio = {peer.label or 'peer'} / ours"
    )
    print()
    if args.markdown:
        print(render_markdown(head, rows, ["---", "---", "---:", "---:", "---:", "---", "---"]))
    else:
        print(render_text(head, rows, right={2, 3, 4}))
    print()


def explain_unavailable(ours: EngineBase, peer: EngineBase, peer_setup: str) -> None:
    """Says on stderr why an engine's column will be empty, and how to fix it."""
    if not ours.available:
        print(
            "NOTE: our operonx is not usable, so its column is 'pending'.\n"
            f"  {ours.problem}\n"
            "  Build it in release mode first, e.g. `make bench`, or:\n"
            "    python3 -m venv .venv && .venv/bin/pip install 'maturin>=1.9.4,<2'\n"
            "    VIRTUAL_ENV=$PWD/.venv .venv/bin/maturin develop --locked --release\n"
            "  or point --ours at another interpreter that has it.",
            file=sys.stderr,
        )
    if not peer.available:
        print(
            "NOTE: the peer is not usable, so its column is 'n/a'.\n"
            f"  {peer.problem}\n"
            f"  Create it with: {peer_setup}",
            file=sys.stderr,
        )
