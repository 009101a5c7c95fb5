"""Graphs and the op nodes they hold.

``with GraphOp(name="g") as g:`` makes ``g`` the current graph: every
``@op`` function called inside the block adds a node to it. Nodes are wired
with ``>>`` (a hard edge), ``>> ~node`` or ``>`` (a soft edge), lists fan
out and in, and ``START`` / ``END`` mark the graph's entries and exits::

    with GraphOp(name="g") as g:
        a = fetch(url=PARENT["url"])
        b = parse(text=a["body"])
        START >> a >> b >> END
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from operonx.errors import GraphError, GraphTypeError, OperonUsageError
from operonx.naming import assigned_name, check_name
from operonx.refs import END, PARENT, START, Ref

__all__ = ["GraphOp", "OpNode", "Param", "Soft", "current_graph"]

logger = logging.getLogger("operonx")

_current: ContextVar["GraphOp | None"] = ContextVar("operonx_current_graph", default=None)
_current_get = _current.get
_MISSING: Any = object()


def current_graph() -> "GraphOp | None":
    """The graph of the innermost ``with GraphOp(...)`` block, or ``None``."""
    return _current_get()


class Param:
    """One input or output of an op or graph, as read by users.

    ``required`` is true when no default exists; ``default`` is the default
    (``None`` when there is none); ``value`` is what the parameter is bound to:
    a :class:`~operonx.refs.Ref`, a literal, or ``None``.
    """

    __slots__ = ("name", "required", "default", "value")

    def __init__(self, name: str, required: bool, default: Any = None, value: Any = None) -> None:
        self.name = name
        self.required = required
        self.default = default
        self.value = value

    @property
    def ref(self) -> Ref | None:
        """The ref this parameter is bound to, if any."""
        v = self.value
        return v if isinstance(v, Ref) else None

    @property
    def literal(self) -> Any:
        """The literal this parameter is bound to, if any (else ``None``)."""
        v = self.value
        return None if isinstance(v, Ref) else v

    def __repr__(self) -> str:
        return (
            f"Param({self.name!r}, required={self.required}, "
            f"default={self.default!r}, value={self.value!r})"
        )


class Soft:
    """``~node``: the target of a soft edge (``a >> ~c``)."""

    __slots__ = ("node",)

    def __init__(self, node: "OpNode") -> None:
        self.node = node

    def __repr__(self) -> str:
        return f"~{self.node!r}"

    def __rrshift__(self, other: Any) -> "OpNode":
        _connect(other, self.node, True)
        return self.node


class OpNode:
    """Base class of everything a graph holds (code ops, graphs, later branches...).

    Attributes users read: ``name``, ``full_name`` (dotted from the root graph),
    ``type``, ``bound``, ``is_gen``, ``enabled`` (settable), ``delay``,
    ``inputs``, ``outputs`` and ``metadata``.
    """

    # `_x` holds the rarely set per-node values (None while all are defaults),
    # which keeps creating a node to a handful of slot writes.
    __slots__ = ("name", "full_name", "graph", "_x", "__weakref__")
    name: str
    full_name: str
    graph: "GraphOp | None"
    _x: "dict[str, Any] | None"

    #: The op kind written in the graph document.
    type: str = "op"

    def _xget(self, key: str, default: Any) -> Any:
        x = self._x
        return default if x is None else x.get(key, default)

    def _xset(self, key: str, value: Any) -> None:
        x = self._x
        if x is None:
            self._x = {key: value}
        else:
            x[key] = value

    @property
    def enabled(self) -> bool:
        """False disables the op: it does not run, and its dependents do not run."""
        x = self._x
        return True if x is None else x.get("enabled", True)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._xset("enabled", bool(value))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_name!r}>"

    # -- refs and wiring -------------------------------------------------------

    def __getitem__(self, key: str) -> Ref:
        """``op["k"]``: a ref to the op's output ``k``."""
        if type(key) is not str:
            raise GraphTypeError(f"{self.name}[...] takes an output name (a string), got {key!r}")
        r = Ref.__new__(Ref)
        r._src = self
        r._var = key
        r._tf = ()
        r._pol = None
        return r

    # `__getitem__` reads outputs: an op is not a sequence
    __iter__ = None

    def __rshift__(self, other: Any) -> Any:
        g = self.graph
        if isinstance(other, OpNode) and g is not None and not g._built:
            # the common `a >> b`, with GraphOp._add_edge inlined
            # an op replaced by a later one of the same name wires by name (the last wins)
            if other.graph is g:
                key = (self.name, other.name)
                pairs = g._pairs
                if key not in pairs:
                    pairs.add(key)
                    g._edges.append((self, other, False))
                return other
        _connect(self, other, False)
        return other

    def __rrshift__(self, other: Any) -> Any:
        _connect(other, self, False)
        return self

    def __gt__(self, other: Any) -> Any:
        if other is END:
            raise GraphTypeError("a soft edge cannot end at END: write op >> END")
        _connect(self, other, True)
        return other

    def __lt__(self, other: Any) -> Any:
        # `[a, b] > c` arrives here as c.__lt__([a, b]); `a < c` means `c > a`.
        _connect(other, self, True)
        return self

    def __invert__(self) -> Soft:
        return Soft(self)

    # hooks used by Ref.__rshift__; concrete op types override them
    def _map_output(self, key: str, target: str) -> None:
        raise GraphTypeError(f"{self!r} has no outputs that can be mapped")

    def _bind_input(self, key: str, ref: Ref) -> None:
        raise GraphTypeError(f"{self!r} has no inputs that can be bound")

    # the graph's view of the op (GraphOp.inputs / .outputs); overridden
    def _reads(self) -> Iterable[tuple[str, bool, Any]]:
        return ()

    def _forwards(self, wired_to_end: bool) -> Iterable[str]:
        return ()

    @property
    def metadata(self) -> dict:
        """Descriptive data about the op (its kind, full name...), created on first use."""
        m = self._xget("metadata", None)
        if m is None:
            m = {"type": self.type, "name": self.full_name}
            self._xset("metadata", m)
        return m


