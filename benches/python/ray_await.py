"""How to await Ray ObjectRefs from an asyncio loop, measured: 1 000 trivial tasks submitted at once and
awaited by (a) ``await ref`` per ref, (b) ``asyncio.wrap_future(ref.future())`` per ref, (c) Ray's
completion callback (``ref._on_completed``, what (a) and (b) are built on) queued and handed to the loop
once per batch (what ``RayExecutor`` does), (d) one waiter thread calling ``ray.wait`` on every pending
ref, against (e) ``ray.get([...])`` blocking the loop. Medians of wall time and of this process's CPU
time (the driver's share of the 2 cores) over ``--rounds`` rounds after two warm-up rounds. Run:
``python benches/python/ray_await.py [--rounds N]``."""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import statistics
import threading
import time
import warnings
from typing import Any

N = 1000


def inc(x: int) -> dict[str, int]:
    return {"y": x + 1}


class Batched:
    """(c): Ray's callback thread queues; the loop is woken once per batch."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.queue, self.lock, self.scheduled = loop, collections.deque(), threading.Lock(), False

    def watch(self, ref: Any) -> asyncio.Future[Any]:
        out = self.loop.create_future()
        ref._on_completed(lambda result: self.push(out, result))
        return out

    def push(self, out: asyncio.Future[Any], result: Any) -> None:
        with self.lock:
            self.queue.append((out, result))
            if self.scheduled:
                return
            self.scheduled = True
        self.loop.call_soon_threadsafe(self.drain)

    def drain(self) -> None:
        with self.lock:
            batch, self.scheduled = list(self.queue), False
            self.queue.clear()
        for out, result in batch:
            out.set_result(result)


class Waiter:
    """(d): one thread, ``ray.wait`` over every pending ref, results handed over per batch."""

    def __init__(self, ray: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.ray, self.loop, self.new, self.wake, self.pending = ray, loop, collections.deque(), threading.Event(), {}
        threading.Thread(target=self.run, daemon=True).start()

    def watch(self, ref: Any) -> asyncio.Future[Any]:
        out = self.loop.create_future()
        self.new.append((ref, out))
        self.wake.set()
        return out

    def run(self) -> None:
        while True:
            while self.new:
                ref, out = self.new.popleft()
                self.pending[ref] = out
            if not self.pending:
                self.wake.wait()
                self.wake.clear()
                continue
            ready, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=0.002)
            if ready:
                values = self.ray.get(ready)
                outs = [self.pending.pop(r) for r in ready]
                self.loop.call_soon_threadsafe(lambda o=outs, v=values: [f.set_result(x) for f, x in zip(o, v)])


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(ray: Any, rounds: int) -> dict[str, tuple[float, float]]:
    remote = ray.remote(max_retries=0)(inc)
    loop = asyncio.get_running_loop()
    batched, waiter = Batched(loop), Waiter(ray, loop)
    ways = {
        "ray.get (blocks the loop)": lambda: asyncio.sleep(0, ray.get([remote.remote(i) for i in range(N)])),
        "await ref": lambda: asyncio.gather(*[remote.remote(i) for i in range(N)]),
        "wrap_future(ref.future())": lambda: asyncio.gather(
            *[asyncio.wrap_future(remote.remote(i).future()) for i in range(N)]),
        "_on_completed, one wake per batch": lambda: asyncio.gather(*[batched.watch(remote.remote(i)) for i in range(N)]),
        "waiter thread, ray.wait": lambda: asyncio.gather(*[waiter.watch(remote.remote(i)) for i in range(N)]),
    }
    walls: dict[str, list[float]] = {k: [] for k in ways}
    cpus: dict[str, list[float]] = {k: [] for k in ways}
    for r in range(rounds + 2):
        for name, way in ways.items():
            c0, t0 = _cpu(), time.perf_counter()
            await way()
            if r >= 2:
                walls[name].append(time.perf_counter() - t0)
                cpus[name].append(_cpu() - c0)
    return {k: (statistics.median(walls[k]), statistics.median(cpus[k])) for k in ways}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    import ray  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    result = asyncio.run(measure(ray, args.rounds))
    print(f"{'1000 tasks awaited by':32s} {'wall':>8s} {'driver CPU':>11s}")
    for name, (wall, cpu) in result.items():
        print(f"{name:32s} {wall * 1e3:5.0f} ms {cpu * 1e3:8.0f} ms")
    ray.shutdown()


if __name__ == "__main__":
    main()
