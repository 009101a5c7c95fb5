"""The graph document (schema 1.0, see ``docs/graph-schema.md``).

``GraphOp.export_config()`` (alias ``serialize()``) returns it as a JSON-ready dict: a
:class:`GraphDocument`. The engine compiles the same document, written as JSON text with the live
Python objects it refers to (every literal, default and transform argument, and each code op's
``callable``) as ``{"$host": i}`` entries: :func:`engine_document`. Both come from one writer, so
what is exported is what runs.

Besides code ops, a document holds branches (``"type": "branch"``: ``cases`` with a condition ref,
a target and the case's text, ``default``, outputs ``target`` / ``matched``) and nested graphs
(``"type": "graph"``: the node's ``inputs`` / ``outputs`` in the outer graph's scope, and the nested
graph's own ``graph`` document, whose refs to its inputs have the nested graph's full name as their
source). A branch condition's ``PARENT[k]``, where ``k`` is one of the branch's own inputs, is written
with the branch's full name as its source.

``Operon.from_json()`` reads such a document back (:func:`bind_document`): each code op is bound to
a Python function by its ``func_name`` (through ``ops=``, then :mod:`operonx.registry`), and the
document runs as the graph it was exported from, its literals being the JSON values it holds.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, Union

from operonx._authoring.binding import DocumentSource, OpsMapping, bind_document, read_document
from operonx._authoring.writer import SCHEMA_VERSION, engine_document, export_config

__all__ = [
    "SCHEMA_VERSION", "BranchDoc", "CaseDoc", "CodeOpDoc", "DocumentSource", "EdgeDoc", "GraphBodyDoc",
    "GraphDocument", "GraphNodeDoc", "LoopDoc", "OpDoc", "OpsMapping", "ParamDoc", "RefDoc", "bind_document",
    "engine_document", "export_config", "read_document",
]


class _RefDocBase(TypedDict):
    source: str
    var: Any
    transforms: list[list[Any]]
    is_output: bool


class RefDoc(_RefDocBase, total=False):
    """A ref: the op (full name) or graph it reads, the key, the transforms, the stream policy."""

    policy: Literal["parallel", "collect"]
    max: int


class _ParamDocBase(TypedDict):
    required: bool
    default: Any
    ref: RefDoc | None


class ParamDoc(_ParamDocBase, total=False):
    """An input or output of an op or graph; ``literal`` when it is bound to a plain value."""

    literal: Any


#: An op-to-op edge of one graph.
EdgeDoc = TypedDict("EdgeDoc", {"from": str, "to": str, "soft": bool})


class LoopDoc(TypedDict):
    """A loop's stop condition (its text, or a callable shown by name) and its cap."""

    until: str | dict | None
    max_iterations: int


class _OpDocBase(TypedDict):
    type: str
    name: str
    full_name: str
    enabled: bool
    inputs: dict[str, ParamDoc]
    outputs: dict[str, ParamDoc]
    forward_all: bool


class _CodeOpDocBase(_OpDocBase):
    func_name: str
    bound: Literal["sync", "io", "cpu", "process"]
    is_async: bool
    is_generator: bool


class CodeOpDoc(_CodeOpDocBase, total=False):
    """A Python function op; ``executor`` names the executor its calls run on (``"process"`` for
    ``bound="process"``), with its ``executor_options`` (``@op(ray={...})``) when it has any."""

    module: str
    executor: str
    executor_options: dict[str, Any]


class CaseDoc(TypedDict):
    """One case of a branch: its condition, the op it runs, and the condition as text."""

    condition: RefDoc
    target: str
    text: str


class BranchDoc(_OpDocBase):
    """A branch (``if_(...)``): runs the first target whose condition holds, else the default."""

    cases: list[CaseDoc]
    default: str | None


class GraphBodyDoc(TypedDict):
    """A graph's own part: its ops, edges, entries and exits."""

    name: str
    full_name: str
    concurrency: int | None
    ops: dict[str, "OpDoc"]
    edges: list[EdgeDoc]
    entries: list[str]
    exits: list[str]


class _GraphNodeDocBase(_OpDocBase):
    graph: GraphBodyDoc


class GraphNodeDoc(_GraphNodeDocBase, total=False):
    """A nested graph as a node of its outer graph."""

    loop: LoopDoc


OpDoc = Union[CodeOpDoc, BranchDoc, GraphNodeDoc]


class _GraphDocumentBase(TypedDict):
    schema_version: str
    type: Literal["graph"]
    name: str
    full_name: str
    concurrency: int | None
    inputs: dict[str, ParamDoc]
    outputs: dict[str, ParamDoc]
    ops: dict[str, OpDoc]
    edges: list[EdgeDoc]
    entries: list[str]
    exits: list[str]
    initial_ready_count: dict[str, int]
    compiled_adj: dict[str, list[list[Any]]]


class GraphDocument(_GraphDocumentBase, total=False):
    """The whole document, as ``GraphOp.export_config()`` returns it."""

    loop: LoopDoc