def _nodes(obj: Any) -> list[tuple[OpNode, bool]]:
    """Normalize one side of an edge to ``[(node, soft), ...]``."""
    if isinstance(obj, OpNode):
        return [(obj, False)]
    if isinstance(obj, Soft):
        return [(obj.node, True)]
    if isinstance(obj, (list, tuple)):
        out: list[tuple[OpNode, bool]] = []
        for item in obj:
            if isinstance(item, OpNode):
                out.append((item, False))
            elif isinstance(item, Soft):
                out.append((item.node, True))
            else:
                raise GraphTypeError(f"cannot wire {item!r}: only ops can be wired with '>>'")
        return out
    raise GraphTypeError(f"cannot wire {obj!r}: only ops can be wired with '>>'")


def _connect(src: Any, dst: Any, soft: bool) -> None:
    """Add edges from every node of ``src`` to every node of ``dst``."""
    if dst is END:
        if soft:
            raise GraphTypeError("a soft edge cannot end at END: write op >> END")
        _wire_end(src)
        return
    if src is START:
        if soft:
            raise GraphTypeError("START cannot have a soft edge: write START >> op")
        _wire_start(dst)
        return
    if src is END or dst is START:
        raise GraphTypeError("START only appears on the left of '>>' and END on the right")
    targets = _nodes(dst)
    for s, _ in _nodes(src):
        g = s.graph
        if g is None:
            raise GraphError(f"{s!r} is not in any graph")
        add = g._add_edge
        for t, ts in targets:
            add(s, t, soft or ts)


def _wire_start(dst: Any) -> Any:
    """``START >> dst``: make each op of ``dst`` an entry of its graph."""
    if isinstance(dst, Soft) or (
        isinstance(dst, (list, tuple)) and any(isinstance(d, Soft) for d in dst)
    ):
        raise GraphTypeError("START cannot have a soft edge: write START >> op, not START >> ~op")
    for t, _ in _nodes(dst):
        g = t.graph
        if g is None:
            raise GraphError(f"{t!r} is not in any graph")
        g._check_member(t)
        g._entries[t.name] = None
    return dst


def _wire_end(src: Any) -> None:
    """``src >> END``: make each op of ``src`` an exit of its graph."""
    if src is START:
        raise GraphTypeError("START >> END wires no op")
    for s, _ in _nodes(src):
        g = s.graph
        if g is None:
            raise GraphError(f"{s!r} is not in any graph")
        g._check_member(s)
        g._exits[s.name] = None


