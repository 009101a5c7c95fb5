"""operonx.llm against the official `openai` client, on the same fake provider, in one run.

    python benches/python/run_llm.py [--rounds N] [--calls N] [--streams N] [--chunks N] [--no-capture]

The provider is `operonx.llm.testing` in a process of its own (its CPU is not counted). Each measurement runs
in a fresh child process, ours and the client's alternating for `--rounds` rounds:

* **call**: `--calls` sequential non-streaming chat calls; µs per call. Ours is a one-node graph run with
  `await engine.run(...)`; the client's is `await client.chat.completions.create(...)`. The provider's own
  time is in both: the difference is the overhead of ours above the bare client.
* **streams**: `--streams` concurrent streams of `--chunks` chunks each; the CPU time (`time.process_time()`,
  every thread of the process) spent from start to the last chunk, and the chunks delivered to the caller per
  second of wall time. Ours: that many `engine.start(...)` handles iterated at once; the client's: that many
  `create(stream=True)` iterated at once.
* **latency**: one stream of 200 chunks, 2 ms apart, each carrying its send time; how long after it was sent
  a chunk reaches the caller (µs, median and 99th percentile): ours as a frame of a chat node three graphs
  deep, the client's as a chunk of its stream. Both include the loopback hop and the client's HTTP stack.
  With root (the default when run as root; `--no-capture` turns it off) a third process captures the
  stream's packets on the loopback interface (an `AF_PACKET` socket with kernel timestamps), so each chunk's
  *arrival* at the interface is known too: "arrival → caller" is the time from the packet to the caller.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import select
import socket
import struct
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
        wall = time.perf_counter() - wall
        return {"cpu_s": time.process_time() - cpu, "wall_s": wall, "chunks_per_s": sum(counts) / wall}
    got: list[tuple[int, int, int]] = []  # (send stamp, monotonic and wall-clock time at the caller)
    await stream(lambda text: got.append((int(text.strip()), time.monotonic_ns(), time.time_ns())))
    got = got[5:]
    lags = [(mono - sent) / 1e3 for sent, mono, _ in got]
    return {"median_us": statistics.median(lags), "p99_us": statistics.quantiles(lags, n=100)[98],
            "seen": {str(sent): wall for sent, _, wall in got}}


# -- the loopback capture ------------------------------------------------------------------------------------

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
STAMP = re.compile(rb'"content": "(\d+)"')


def sniff(port: int) -> None:
    """Until stdin closes: each chunk of the stream from `port` on `lo`, by its send stamp, with the kernel's
    wall-clock time of its packet (the first copy seen); printed as JSON at the end."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0800))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(("lo", 0))
    print("ready", flush=True)
    arrived: dict[str, int] = {}
    while True:
        ready, _, _ = select.select([s, sys.stdin], [], [], 1.0)
        if sys.stdin in ready and not sys.stdin.readline():
            break
        if s not in ready:
            continue
        data, ancillary, _, _ = s.recvmsg(65536, 64)
        if len(data) < 14 + 20 or data[14 + 9] != socket.IPPROTO_TCP:
            continue
        ip = 14 + (data[14] & 0x0F) * 4
        if struct.unpack("!H", data[ip:ip + 2])[0] != port:
            continue
        stamp_ns = next((sec * 10**9 + nsec for level, kind, raw in ancillary
                         if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS
                         for sec, nsec in [struct.unpack("qq", raw[:16])]), None)
        if stamp_ns is None:
            continue
        for m in STAMP.finditer(data):
            arrived.setdefault(m.group(1).decode(), stamp_ns)
    print(json.dumps(arrived), flush=True)


def captured(base_url: str, run) -> tuple[dict, dict | None]:
    """`run()`'s result and, as root, the capture of its stream's packets."""
    if os.geteuid() != 0:
        return run(), None
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    sniffer = subprocess.Popen([sys.executable, __file__, "--sniff", str(port)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert sniffer.stdout.readline().strip() == "ready"
    try:
        result = run()
    finally:
        sniffer.stdin.close()
    arrived = json.loads(sniffer.stdout.read().strip().splitlines()[-1])
    sniffer.wait(10)
    return result, arrived


def arrival_lags(result: dict, arrived: dict) -> dict:
    """From each chunk's packet to the caller: median and 99th percentile (µs)."""
    lags = [(wall - arrived[sent]) / 1e3 for sent, wall in result["seen"].items() if sent in arrived]
    if len(lags) < len(result["seen"]) * 0.9:
        raise SystemExit(f"the capture saw {len(lags)} of {len(result['seen'])} chunks")
    return {"arrival_median_us": statistics.median(lags), "arrival_p99_us": statistics.quantiles(lags, n=100)[98]}


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
    p.add_argument("--chunks", type=int, default=200)
    p.add_argument("--no-capture", action="store_true")
    p.add_argument("--child", nargs=5)
    p.add_argument("--sniff", type=int)
    a = p.parse_args()
    if a.sniff:
        sniff(a.sniff)
        return
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
                    if what == "latency" and not a.no_capture:
                        got, arrived = captured(base_url, lambda: measure(kind, what, base_url, n, a.chunks))
                        got.update(arrival_lags(got, arrived) if arrived is not None else {})
                    else:
                        got = measure(kind, what, base_url, n, a.chunks)
                    results.setdefault((what, kind), []).append(got)
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
          f"openai {med('streams', 'openai', 'wall_s'):.2f} s; chunks/s ours {med('streams', 'ours', 'chunks_per_s'):,.0f}, "
          f"openai {med('streams', 'openai', 'chunks_per_s'):,.0f}")
    keys = ["median_us", "p99_us"] + (["arrival_median_us", "arrival_p99_us"] if "arrival_median_us" in
                                      results[("latency", "ours")][0] else [])
    for key in keys:
        what = "arrival → caller" if key.startswith("arrival") else "send → caller"
        print(f"chunk latency {what} {key.split('_')[-2]}: ours (3 levels deep) {med('latency', 'ours', key):.0f} µs "
              f"({spread('latency', 'ours', key)}), openai {med('latency', 'openai', key):.0f} µs")


if __name__ == "__main__":
    main()
