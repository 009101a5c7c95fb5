"""Instructions per streamed chunk on each thread of `operonx.llm`, counted by valgrind's callgrind.

    python benches/python/llm_chunk_instructions.py [--chunks 50,150] [--delay 0.02]

One stream of a `chat(stream=True)` node three graphs deep, iterated by the caller, against the fake provider
(`operonx.llm.testing`, in a process of its own, not counted). The child runs twice under
`valgrind --tool=callgrind --separate-threads=yes`, with the two chunk counts; the difference of each thread's
instructions divided by the difference of the counts is that thread's cost of one chunk, start-up and
imports cancelled out. Thread 1 is the event loop's (the drain, the generator, the run, the consumer,
asyncio's turns); thread 2 the tokio thread (HTTP, server-sent events, the chunk's JSON). The chunks are
`--delay` apart so that each one wakes the loop on its own, as in the latency measurement of `run_llm.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path


def child(base_url: str, n: int) -> None:
    from operonx import END, START, GraphOp, Operon
    from operonx.llm import chat

    d = Path(tempfile.mkdtemp())
    (d / "r.yaml").write_text(f"llm:\n  base_url: {base_url}\n  api_key: sk-bench\n  model: m\n")

    def level(k: int):
        with GraphOp(name=f"l{k}") as g:
            node = chat(messages="hi", stream=True) if k == 3 else level(k + 1)
            START >> node >> END
        return g

    async def main() -> int:
        return len([f async for f in Operon(level(1), resources=d / "r.yaml").start({})])

    got = asyncio.run(main())
    assert got == n, (got, n)


def thread_totals(out: str) -> dict[str, int]:
    """Instructions of each thread of a callgrind run (`out.<pid>-<thread>` files)."""
    totals = {}
    for path in glob.glob(out + ".*-*"):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("summary:"):
                    totals[path.rsplit("-", 1)[1]] = int(line.split()[1])
    return totals


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--chunks", default="50,150")
    p.add_argument("--delay", type=float, default=0.02)
    p.add_argument("--child", nargs=2)
    a = p.parse_args()
    if a.child:
        child(a.child[0], int(a.child[1]))
        return
    low, high = (int(x) for x in a.chunks.split(","))
    server = subprocess.Popen([sys.executable, "-m", "operonx.llm.testing"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    totals = {}
    try:
        base_url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            for n in (low, high):
                knobs = {"reply": " ".join(f"w{i}" for i in range(n)), "chunk_delay": a.delay, "chunks": None}
                url = base_url.replace("/v1", "/_fake/config")
                urllib.request.urlopen(urllib.request.Request(url, json.dumps(knobs).encode(),
                                                              {"Content-Type": "application/json"}), timeout=10)
                out = os.path.join(tmp, f"cg.{n}")
                subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes", "-q",
                                f"--callgrind-out-file={out}.%p", sys.executable, __file__, "--child", base_url,
                                str(n)], check=True)
                totals[n] = thread_totals(out)
    finally:
        server.stdin.close()
        server.wait(10)
    for thread in sorted(totals[high]):
        per_chunk = (totals[high][thread] - totals[low].get(thread, 0)) / (high - low)
        print(f"thread {int(thread)}: {per_chunk:,.0f} instructions per chunk")


if __name__ == "__main__":
    main()
