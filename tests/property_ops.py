"""The op functions of the property tests (tests/test_property.py, tests/test_property_control.py): one
per kind of op of reference.FUNCS, sync and async, each recording its tag in ORDER when its body starts and
raising Boom when told to fail. Their bodies must stay in step with reference.compute."""

from __future__ import annotations

import asyncio

from operonx import op

ORDER: list[str] = []  # op bodies append their tag; cleared before every run


class Boom(Exception):
    pass


def start(tag, fail):
    ORDER.append(tag)
    if fail:
        raise Boom(tag)


@op
def fv(a=0, b=0, c=0, k=1, tag=None, fail=False):
    start(tag, fail)
    return {"v": a + b + c + k}


@op
def fw(a, b=10, k=2, tag=None, fail=False):
    start(tag, fail)
    return {"w": 2 * a + b + k}


@op
def fvw(b, a=5, k=3, tag=None, fail=False):
    start(tag, fail)
    return {"v": a + b + k, "w": a - b + k}


@op
async def afv(a=0, b=0, c=0, k=1, tag=None, fail=False, d=0.0):
    start(tag, fail)
    await asyncio.sleep(d)
    return {"v": a + b + c + k}


@op
async def afw(a, b=10, k=2, tag=None, fail=False, d=0.0):
    start(tag, fail)
    await asyncio.sleep(d)
    return {"w": 2 * a + b + k}


@op
async def afvw(b, a=5, k=3, tag=None, fail=False, d=0.0):
    start(tag, fail)
    await asyncio.sleep(d)
    return {"v": a + b + k, "w": a - b + k}
