"""The authoring API: ``from operonx.core import GraphOp, op, graph, START, END, PARENT, BranchOp, FuncOp, Operon``.

The names are those of the top-level chapters (``operonx.graph``, ``operonx.op``, ``operonx.engine``...);
this package only gives them 0.7.1's import paths.
"""

from __future__ import annotations

from operonx.branch import BranchOp
from operonx.engine import Operon
from operonx import graph
from operonx.graph import END, START, GraphOp
from operonx.middleware import Middleware
from operonx.op import FuncOp, op
from operonx.refs import PARENT, Ref
from operonx.resources import ResourceHub
from operonx.textops import ParserOp, PromptOp

__all__ = [
    "GraphOp", "op", "graph", "FuncOp", "BranchOp", "START", "END", "PARENT", "Ref", "Operon", "Middleware",
    "ParserOp", "PromptOp", "ResourceHub",
]
