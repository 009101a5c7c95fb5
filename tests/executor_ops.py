"""Ops and helpers of the executor tests (tests/test_executor_*.py). The ops live in this small module
because a worker process imports the module of each function it runs: this one imports nothing heavy.

``shared_pool()`` is one :class:`ProcessExecutor` of two workers for every test that does not need a
pool of its own (spawning workers costs about a second), shut down when the tests end."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from operonx import op
from operonx.executors import ProcessExecutor

T = 30  # seconds: bound on every await (a pool's first start spawns interpreters)

_pool: ProcessExecutor | None = None


def shared_pool() -> ProcessExecutor:
    """The pool the executor tests share (started on first use, waited for)."""
    global _pool
    if _pool is None:
        _pool = ProcessExecutor(2)
        _pool.start(timeout=T)
    return _pool


async def until(check: Any, timeout: float = T, what: str = "condition") -> None:
    """Waits (polling) until ``check()`` is true; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached after {timeout} s")
        await asyncio.sleep(0.01)


# -- ops ----------------------------------------------------------------------------------------------


@op(bound="process")
def square(x):
    return {"y": x * x}


@op(bound="process")
def where(x=None):
    return {"pid": os.getpid(), "x": x}


@op(bound="process")
def spin(ms):
    """A pure-Python CPU loop of about ``ms`` milliseconds."""
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return {"n": n}


@op(bound="process")
def sleeper(seconds, x=None):
    time.sleep(seconds)
    return {"slept": seconds, "x": x, "pid": os.getpid()}


@op(bound="process")
def numbers(n):
    for i in range(n):
        yield {"i": i}


@op(bound="process")
def slow_numbers(n, pause):
    """Yields ``i``, then sleeps ``pause`` seconds, ``n`` times."""
    for i in range(n):
        yield {"i": i}
        time.sleep(pause)


@op(bound="process")
def kill_self(x=None):
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)  # never reached
    return {"x": x}


@op(bound="process", retries=1, backoff=0)
def kill_self_once(marker):
    """Kills its worker the first time (the marker file does not exist yet), then answers."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died once")
        os.kill(os.getpid(), signal.SIGKILL)
    return {"ok": True, "pid": os.getpid()}


@op(bound="process")
def gives_lock(x=None):
    return {"lock": threading.Lock()}


@op(bound="process")
def takes(value):
    return {"type": type(value).__name__}


@op(bound="process")
def fails(x=None):
    raise ValueError(f"bad value {x!r}")


@op
def fails_now(x=None):
    raise RuntimeError("fails at once")


@op
def add_one(y):
    return {"z": y + 1}


@op
def total(ys):
    return {"total": sum(ys)}


@op
def count(n):
    for i in range(n):
        yield {"i": i}


@op(bound="process")
def echo_size(blob):
    return {"n": len(blob), "blob": blob[::-1]}


@op(bound="process")
async def async_square(x):
    await asyncio.sleep(0)
    return {"y": x * x, "pid": os.getpid()}


@op(bound="process")
async def async_numbers(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield {"i": i}
