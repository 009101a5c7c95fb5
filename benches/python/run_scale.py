"""Scale-out benchmarks: CPU-bound ops on threads, on worker processes, and the peers, in one run.

    python benches/python/run_scale.py [--ours PY] [--peer PY] [--langgraph PY] [--reps N] [--markdown]

W6: eight ops of about 50 ms of pure-Python CPU work (a loop that holds the GIL), fanned out from the
graph's start, against the same eight calls made one after another in plain Python (serial). Measured
for ours with ``bound="cpu"`` (the engine's worker threads) and ``bound="process"`` (its pool of
worker processes, one per CPU, started before the clock runs), for the published operonx 0.7.1
(``bound="cpu"``) and for LangGraph (eight sync nodes from START, which it runs on threads). The work
is calibrated once, here, and every engine does exactly the same number of loop iterations.

Overhead: a fan-out of 1000 trivial ops (``nop``, which returns its input) from the graph's start,
inline and on the process pool: the process executor's cost per op is the fan-out's wall time / 1000
(all of it is overhead: the ops do nothing), and what it adds to an inline op is the difference.

Each engine runs in its own interpreter (``--ours``: the repo's ``.venv``, which must be a release
build to mean anything; ``--peer`` and ``--langgraph``: the venvs ``benches/peers/setup.sh`` makes);
an interpreter that is missing is reported, not fatal. Times are medians of ``--reps`` runs after one
warm-up run; W6's ratios are medians over repetitions that each time the serial calls and the
variant back to back (on a shared machine the load drifts less within a pair). See benches/README.md
for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Callable, TypedDict

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale_ops  # noqa: E402  (the work; standard library only)

REPO = HERE.parent.parent
PEERS = REPO / "benches" / "peers"
W6_OPS = 8
W6_MS = 50
FANOUT = 1000


async def _median(run: Callable[[], Any], reps: int) -> float:
    """Median wall time (s) of ``await run()`` over ``reps`` runs, after one warm-up run."""
    return statistics.median(await scale_ops.wall_times(run, reps))


async def _serial(iters: int, reps: int) -> float:
    async def run() -> None:
        for _ in range(W6_OPS):
            scale_ops.work(iters)

    return await _median(run, reps)


async def _paired(run: Callable[[], Any], iters: int, reps: int) -> dict[str, float]:
    """W6 by ``run`` against serial, each repetition timing the serial calls then ``run`` back to back
    (the machine's load drifts less within a pair than across a run): the medians of the variant's
    time and of its ratio to the serial time of its pair."""
    await run()
    times, ratios = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(W6_OPS):
            scale_ops.work(iters)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        await run()
        times.append(time.perf_counter() - t0)
        ratios.append(times[-1] / serial)
    return {"time": statistics.median(times), "ratio": statistics.median(ratios)}


# -- ours ---------------------------------------------------------------------------------------------


def _ours_graphs() -> tuple[Callable[[str], Any], Callable[[str], Any]]:
    from operonx import END, PARENT, START, GraphOp, op

    crunch, nop = op(scale_ops.crunch), op(scale_ops.nop)

    def w6(bound: str) -> Any:
        with GraphOp(name="w6") as g:
            ops = [crunch(iters=PARENT["iters"], bound=bound, name=f"c{i}") for i in range(W6_OPS)]
            START >> ops >> END
        return g

    def fanout(bound: str) -> Any:
        with GraphOp(name="fanout") as g:
            ops = [nop(x=i, bound=bound, name=f"n{i}") for i in range(FANOUT)]
            START >> ops >> END
        return g

    return w6, fanout


async def child_ours(iters: int, reps: int) -> dict[str, Any]:
    from operonx import Operon
    from operonx.executors import ProcessExecutor

    w6, fanout = _ours_graphs()
    out: dict[str, Any] = {"serial": await _serial(iters, reps)}
    threads = Operon(w6("cpu"))
    out["threads"] = await _paired(lambda: threads.run({"iters": iters}), iters, reps)
    pool = ProcessExecutor()  # one worker per CPU
    t0 = time.perf_counter()
    pool.start()
    out["pool_start"] = time.perf_counter() - t0
    out["processes_n"] = pool.processes
    procs = Operon(w6("process"), executors={"process": pool})
    out["processes"] = await _paired(lambda: procs.run({"iters": iters}), iters, reps)
    c0, t0 = time.process_time(), time.perf_counter()
    await _serial(iters, 1)
    out["serial_share"] = (time.process_time() - c0) / (time.perf_counter() - t0)  # of one core
    t0 = time.perf_counter()
    cpu = await _cpu_of(lambda: procs.run({"iters": iters}), pool.pids, 1)
    out["processes_cores"] = cpu["fanout_cpu_workers"] / (time.perf_counter() - t0)
    inline = Operon(fanout("sync"))
    out["fanout_inline"] = await _median(lambda: inline.run({}), reps)
    on_pool = Operon(fanout("process"), executors={"process": pool})
    out["fanout_processes"] = await _median(lambda: on_pool.run({}), reps)
    out.update(await _cpu_of(lambda: on_pool.run({}), pool.pids, reps))
    out.update(await ray_rows(iters, reps))
    pool.shutdown()
    return out


async def _cpu_of(run: Callable[[], Any], pids: list[int], reps: int) -> dict[str, float]:
    """CPU seconds per run of this process (every thread) and of the workers ``pids`` (Linux)."""
    def workers() -> float:
        total = 0.0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    w0, c0 = workers(), time.process_time()
    for _ in range(reps):
        await run()
    return {"fanout_cpu_caller": (time.process_time() - c0) / reps, "fanout_cpu_workers": (workers() - w0) / reps}


# -- Ray rows (benches/python/scale_ray.py) ---------------------------------------------------------


async def ray_rows(iters: int, reps: int, make_executor: Callable[[], Any] | None = None) -> dict[str, Any]:
    """W6 and the 1000-op fan-out on a Ray executor (``make_executor()``), and Ray's own
    ``ray.get([f.remote() for ...])`` for the same 1000 trivial tasks: keys ``ray_w6`` (what
    :func:`_paired` returns for W6 on it), ``ray_fanout`` and ``ray_native_fanout`` (seconds, medians
    of alternating runs). Empty when ``ray`` is not installed (see ``scale_ray.py``)."""
    import scale_ray

    return await scale_ray.ray_rows(iters, reps, make_executor, w6_timer=_paired)


# -- peers --------------------------------------------------------------------------------------------


async def child_operonx071(iters: int, reps: int) -> dict[str, Any]:
    from operonx.core import END, PARENT, START, GraphOp, Operon, op

    crunch = op(bound="cpu")(scale_ops.crunch)
    with GraphOp(name="w6") as g:
        ops = [crunch(iters=PARENT["iters"], name=f"c{i}") for i in range(W6_OPS)]
        START >> ops >> END
    engine = Operon(g)
    return {"serial": await _serial(iters, reps), "threads": await _paired(lambda: engine.run({"iters": iters}), iters, reps)}


async def child_langgraph(iters: int, reps: int) -> dict[str, Any]:
    from langgraph.graph import END, START, StateGraph

    def node(state: State) -> dict[str, Any]:
        return {"acc": [scale_ops.work(state["iters"])]}

    builder = StateGraph(State)
    for i in range(W6_OPS):
        builder.add_node(f"c{i}", node)
        builder.add_edge(START, f"c{i}")
        builder.add_edge(f"c{i}", END)
    graph = builder.compile()
    return {
        "serial": await _serial(iters, reps),
        "threads": await _paired(lambda: graph.ainvoke({"iters": iters, "acc": []}), iters, reps),
    }


class State(TypedDict):
    """LangGraph's state for W6: the iterations, and each node's result appended."""

    iters: int
    acc: Annotated[list, operator.add]


CHILDREN = {"ours": child_ours, "operonx071": child_operonx071, "langgraph": child_langgraph}


# -- driver -------------------------------------------------------------------------------------------


def _child(python: str, name: str, iters: int, reps: int) -> dict[str, Any] | str:
    """What child ``name`` measured under ``python``, or why it could not run."""
    if not Path(python).exists():
        return f"no interpreter {python} (bash benches/peers/setup.sh makes the peers' venvs)"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cmd = [python, str(Path(__file__).resolve()), "--child", name, "--iters", str(iters), "--reps", str(reps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        return f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _rows(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []

    def w6(label: str, who: str, key: str) -> None:
        got = results.get(who)
        if not isinstance(got, dict) or key not in got:
            rows.append([label, "n/a", "n/a", got if isinstance(got, str) else "pending"])
            return
        v = got[key]
        if isinstance(v, dict):  # timed in pairs with the serial calls: the median of the pairs' ratios
            rows.append([label, f"{v['time'] * 1000:.0f} ms", f"{v['ratio']:.2f}x", "paired with serial"])
        else:
            rows.append([label, f"{v * 1000:.0f} ms", f"{v / got['serial']:.2f}x", ""])

    w6(f"W6 serial ({W6_OPS} calls in a row)", "ours", "serial")
    w6("W6 ours, bound=\"cpu\" (threads)", "ours", "threads")
    ours = results.get("ours")
    n = ours.get("processes_n", "?") if isinstance(ours, dict) else "?"
    w6(f"W6 ours, bound=\"process\" ({n} workers)", "ours", "processes")
    if isinstance(ours, dict):
        rows.append(["  cores the machine gave: serial / processes' workers", f"{ours['serial_share']:.2f}",
                     f"{ours['processes_cores']:.2f}", "CPU time / wall time (2.00 = both cores)"])
    w6("W6 operonx 0.7.1, bound=\"cpu\"", "operonx071", "threads")
    w6("W6 LangGraph, 8 sync nodes", "langgraph", "threads")
    w6("W6 ours, Ray executor", "ours", "ray_w6")
    if isinstance(ours, dict):
        per = ours["fanout_processes"] / FANOUT * 1e6
        added = (ours["fanout_processes"] - ours["fanout_inline"]) / FANOUT * 1e6
        rows.append([f"{FANOUT} trivial ops inline", f"{ours['fanout_inline'] * 1000:.1f} ms",
                     f"{ours['fanout_inline'] / FANOUT * 1e6:.1f} us/op", ""])
        rows.append([f"{FANOUT} trivial ops on processes", f"{ours['fanout_processes'] * 1000:.1f} ms",
                     f"{per:.1f} us/op", f"adds {added:.1f} us/op to inline"])
        rows.append(["  CPU of the caller / of the workers, per op", f"{ours['fanout_cpu_caller'] / FANOUT * 1e6:.1f} us",
                     f"{ours['fanout_cpu_workers'] / FANOUT * 1e6:.1f} us", "all threads / both workers"])
        rows.append(["process pool start (warm-up, not timed above)", f"{ours['pool_start'] * 1000:.0f} ms", "", ""])
        for key, label in (("ray_fanout", "on the Ray executor"), ("ray_native_fanout", "ray.get([f.remote() ...])")):
            if key in ours:
                note = f"{ours[key] / ours['ray_native_fanout']:.2f}x ray.get" if key == "ray_fanout" else ""
                rows.append([f"{FANOUT} trivial ops {label}", f"{ours[key] * 1000:.1f} ms",
                             f"{ours[key] / FANOUT * 1e6:.1f} us/op", note])
    return rows


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", default=str(REPO / ".venv" / "bin" / "python"))
    ap.add_argument("--peer", default=str(PEERS / "operonx-0.7.1" / ".venv" / "bin" / "python"))
    ap.add_argument("--langgraph", default=str(PEERS / "langgraph" / ".venv" / "bin" / "python"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--iters", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(CHILDREN[args.child](args.iters, args.reps))))
        return 0
    iters = scale_ops.calibrate(W6_MS)
    print(f"calibrated: {iters} iterations ~ {W6_MS} ms; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}",
          file=sys.stderr)
    results = {
        "ours": _child(args.ours, "ours", iters, args.reps),
        "operonx071": _child(args.peer, "operonx071", iters, args.reps),
        "langgraph": _child(args.langgraph, "langgraph", iters, args.reps),
    }
    rows = _rows(results)
    head = ["workload", "median", "vs serial / per op", "note"]
    if args.markdown:
        print("| " + " | ".join(head) + " |\n|---|---:|---:|---|")
        print("\n".join("| " + " | ".join(r) + " |" for r in rows))
    else:
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
        for r in [head, *rows]:
            print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
