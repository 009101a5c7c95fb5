"""The op vocabulary of the conformance fixtures, as plain Python functions.

Documents name these by ``func_name``; the Rust runner registers the same names with the same
behaviour (``rust/core/tests/conformance_ops/mod.rs``). Values are JSON: ints, strings, lists, None.
A failing op raises ``RuntimeError("boom")``; the Rust twin returns the error ``"boom"``.
"""

from __future__ import annotations

import asyncio


def inc(x):
    return {"y": x + 1}


def add(a, b):
    return {"y": a + b}


def scale(x, k=10):
    return {"y": x * k}


def echo(v=None):
    return {"v": v}


def split(x):
    return {"lo": x - 1, "hi": x + 1}


def tagged(x):
    return {"y": x, "$tags": ["seen"]}


def step(n):
    return {"n": n + 1}


def accum(n, acc=None):
    return {"n": n + 1, "acc": (acc or []) + [n]}


def fail(x=None):
    raise RuntimeError("boom")


def fail_at(n, at):
    if n == at:
        raise RuntimeError("boom")
    return {"n": n + 1}


def total(xs):
    return {"sum": sum(xs), "xs": list(xs)}


def count_to(n):
    for i in range(n):
        yield {"i": i}


def spread(x):
    for j in range(x):
        yield {"z": x * 10 + j}


async def ainc(x):
    await asyncio.sleep(0)
    return {"y": x + 1}


async def acount_to(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield {"i": i}


#: Every op of the vocabulary, by the ``func_name`` documents give it.
OPS = {
    f.__name__: f
    for f in (inc, add, scale, echo, split, tagged, step, accum, fail, fail_at, total, count_to, spread, ainc,
              acount_to)
}
