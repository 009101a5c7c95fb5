"""The conformance fixtures (rust/core/tests/conformance/*.json) through the Python driver.

Each fixture's document is compiled by ``operonx._core.Engine`` with the vocabulary of
``tests/conformance/ops.py`` bound by ``func_name``: there is no public way yet to run a raw document
with callables bound by name, so this is the lowest-level path (``Operon.run`` / ``Operon.start`` are
the three lines ``run`` and ``start`` below repeat; the handle is the public ``ExecutionHandle``).
Every fixture is checked four ways: ``run()``, ``start().result()`` and ``start().collect(unwrap=True)``
(all three give the same result, loops included) and the frames of ``async for`` over a handle. The same files run through the Rust driver in
rust/core/tests/conformance.rs.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections import Counter
from typing import Any

import pytest

import operonx._core as core
from operonx.errors import InputError, OpError, RunCancelled
from operonx.handle import ExecutionHandle

import conformance_gen
from conformance.ops import OPS

pytestmark = pytest.mark.timeout(60)

T = 10  # seconds: bound on every await

CHECKS = ("run", "result", "collect", "frames")

# Where the Python driver disagrees with a fixture's expectation: (fixture, check) -> what differs. Each
# entry is asserted to still fail (strict xfail): fixing the driver makes the entry fail until removed.
KNOWN_DISCREPANCIES: dict[tuple[str, str], str] = {}

FIXTURES = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(conformance_gen.FIXTURES.glob("*.json"))}


def engine_for(document: dict) -> Any:
    """The document compiled with every code op bound, by ``func_name``, to its vocabulary function."""
    doc = copy.deepcopy(document)
    hosts: list = []
    slots: dict[str, int] = {}
    stack = [doc]
    while stack:
        graph = stack.pop()
        for node in graph["ops"].values():
            if node["type"] == "graph":
                stack.append(node["graph"])
            elif node["type"] == "code":
                name = node["func_name"]
                if name not in slots:
                    slots[name] = len(hosts)
                    hosts.append(OPS[name])
                node["callable"] = {"$host": slots[name]}
    return core.Engine(json.dumps(doc), hosts)


async def run(engine: Any, fx: dict) -> dict:
    result = engine.run(fx["inputs"], fx["errors"])
    if result.__class__ is not dict:
        result = await asyncio.wait_for(result, T)
    return result


def start(engine: Any, fx: dict) -> ExecutionHandle:
    return ExecutionHandle(engine.start(fx["inputs"], fx["errors"], True), engine.name)


async def started(engine: Any, fx: dict, method: str) -> Any:
    """Starts a run and awaits ``handle.result()`` or ``handle.collect()``: a run that fails may fail as
    it starts or when awaited."""
    handle = start(engine, fx)
    return await (handle.collect(unwrap=True) if method == "collect" else handle.result())


# -- comparing ----------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value as JSON holds it (tuples become lists)."""
    return json.loads(json.dumps(value))


def key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def same_list(got: list, want: list, ordered: bool) -> bool:
    return got == want if ordered else Counter(map(key, got)) == Counter(map(key, want))


def same_grouped(got: dict, want: dict, ordered: bool) -> bool:
    """Grouped outputs; with unordered frames a list value is compared as a multiset."""
    if ordered:
        return got == want

    def unordered(grouped: dict) -> dict:
        return {k: sorted(map(key, v)) if isinstance(v, list) else v for k, v in grouped.items()}

    return unordered(got) == unordered(want)


def error_of(exc: BaseException) -> dict:
    """An engine error as fixtures write it."""
    if isinstance(exc, OpError):
        kind = "OpFailed"
    elif isinstance(exc, InputError):
        kind = "MissingInput" if exc.op is not None else "RunInputs"
    elif isinstance(exc, RunCancelled):
        kind = "Cancelled"
    else:
        raise AssertionError(f"not an engine error: {exc!r}") from exc
    context = None if exc.context is None else list(exc.context)
    return {"kind": kind, "op": exc.op, "context": context}


def outputs_and_errors(result: dict) -> tuple[dict, list]:
    out = {k: v for k, v in result.items() if k not in ("$state", "$errors")}
    return plain(out), [error_of(e) for e in result.get("$errors", [])]


