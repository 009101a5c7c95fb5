"""operonx.llm against the official `openai` client, on the same fake provider, in one run.

    python benches/python/llm.py [--rounds N] [--calls N] [--streams N] [--chunks N]

The provider is `operonx.llm.testing` in a process of its own (its CPU is not counted). Each measurement runs
in a fresh child process, ours and the client's alternating for `--rounds` rounds:

* **call**: `--calls` sequential non-streaming chat calls; µs per call. Ours is a one-node graph run with
  `await engine.run(...)`; the client's is `await client.chat.completions.create(...)`. The provider's own
  time is in both: the difference is the overhead of ours above the bare client.
* **streams**: `--streams` concurrent streams of `--chunks` chunks each; the CPU time (`time.process_time()`,
  every thread of the process) spent from start to the last chunk. Ours: that many `engine.start(...)`
  handles iterated at once; the client's: that many `create(stream=True)` iterated at once.
* **latency**: one stream of 200 chunks, 2 ms apart, each carrying its send time; how long after it was sent
  a chunk reaches the caller (µs, median and 99th percentile): ours as a frame of a chat node three graphs
  deep, the client's as a chunk of its stream. Both include the loopback hop and the client's HTTP stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPLY = " ".join(f"w{i}" for i in range(20))


def configure(base_url: str, **knobs) -> None:
    body = json.dumps(knobs).encode()
    url = base_url.replace("/v1", "/_fake/config")
    urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"}), timeout=10)


# -- children ------------------------------------------------------------------------------------------------


def ours_engine(base_url: str, stream: bool, depth: int = 1):
    from operonx import END, START, GraphOp, Operon
    from operonx.llm import chat

    d = Path(tempfile.mkdtemp())
    (d / "r.yaml").write_text(f"llm:\n  base_url: {base_url}\n  api_key: sk-bench\n  model: m\n")

    def level(n: int):
        with GraphOp(name=f"l{n}") as g:
            node = chat(messages="hi", stream=stream) if n == depth else level(n + 1)
            START >> node >> END
        return g

    return Operon(level(1), resources=d / "r.yaml")


async def child(engine_kind: str, what: str, base_url: str, n: int, chunks: int) -> dict:
    if engine_kind == "openai":
        import openai

        client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, timeout=60)
        messages = [{"role": "user", "content": "hi"}]

        async def call():
            return await client.chat.completions.create(model="m", messages=messages)

        async def stream(on_chunk=None):
            got = 0
            async for chunk in await client.chat.completions.create(model="m", messages=messages, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    got += 1
                    if on_chunk:
                        on_chunk(chunk.choices[0].delta.content)
            return got
    else:
        engine = ours_engine(base_url, stream=what != "call", depth=3 if what == "latency" else 1)

        async def call():
            return await engine.run({})

        async def stream(on_chunk=None):
            got = 0
            async for frame in engine.start({}):
                got += 1
                if on_chunk:
                    on_chunk(frame.data["delta"])
            return got

    if what == "call":
        for _ in range(20):
            await call()
        t = time.perf_counter()
        for _ in range(n):
            await call()
        return {"us_per_call": (time.perf_counter() - t) / n * 1e6}
    if what == "streams":
        await stream()
        cpu, wall = time.process_time(), time.perf_counter()
        counts = await asyncio.gather(*(stream() for _ in range(n)))
        assert all(c == chunks for c in counts), counts[:5]
        return {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
    lags: list[float] = []
    await stream(lambda text: lags.append((time.monotonic_ns() - int(text.strip())) / 1e3))
    lags = lags[5:]
    return {"median_us": statistics.median(lags), "p99_us": statistics.quantiles(lags, n=100)[98]}


# -- parent --------------------------------------------------------------------------------------------------


def measure(kind: str, what: str, base_url: str, n: int, chunks: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, what, base_url, str(n), str(chunks)],
        capture_output=True, text=True, timeout=900,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} {what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--chunks", type=int, default=20)
    p.add_argument("--child", nargs=5)
    a = p.parse_args()
    if a.child:
        kind, what, base_url, n, chunks = a.child
        print(json.dumps(asyncio.run(child(kind, what, base_url, int(n), int(chunks)))))
        return
    server = subprocess.Popen([sys.executable, "-m", "operonx.llm.testing"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        results: dict[tuple[str, str], list[dict]] = {}
        plans = [
            ("call", {"reply": REPLY}, a.calls),
            ("streams", {"reply": " ".join(f"w{i}" for i in range(a.chunks))}, a.streams),  # a word per chunk
            ("latency", {"reply": REPLY, "chunks": 200, "chunk_delay": 0.002, "timestamps": True}, 1),
        ]
        for r in range(a.rounds):
            for what, knobs, n in plans:
                for kind in (("ours", "openai") if r % 2 == 0 else ("openai", "ours")):
                    configure(base_url, **{"chunks": None, "chunk_delay": 0.0, "timestamps": False, **knobs})
                    results.setdefault((what, kind), []).append(measure(kind, what, base_url, n, a.chunks))
        report(results, a)
    finally:
        server.stdin.close()
        server.wait(10)


def report(results: dict, a: argparse.Namespace) -> None:
    def med(what: str, kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[(what, kind)])

    def spread(what: str, kind: str, key: str) -> str:
        values = [r[key] for r in results[(what, kind)]]
        return f"{min(values):.1f}-{max(values):.1f}"

    print(f"rounds {a.rounds}; load average before: {open('/proc/loadavg').read().split()[0]}")
    ours, theirs = med("call", "ours", "us_per_call"), med("call", "openai", "us_per_call")
    print(f"call: ours {ours:.1f} µs/call ({spread('call', 'ours', 'us_per_call')}), openai {theirs:.1f} "
          f"({spread('call', 'openai', 'us_per_call')}); ours - openai = {ours - theirs:+.1f} µs (target <= +20)")
    ours, theirs = med("streams", "ours", "cpu_s"), med("streams", "openai", "cpu_s")
    print(f"{a.streams} streams x {a.chunks} chunks: CPU ours {ours:.2f} s, openai {theirs:.2f} s; "
          f"ours / openai = {ours / theirs:.2f} (target <= 0.5); wall ours {med('streams', 'ours', 'wall_s'):.2f} s, "
          f"openai {med('streams', 'openai', 'wall_s'):.2f} s")
    for key in ("median_us", "p99_us"):
        print(f"chunk latency {key[:-3]}: ours (3 levels deep) {med('latency', 'ours', key):.0f} µs, openai "
              f"{med('latency', 'openai', key):.0f} µs")


if __name__ == "__main__":
    main()