class GraphOp(OpNode):
    """A graph of ops; use it as a context manager to add ops to it.

    ``GraphOp(name="g", concurrency=N)``: ``concurrency`` caps the number of
    the graph's async and cpu ops in flight (``None``: no cap). Inside
    ``with GraphOp(...) as g:`` every call of an ``@op`` function creates a
    node of ``g``. ``g.export_config()`` (alias ``g.serialize()``) returns
    the graph document.
    """

    __slots__ = ("concurrency", "_ops", "_edges", "_pairs", "_entries", "_exits", "_built", "_tokens")

    type = "graph"
    bound = "io"
    is_gen = False
    delay = 0

    def __init__(self, name: str | None = None, concurrency: int | None = None) -> None:
        parent = _current_get()
        if parent is not None:
            raise OperonUsageError(
                "nested graphs are not supported yet: create GraphOp outside other graphs"
            )
        if name is None:
            name = assigned_name(sys._getframe(1)) or "graph"
        self.name = check_name(name)
        self.full_name = name
        self.graph = None
        self._x = None
        if concurrency is not None:
            if type(concurrency) is not int or concurrency < 1:
                raise GraphError(f"concurrency must be a positive int or None, got {concurrency!r}")
        self.concurrency = concurrency
        self._ops: dict[str, OpNode] = {}
        self._edges: list[tuple[OpNode, OpNode, bool]] = []
        self._pairs: set[tuple[str, str]] = set()
        self._entries: dict[str, None] = {}
        self._exits: dict[str, None] = {}
        self._built = False
        self._tokens: list = []

    # -- context manager -------------------------------------------------------

    def __enter__(self) -> "GraphOp":
        self._tokens.append(_current.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        _current.reset(self._tokens.pop())

    # -- membership ------------------------------------------------------------

    def _add(self, node: OpNode) -> None:
        """Register ``node`` (already named) as an op of this graph."""
        if self._built:
            raise OperonUsageError(
                f"graph {self.full_name!r} is already built into an engine; "
                f"cannot add op {node.name!r}"
            )
        ops = self._ops
        name = node.name
        if name in ops:
            logger.warning(
                "graph %r: op %r already exists and is replaced by the new one",
                self.full_name,
                name,
            )
            del ops[name]
        ops[name] = node

    def _check_member(self, node: OpNode) -> None:
        if self._built:
            raise OperonUsageError(
                f"graph {self.full_name!r} is already built into an engine; cannot add edges"
            )
        if node.graph is not self:
            raise GraphError(f"op {node.name!r} is not in graph {self.full_name!r}")

    def _add_edge(self, src: OpNode, dst: OpNode, soft: bool) -> None:
        if self._built:
            raise OperonUsageError(
                f"graph {self.full_name!r} is already built into an engine; cannot add edges"
            )
        if src.graph is not self:
            raise GraphError(f"op {src.name!r} is not in graph {self.full_name!r}")
        if dst.graph is not self:
            raise GraphError(f"op {dst.name!r} is not in graph {self.full_name!r}")
        key = (src.name, dst.name)
        pairs = self._pairs
        if key not in pairs:
            pairs.add(key)
            self._edges.append((src, dst, soft))

    def _mark_built(self) -> None:
        """Freeze the graph: adding ops or edges afterwards is an ``OperonUsageError``."""
        self._built = True

    # -- what users read ---------------------------------------------------------

    @property
    def ops(self) -> Mapping[str, OpNode]:
        """The graph's ops keyed by short name, in creation order (read-only)."""
        return MappingProxyType(self._ops)

    @property
    def edges(self) -> list[tuple[str, str, bool]]:
        """Op-to-op edges as ``(from, to, soft)`` in declaration order."""
        return [(s.name, d.name, soft) for s, d, soft in self._edges]

    @property
    def entries(self) -> list[str]:
        """Names of the ops wired from START, in wiring order."""
        return list(self._entries)

    @property
    def exits(self) -> list[str]:
        """Names of the ops wired to END, in wiring order."""
        return list(self._exits)

    @property
    def is_built(self) -> bool:
        """True once the graph has been built into an engine."""
        return self._built

    @property
    def inputs(self) -> dict[str, Param]:
        """Every graph input the ops read, as ``{name: Param}``.

        ``required`` is true when some reader has no default; ``default`` is
        the first reader's default (``None`` when it has none).
        """
        out: dict[str, Param] = {}
        for node in self._ops.values():
            for var, has_default, default in node._reads():
                p = out.get(var)
                if p is None:
                    out[var] = Param(var, not has_default, default if has_default else None)
                elif not has_default:
                    p.required = True
        return out

    @property
    def outputs(self) -> dict[str, Param]:
        """Every graph output the ops forward, as ``{name: Param}``."""
        out: dict[str, Param] = {}
        exits = self._exits
        for name, node in self._ops.items():
            for var in node._forwards(name in exits):
                if var not in out:
                    out[var] = Param(var, False)
        return out

    def export_config(self) -> dict:
        """The graph document (schema 1.0) as a JSON-ready dict."""
        from operonx.export import export_config

        return export_config(self)

    def serialize(self) -> dict:
        """Same as :meth:`export_config`."""
        from operonx.export import export_config

        return export_config(self)
