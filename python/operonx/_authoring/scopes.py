"""Which refs an op may read, binding checks, and the messages for bad inputs.

An op of a graph reads the graph's inputs (``PARENT[...]``) and the outputs of the graph's own ops (a
nested graph's results included, as ``sub["k"]``); anything else is refused with a message that says
how to pass the value instead.
"""

from __future__ import annotations

from typing import Any, Iterator

from operonx._authoring.naming import is_valid_name
from operonx._authoring.nodes import OpNode, Terminal
from operonx.errors import GraphError, GraphTypeError
from operonx.refs import PARENT, AnyOf, ParentType, Ref

__all__ = ["bad_input", "check_binding", "check_scope", "refs_in"]

_MISSING: Any = object()


def refs_in(value: Any) -> Iterator[Ref]:
    """Every ref in ``value`` (a ref, refs in its transform arguments, in lists/tuples/dicts)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Ref):
            yield v
            for _, args in v.tf_:
                stack.extend(args)
        elif type(v) is tuple or type(v) is list:
            stack.extend(v)
        elif type(v) is AnyOf:
            stack.extend(v.refs)
        elif type(v) is dict:
            stack.extend(v.values())


def ancestors(g: Any) -> list[Any]:
    out = []
    while g is not None:
        out.append(g)
        g = g.graph
    return out


def check_scope(graph: Any, who: str, key: str, value: Any) -> None:
    """Raise :class:`GraphError` when a ref in ``value`` reads an op that ``graph``'s ops cannot see.

    An op of ``graph`` reads graph inputs (``PARENT[...]``) and the outputs of
    ``graph``'s own ops (a nested graph's results included, as ``sub["k"]``).
    ``who`` names the reader and ``key`` the input being bound, for the
    message.
    """
    for r in refs_in(value):
        src = r.src_
        if src is PARENT or isinstance(src, ParentType):
            continue
        g = getattr(src, "graph", _MISSING)
        if g is graph:
            continue
        if g is _MISSING:
            raise GraphTypeError(f"{who}: input {key!r} reads {src!r}, which is not an op")
        raise_scope(graph, who, key, r)


def raise_scope(graph: Any, who: str, key: str, r: Ref) -> None:
    src = r.src_
    outer = ancestors(graph.graph)
    if src is graph or src in outer:
        raise GraphError(
            f"{who} in graph {graph.full_name!r}: input {key!r} reads {src.full_name}[{r.var_!r}], an "
            f"output of a graph it is inside; read a graph's inputs with PARENT[...] instead"
        )
    if src.graph in outer:
        raise GraphError(
            f"{who} in graph {graph.full_name!r}: input {key!r} reads {src.full_name}[{r.var_!r}], "
            f"which is outside the nested graph {graph.full_name!r}. Pass the value through PARENT: "
            f"bind it as an input of the nested graph (GraphOp(..., inputs={{{key!r}: "
            f"{src.name}[{r.var_!r}]}})) and read PARENT[{key!r}] inside it."
        )
    inner = ancestors(src.graph)
    if graph in inner:
        sub = inner[inner.index(graph) - 1]
        raise GraphError(
            f"{who} in graph {graph.full_name!r}: input {key!r} reads {src.full_name}[{r.var_!r}], "
            f"an op inside the nested graph {sub.full_name!r}. Read the nested graph's result "
            f"instead: forward the value to its END/PARENT and read {sub.name}['<key>']."
        )
    where = src.graph.full_name if src.graph is not None else "no graph"
    raise GraphError(
        f"{who} in graph {graph.full_name!r}: input {key!r} reads {src.full_name}[{r.var_!r}], "
        f"an op of another graph ({where})"
    )


def bad_input(who: str, key: str, value: Any) -> GraphTypeError:
    """The error for an input bound to a node, ``PARENT`` itself, ``START`` or ``END``."""
    if isinstance(value, OpNode):
        hint = f"pass one of its outputs, e.g. {value.name}['key']"
    elif isinstance(value, ParentType):
        hint = f"index it: PARENT[{key!r}]"
    else:
        hint = "START and END are only used with '>>'"
    return GraphTypeError(f"{who}: input {key!r} got {value!r}; {hint}")


def check_binding(graph: Any, who: str, key: Any, value: Any) -> None:
    if type(key) is not str or not is_valid_name(key):
        raise GraphError(f"{who}: invalid input name {key!r}: use letters, digits, '_' and '-' only")
    if type(value) is not Ref and isinstance(value, (OpNode, ParentType, Terminal)):
        raise bad_input(who, key, value)
    if graph is None:
        if isinstance(value, Ref) or any(True for _ in refs_in(value)):
            raise GraphError(
                f"{who}: input {key!r} is bound to {value!r}, but a root graph's inputs are its run "
                f"inputs; outside a graph, give a plain value (or None to take it from the run inputs)"
            )
    else:
        check_scope(graph, who, key, value)
