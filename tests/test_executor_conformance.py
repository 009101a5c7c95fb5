"""The conformance fixtures (rust/core/tests/conformance/*.json) with every sync code op, plain and
generator, running on worker processes: each document gets ``"executor": "process"`` on those ops and
runs through ``Operon.from_json`` with the shared pool. Results and errors must be the fixture's.

On processes a sync op becomes concurrent (its call is awaited, as an ``async def`` op's is), so frame
order may change: results are compared as multisets where order is not the fixture's point, as
tests/test_conformance.py does for unordered fixtures."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from operonx import Operon
from operonx.errors import InputError, OpError

from conformance.ops import OPS
from executor_ops import T, shared_pool
from test_conformance import FIXTURES, error_of, outputs_and_errors, same_grouped, same_list

pytestmark = pytest.mark.timeout(120)

ASYNC = {name for name, fn in OPS.items() if asyncio.iscoroutinefunction(fn) or hasattr(fn, "__aiter__")}


def on_processes(document: dict) -> tuple[dict, int]:
    """The document with each sync code op on the process executor, and how many ops that is."""
    doc = copy.deepcopy(document)
    moved = 0
    stack = [doc]
    while stack:
        graph = stack.pop()
        for node in graph["ops"].values():
            if node["type"] == "graph":
                stack.append(node["graph"])
            elif node["type"] == "code" and not node.get("is_async"):
                node["executor"] = "process"
                moved += 1
    doc.setdefault("schema_version", "1.0")
    return doc, moved


#: fixtures whose outcome is which of two concurrent ops finishes first: a soft join fires on its first
#: soft predecessor, which the fixture's FIFO order fixes and concurrent calls on processes do not
RACES = {"soft_join_first_wins", "soft_join_list_operator", "soft_and_hard_predecessors"}

CASES = [name for name, fx in FIXTURES.items() if on_processes(fx["document"])[1] and name not in RACES]


def test_most_fixtures_have_ops_to_move():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
async def test_fixture_on_processes(name: str) -> None:
    fx = FIXTURES[name]
    doc, _ = on_processes(fx["document"])
    engine = Operon.from_json(doc, ops=OPS, executors={"process": shared_pool()})
    exp = fx["expected"]
    run: Any = engine.run(fx["inputs"], errors=fx["errors"])
    if "error" in exp:
        with pytest.raises((OpError, InputError)) as info:
            await asyncio.wait_for(run, T)
        assert error_of(info.value) == exp["error"]
        return
    got, errors = outputs_and_errors(await asyncio.wait_for(run, T))
    assert same_grouped(got, exp["result"], False), f"outputs {got!r}, expected {exp['result']!r}"
    assert same_list(errors, exp["errors"], False), f"errors {errors!r}, expected {exp['errors']!r}"
