"""The authoring API: ``from operonx.core import GraphOp, op, graph, START, END, PARENT, BranchOp, FuncOp, Operon``.

``Operon`` and ``Middleware`` are loaded on first use from
``operonx.engine`` and ``operonx.middleware``.
"""

from __future__ import annotations

from typing import Any

from operonx.branch import BranchOp
from operonx import graph
from operonx.graph import END, START, GraphOp
from operonx.op import FuncOp, op
from operonx.refs import PARENT, Ref

__all__ = [
    "GraphOp", "op", "graph", "FuncOp", "BranchOp", "START", "END", "PARENT", "Ref", "Operon", "Middleware",
]

_LAZY = {"Operon": "operonx.engine", "Middleware": "operonx.middleware"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'operonx.core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
