"""W5 for LangGraph: a one-node ``StateGraph`` whose node writes 100 000 items
``{"i": i}`` through ``get_stream_writer()``, read with
``async for chunk in graph.astream(inputs, stream_mode="custom")``. Prints one
JSON document on stdout, in the shape of ``bench_stream.py``'s W5.

    benches/peers/langgraph/.venv/bin/python benches/python/bench_stream_langgraph.py [--pretty]

Two variants of the node, both timed:

* ``W5``  (the one compared): a plain ``def`` node, like the sync generator op
  of the operonx variants. LangGraph runs a sync node in a worker thread, and
  each write reaches the loop thread as it is made.
* ``W5a``: the same node as ``async def``. It never awaits, so every item is
  written before the caller's loop gets control: time to first item is about the
  whole run's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import sys
from typing import Any, TypedDict

from benchlib import emit, perf_ns, run_benches, sample
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

W5_ITEMS = 100_000


class State(TypedDict):
    n: int


def write_items(state: State) -> dict[str, Any]:
    write = get_stream_writer()
    for i in range(state["n"]):
        write({"i": i})
    return {}


async def write_items_async(state: State) -> dict[str, Any]:
    write = get_stream_writer()
    for i in range(state["n"]):
        write({"i": i})
    return {}


def build(node: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("gen", node)
    builder.add_edge(START, "gen")
    builder.add_edge("gen", END)
    return builder.compile()


async def stream_once(graph: Any, n: int) -> tuple[int, int]:
    first_ns = 0
    frames = 0
    chunk: Any = None
    t0 = perf_ns()
    async for chunk in graph.astream({"n": n}, stream_mode="custom"):
        if not first_ns:
            first_ns = perf_ns()
        frames += 1
    total = perf_ns() - t0
    if frames != n or (n and chunk != {"i": n - 1}):
        raise AssertionError(f"expected {n} chunks ending with i={n - 1}, got {frames}, last {chunk!r}")
    return total, (first_ns - t0 if frames else total)


async def bench(node: Any, scale: float) -> dict[str, Any]:
    n = W5_ITEMS
    graph = build(node)
    await stream_once(graph, 10)
    await stream_once(graph, n)  # warm-up

    async def one() -> tuple[int, int]:
        gc.collect()
        return await stream_once(graph, n)

    reps = await sample(one, 1.5 * scale, 3, 300)
    return {"samples_ns": [t for t, _ in reps], "first_ns": [f for _, f in reps], "items": n}


async def bench_w5(scale: float) -> dict[str, Any]:
    return await bench(write_items, scale)


async def bench_w5a(scale: float) -> dict[str, Any]:
    return await bench(write_items_async, scale)


BENCHES = {"W5": bench_w5, "W5a": bench_w5a}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="W5,W5a", help="subset of W5 (sync node), W5a (async node)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--pretty", action="store_true")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    from importlib.metadata import version

    impl = {
        "version": version("langgraph"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }
    results = asyncio.run(run_benches(BENCHES, names, args.scale))
    emit({"impl": impl, "results": results})
    if args.pretty:
        import statistics

        for name, r in results.items():
            print(
                f"{name}: {statistics.median(r['samples_ns']) / 1e3 / r['items']:8.3f} us/item, first "
                f"{statistics.median(r['first_ns']) / 1e3:10.1f} us ({len(r['samples_ns'])} reps)",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