def assert_outcome(got: dict, errors: list, want: dict, expected_errors: list, ordered: bool) -> None:
    assert same_grouped(got, want, ordered), f"outputs {got!r}, expected {want!r}"
    assert same_list(errors, expected_errors, ordered), f"errors {errors!r}, expected {expected_errors!r}"


async def expect_failure(awaitable: Any, want: dict) -> None:
    with pytest.raises((OpError, InputError)) as info:
        await asyncio.wait_for(awaitable, T)
    assert error_of(info.value) == want


# -- the four checks -------------------------------------------------------------------------------------


async def check_run(fx: dict) -> None:
    engine, exp = engine_for(fx["document"]), fx["expected"]
    if "error" in exp:
        return await expect_failure(run(engine, fx), exp["error"])
    got, errors = outputs_and_errors(await run(engine, fx))
    assert_outcome(got, errors, exp["result"], exp["errors"], exp["frames_ordered"])


async def check_result(fx: dict) -> None:
    engine, exp = engine_for(fx["document"]), fx["expected"]
    if "error" in exp:
        return await expect_failure(started(engine, fx, "result"), exp["error"])
    got, errors = outputs_and_errors(await asyncio.wait_for(start(engine, fx).result(), T))
    assert_outcome(got, errors, exp["result"], exp["errors"], exp["frames_ordered"])


async def check_collect(fx: dict) -> None:
    engine, exp = engine_for(fx["document"]), fx["expected"]
    if "error" in exp:
        return await expect_failure(started(engine, fx, "collect"), exp["error"])
    # With unwrap=True, collect() groups as run() and result() do: the same result, loops included.
    got, errors = outputs_and_errors(await asyncio.wait_for(start(engine, fx).collect(unwrap=True), T))
    assert_outcome(got, errors, exp["result"], exp["errors"], exp["frames_ordered"])


async def check_frames(fx: dict) -> None:
    engine, exp = engine_for(fx["document"]), fx["expected"]
    frames: list[dict] = []

    async def drain() -> None:
        # A run may fail as it starts (inputs that are not a mapping) or while it streams.
        async for op_name, ctx, data in start(engine, fx):
            frames.append(plain({"op": op_name, "context": list(ctx), "data": data}))

    if "error" in exp:
        await expect_failure(drain(), exp["error"])
    else:
        await asyncio.wait_for(drain(), T)
    assert same_list(frames, exp["frames"], exp["frames_ordered"]), f"frames {frames!r}, expected {exp['frames']!r}"


CHECK = {"run": check_run, "result": check_result, "collect": check_collect, "frames": check_frames}


def cases() -> list:
    params = []
    for name in FIXTURES:
        for check in CHECKS:
            marks = []
            if (name, check) in KNOWN_DISCREPANCIES:
                reason = KNOWN_DISCREPANCIES[name, check]
                marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))
            params.append(pytest.param(name, check, id=f"{name}-{check}", marks=marks))
    return params


@pytest.mark.parametrize(("name", "check"), cases())
async def test_fixture(name: str, check: str) -> None:
    await CHECK[check](FIXTURES[name])


# -- the fixtures themselves -------------------------------------------------------------------------------


def test_the_fixture_files_are_what_the_cases_build():
    assert conformance_gen.differences() == [], "run: python tests/conformance_gen.py"


def test_there_are_enough_fixtures_and_each_is_well_formed():
    assert len(FIXTURES) >= 45
    for name, fx in FIXTURES.items():
        assert fx["name"] == name and fx["description"] and fx["errors"] in ("raise", "continue")
        assert fx["document"]["schema_version"] == "1.0"
        exp = fx["expected"]
        assert ("error" in exp) != ("result" in exp), name


def test_every_known_discrepancy_names_a_fixture_and_a_check():
    for name, check in KNOWN_DISCREPANCIES:
        assert name in FIXTURES and check in CHECKS, (name, check)


def test_every_op_of_the_documents_is_in_the_vocabulary():
    used = set()
    for fx in FIXTURES.values():
        stack = [fx["document"]]
        while stack:
            graph = stack.pop()
            for node in graph["ops"].values():
                if node["type"] == "graph":
                    stack.append(node["graph"])
                elif node["type"] == "code":
                    used.add(node["func_name"])
    assert used <= set(OPS)
