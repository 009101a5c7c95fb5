"""The functions the authoring tests (tests/test_authoring*.py) use as ops: plain, async and generator
ops, ops whose outputs are open until run time, and a plain function for FuncOp."""

from __future__ import annotations

from operonx.op import op


@op
def add(x, y=1):
    return {"sum": x + y}


@op
def pair(a, b=None):
    if a:
        return {"left": a, "right": b}
    return {"left": None, "$tags": ["t"]}


@op
async def fetch(url, timeout=5):
    return {"body": url}


@op
def count(n):
    for i in range(n):
        yield {"item": i}


@op
async def acount(n):
    for i in range(n):
        yield {"item": i}


@op
def returns_variable(x):
    out = {"a": x}
    return out


@op
def spreads(x):
    return {**x, "b": 1}


@op
def with_nested(x):
    def helper():
        return {"not_mine": 1}

    return {"mine": helper()}


@op
def kwargs_fn(x, **kw):
    return {"x": x, **kw}


@op(bound="cpu", cache=False, delay=0, name="heavy_op", return_keys=["r1", "r2"])
def heavy(v):
    return compute(v)  # noqa: F821 - never run


def plain(**kw):
    return {"total": sum(kw.values())}
