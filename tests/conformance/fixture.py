"""How a case module writes a fixture: ``@case`` on a function that builds its graph with the builder
and returns :func:`fixture`; the function's name is the fixture's name, its docstring the description.

The expectation is written by hand from the behaviour spec, never copied from what an engine prints.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from operonx import GraphOp, op

from conformance import ops as plain

#: Every case, in registration order.
CASES: list[Callable[[], dict]] = []

# The vocabulary as builder ops: func_name in the documents is the plain function's name.
inc = op(plain.inc)
add = op(plain.add)
scale = op(plain.scale)
echo = op(plain.echo)
split = op(plain.split)
tagged = op(plain.tagged)
step = op(plain.step)
accum = op(plain.accum)
fail = op(plain.fail)
fail_at = op(plain.fail_at)
total = op(plain.total)
count_to = op(plain.count_to)
spread = op(plain.spread)
ainc = op(plain.ainc)
acount_to = op(plain.acount_to)


def case(fn: Callable[[], dict]) -> Callable[[], dict]:
    """Registers a fixture builder."""
    CASES.append(fn)
    return fn


def frame(op_name: str, *context: str, **data: Any) -> dict:
    """An expected frame: the op's short name, its context below ``"main"`` and its data."""
    return {"op": op_name, "context": ["main", *context], "data": data}


def err(kind: str, op_full_name: str, *context: str) -> dict:
    """An expected error: ``OpFailed`` or ``MissingInput``, the op's full name, its context below ``"main"``."""
    return {"kind": kind, "op": op_full_name, "context": ["main", *context]}


def fixture(
    graph: GraphOp,
    *,
    inputs: dict | None = None,
    frames: list[dict] = (),
    result: dict | None = None,
    errors: list[dict] | None = None,
    error: dict | None = None,
    mode: str = "raise",
    ordered: bool = True,
) -> dict:
    """The parts of a fixture a case gives; :func:`build` adds the name and description.

    ``error`` makes it a failed run (``frames`` are then the ones produced before the failure);
    otherwise ``result`` is the grouped outputs and ``errors`` what ``errors="continue"`` collected.
    """
    expected: dict[str, Any] = {"frames": list(frames), "frames_ordered": ordered}
    if error is not None:
        assert result is None and not errors, "a failed run has no result"
        expected["error"] = error
    else:
        expected["result"] = result if result is not None else {}
        expected["errors"] = list(errors or [])
    return {"document": _without_modules(graph.export_config()), "inputs": inputs or {}, "errors": mode, "expected": expected}


def _without_modules(doc: dict) -> dict:
    """The document without the Python module of each code op's function (``"module"``): the fixtures are
    read by every driver, and the Rust drivers bind ops by ``func_name`` alone."""
    stack = [doc]
    while stack:
        g = stack.pop()
        for node in g.get("ops", {}).values():
            if node.get("type") == "code":
                node.pop("module", None)
            elif node.get("type") == "graph":
                stack.append(node["graph"])
    return doc


def build(fn: Callable[[], dict]) -> dict:
    """The whole fixture of one case, keys in the documented order."""
    parts = fn()
    description = " ".join(inspect.getdoc(fn).split())
    return {"name": fn.__name__, "description": description, **parts}
