"""What a graph is made of: op nodes, their params, START / END, and every ``>>`` rule.

``with GraphOp(...)`` sets the current graph (a ContextVar read here); nodes created while it is set
belong to it. ``a >> b`` adds a hard edge, ``a >> ~b`` or ``a > b`` a soft one, lists fan out and in,
``START >> a`` makes ``a`` an entry and ``a >> END`` an exit.

Names ending in ``_`` on the node classes (``x_``, ``bind_``, ``ops_``, ``map_output_``...) and on
:class:`~operonx.refs.Ref` (``src_``, ``var_``, ``tf_``, ``pol_``) are the builder's: the fields and
hooks that the modules writing and reading a graph share, not part of the API (users read the
properties: ``inputs``, ``ops``, ``edges``...). They are plain slots and methods, not properties,
because defining an op reads and writes them on its hot path.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Iterable, Never, NoReturn, Self, Sequence, TypeVar, overload

from operonx.errors import GraphError, GraphTypeError
from operonx.refs import PARENT, Ref

__all__ = [
    "CURRENT", "END", "START", "OpNode", "Param", "Soft", "Terminal", "connect", "current_get",
    "current_graph", "mark_built", "nodes_of", "output_params", "wire_end", "wire_start",
]

_N = TypeVar("_N", bound="OpNode")
#: A list on the right of ``>>`` (``a >> [b, ~c]``). On the left (``[a, b] >> c``) a list is typed
#: before the operator is seen, and a type checker may widen a list of ops to ``list[object]``, so
#: there any sequence is accepted and its items are checked when the edge is added.
Wired = Sequence["OpNode | Soft"]

#: The graph of the innermost ``with GraphOp(...)`` block.
CURRENT: ContextVar[Any] = ContextVar("operonx_current_graph", default=None)
current_get = CURRENT.get


def current_graph() -> Any:
    """The graph of the innermost ``with GraphOp(...)`` block, or ``None``."""
    return current_get()


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

    def __rrshift__(self, other: OpNode | Sequence[object]) -> OpNode:
        connect(other, self.node, True)
        return self.node


class OpNode:
    """Base class of everything a graph holds (code ops, graphs, later branches...).

    Attributes users read: ``name``, ``full_name`` (dotted from the root graph),
    ``type``, ``bound``, ``is_gen``, ``enabled`` (settable), ``delay``,
    ``inputs``, ``outputs`` and ``metadata``.
    """

    # `x_` holds the rarely set per-node values (None while all are defaults: read them with xget_,
    # set them with xset_), which keeps creating a node to a handful of slot writes.
    __slots__ = ("name", "full_name", "graph", "x_", "site_", "__weakref__")
    name: str
    full_name: str
    graph: Any
    x_: "dict[str, Any] | None"
    #: where the op was created (``naming.site_of``), named when another op takes its name
    site_: Any

    #: The op kind written in the graph document.
    type: str = "op"

    def xget_(self, key: str, default: Any) -> Any:
        """The per-node value ``key`` (``"omap"``, ``"loop"``, ``"bound"``...), else ``default``."""
        x = self.x_
        return default if x is None else x.get(key, default)

    def xset_(self, key: str, value: Any) -> None:
        """Sets the per-node value ``key``."""
        x = self.x_
        if x is None:
            self.x_ = {key: value}
        else:
            x[key] = value

    @property
    def enabled(self) -> bool:
        """False disables the op: it does not run, and its dependents do not run."""
        x = self.x_
        return True if x is None else x.get("enabled", True)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self.xset_("enabled", bool(value))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_name!r}>"

    # -- refs and wiring -------------------------------------------------------

    def __getitem__(self, key: str) -> Ref:
        """``op["k"]``: a ref to the op's output ``k``."""
        if type(key) is not str:
            raise GraphTypeError(f"{self.name}[...] takes an output name (a string), got {key!r}")
        r = Ref.__new__(Ref)
        r.src_ = self
        r.var_ = key
        r.tf_ = ()
        r.pol_ = None
        return r

    # `__getitem__` reads outputs: an op is not a sequence
    __iter__ = None

    @overload
    def __rshift__(self, other: _N) -> _N: ...
    @overload
    def __rshift__(self, other: Soft) -> Soft: ...
    @overload
    def __rshift__(self, other: EndType) -> EndType: ...
    @overload
    def __rshift__(self, other: Wired) -> Wired: ...

    def __rshift__(self, other: Any) -> Any:
        g = self.graph
        if isinstance(other, OpNode) and g is not None and not g.built_:
            # the common `a >> b`, with GraphOp.add_edge_ inlined
            if other.graph is g:
                key = (self.name, other.name)
                pairs = g.pairs_
                if key not in pairs:
                    pairs.add(key)
                    g.edges_.append((self, other, False))
                return other
        connect(self, other, False)
        return other

    def __rrshift__(self, other: Soft | Sequence[object]) -> Self:
        connect(other, self, False)
        return self

    @overload
    def __gt__(self, other: _N) -> _N: ...
    @overload
    def __gt__(self, other: Wired) -> Wired: ...

    def __gt__(self, other: Any) -> Any:
        if other is END:
            raise GraphTypeError("a soft edge cannot end at END: write op >> END")
        connect(self, other, True)
        return other

    def __lt__(self, other: OpNode | Sequence[object]) -> Self:
        # `[a, b] > c` arrives here as c.__lt__([a, b]); `a < c` means `c > a`.
        connect(other, self, True)
        return self

    def __invert__(self) -> Soft:
        return Soft(self)

    # hooks used by Ref.__rshift__ and the keywords of an op call; concrete op types override them
    def map_output_(self, key: str, target: str) -> None:
        """``self[key] >> PARENT[target]``: checks ``key`` and maps it to graph output ``target``."""
        raise GraphTypeError(f"{self!r} has no outputs that can be mapped")

    def set_omap_(self, key: str, target: str) -> None:
        """Records that output ``key`` is mapped to graph output ``target`` (checked by the caller)."""
        omap = self.xget_("omap", None)
        if omap is None:
            self.xset_("omap", {key: target})
        else:
            omap[key] = target

    @property
    def output_mappings(self) -> dict[str, str]:
        """``{output key: graph output name}`` for mapped outputs."""
        return dict(self.xget_("omap", None) or {})

    def bind_input_(self, key: str, ref: Ref) -> None:
        """``ref >> self[key]``: checks the binding and binds input ``key`` to ``ref``."""
        raise GraphTypeError(f"{self!r} has no inputs that can be bound")

    # the graph's view of the op (GraphOp.inputs / .outputs); overridden
    def reads_(self) -> Iterable[tuple[str, bool, Any]]:
        """The graph inputs the op reads, as ``(name, has_default, default)``."""
        return ()

    def forwards_(self, wired_to_end: bool) -> Iterable[str]:
        """The graph outputs the op writes (its mapped outputs, else all of them when wired to END)."""
        return ()

    @property
    def metadata(self) -> dict[str, Any]:
        """Descriptive data about the op (its kind, full name...), created on first use."""
        m = self.xget_("metadata", None)
        if m is None:
            m = {"type": self.type, "name": self.full_name}
            self.xset_("metadata", m)
        return m


def nodes_of(obj: Any) -> list[tuple[OpNode, bool]]:
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


def connect(src: Any, dst: Any, soft: bool) -> None:
    """Add edges from every node of ``src`` to every node of ``dst``."""
    if dst is END:
        if soft:
            raise GraphTypeError("a soft edge cannot end at END: write op >> END")
        wire_end(src)
        return
    if src is START:
        if soft:
            raise GraphTypeError("START cannot have a soft edge: write START >> op")
        wire_start(dst)
        return
    if src is END or dst is START:
        raise GraphTypeError("START only appears on the left of '>>' and END on the right")
    targets = nodes_of(dst)
    for s, _ in nodes_of(src):
        g = s.graph
        if g is None:
            raise GraphError(f"{s!r} is not in any graph")
        add = g.add_edge_
        for t, ts in targets:
            add(s, t, soft or ts)


def wire_start(dst: Any) -> Any:
    """``START >> dst``: make each op of ``dst`` an entry of its graph."""
    if isinstance(dst, Soft) or (
        isinstance(dst, (list, tuple)) and any(isinstance(d, Soft) for d in dst)
    ):
        raise GraphTypeError("START cannot have a soft edge: write START >> op, not START >> ~op")
    for t, _ in nodes_of(dst):
        g = t.graph
        if g is None:
            raise GraphError(f"{t!r} is not in any graph")
        g.check_member_(t)
        g.entries_[t.name] = None
    return dst


def mark_built(root: Any) -> None:
    """Freeze the graph ``root`` and every graph nested in it: adding ops or edges afterwards is an
    ``OperonUsageError`` (``Operon(graph)`` freezes its graph once the engine is built)."""
    stack = [root]
    while stack:
        g = stack.pop()
        g.built_ = True
        stack.extend(g.subs_)


def wire_end(src: Any) -> None:
    """``src >> END``: make each op of ``src`` an exit of its graph."""
    if src is START:
        raise GraphTypeError("START >> END wires no op")
    for s, _ in nodes_of(src):
        g = s.graph
        if g is None:
            raise GraphError(f"{s!r} is not in any graph")
        g.check_member_(s)
        g.exits_[s.name] = None


class Terminal:
    """START or END of a graph when wiring edges."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name[2:-2]


class StartType(Terminal):
    __slots__ = ()

    @overload
    def __rshift__(self, other: _N) -> _N: ...
    @overload
    def __rshift__(self, other: Sequence[OpNode]) -> Sequence[OpNode]: ...

    def __rshift__(self, other: Any) -> Any:
        return wire_start(other)

    def __gt__(self, other: Never) -> NoReturn:
        raise GraphTypeError("a soft edge cannot start at START: write START >> op")


class EndType(Terminal):
    __slots__ = ()

    def __rrshift__(self, other: OpNode | Sequence[object]) -> EndType:
        wire_end(other)
        return self

    def __lt__(self, other: Never) -> NoReturn:
        raise GraphTypeError("a soft edge cannot end at END: write op >> END")

    def __invert__(self) -> NoReturn:
        raise GraphTypeError("END cannot be a soft target: write op >> END")


#: Where a graph starts: ``START >> first_op`` makes ``first_op`` an entry.
START = StartType("__START__")
#: Where a graph ends: ``op >> END`` forwards the op's outputs as graph outputs.
END = EndType("__END__")


def output_params(keys: Any, omap: dict) -> dict[str, Param]:
    """Output params for ``keys`` and the mapped outputs ``omap`` (key -> graph output name); a
    mapped output's value is its ``PARENT`` ref."""
    out: dict[str, Param] = {}
    for k in keys:
        t = omap.get(k)
        out[k] = Param(k, False, None, Ref(PARENT, t) if t is not None else None)
    for k, t in omap.items():
        if k not in out:
            out[k] = Param(k, False, None, Ref(PARENT, t))
    return out
