"""Graphs and the op nodes they hold.

``with GraphOp(name="g") as g:`` makes ``g`` the current graph: every
``@op`` function called inside the block adds a node to it. Nodes are wired
with ``>>`` (a hard edge), ``>> ~node`` or ``>`` (a soft edge), lists fan
out and in, and ``START`` / ``END`` mark the graph's entries and exits::

    with GraphOp(name="g") as g:
        a = fetch(url=PARENT["url"])
        b = parse(text=a["body"])
        START >> a >> b >> END

A ``GraphOp`` created inside another graph's block is a node of that graph
(a nested graph): ``GraphOp(name="sub", inputs={"v": a["v"]})``. Inside its
own block ``PARENT["v"]`` reads its input ``v``; the outer graph reads its
results as ``sub["k"]``. ``@graph`` turns a function whose body builds ops into a factory of such graphs.
"""

from __future__ import annotations

import logging
import sys
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Self, overload

from operonx.errors import GraphError, GraphTypeError, OperonUsageError
from operonx._authoring.factories import GraphFactory, nested_forwards, nested_reads, summaries
from operonx._authoring.loops import DEFAULT_MAX_ITERATIONS, check_loop
from operonx._authoring.naming import (
    assigned_name, caller_frame, check_name, enter_frame, outside_frame, site_of, unique_name,
    with_target,
)
from operonx._authoring.nodes import CURRENT, END, START, OpNode, Param, Soft, current_get, current_graph, output_params
from operonx._authoring.nodes import mark_built
from operonx._authoring.scopes import check_binding
from operonx._authoring.writer import export_config
from operonx.refs import Ref

__all__ = ["END", "GraphFunction", "GraphOp", "OpNode", "Param", "START", "Soft", "current_graph", "graph"]

logger = logging.getLogger("operonx")


# ---------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------


class GraphOp(OpNode):
    """A graph of ops; use it as a context manager to add ops to it.

    ``GraphOp(name="g", concurrency=N)``: ``concurrency`` caps the number of
    the graph's async and cpu ops in flight (``None``: no cap). Inside
    ``with GraphOp(...) as g:`` every call of an ``@op`` function creates a
    node of ``g``. ``g.export_config()`` (alias ``g.serialize()``) returns
    the graph document.

    Created inside another graph's block, the graph is a node of that graph
    (a nested graph, ``full_name`` ``"outer.inner"``). ``inputs={"v": ref or
    literal}`` binds its inputs from the outer graph's scope; inside it
    ``PARENT["v"]`` reads input ``v``. The outer graph reads its results as
    ``sub["k"]`` (the keys its ops forward to its END/PARENT); ``sub >> END``
    forwards them all and ``sub["k"] >> PARENT["k2"]`` maps one. The name
    defaults to the assignment target, or the ``with ... as name`` target.
    """

    # the builder's fields (names ending in `_`: see operonx._authoring.nodes): ops_ {name: node}, edges_
    # [(src, dst, soft)], pairs_ {(src name, dst name)}, entries_ / exits_ {name: None}, built_, subs_ (the
    # nested graphs), bind_ {input: ref or literal}, autos_ {default name: next suffix}, frame_ / code_
    # (naming.site_of); its hooks add_, add_edge_, check_member_ refuse a built graph
    __slots__ = (
        "concurrency", "ops_", "edges_", "pairs_", "entries_", "exits_", "built_", "_tokens",
        "bind_", "subs_", "autos_", "frame_", "code_",
    )

    type = "graph"
    bound = "io"
    is_gen = False
    delay = 0

    def __init__(
        self,
        name: str | None = None,
        concurrency: int | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> None:
        parent = current_get()
        frame = outside_frame(caller_frame(1))
        auto = False
        if name is None:
            name = assigned_name(frame) or with_target(frame)
            if name is None:
                name, auto = "graph", True
        self.name = check_name(name)
        self.full_name = name if parent is None else parent.full_name + "." + name
        self.graph = parent
        self.x_ = None
        if concurrency is not None:
            if type(concurrency) is not int or concurrency < 1:
                raise GraphError(f"concurrency must be a positive int or None, got {concurrency!r}")
        self.concurrency = concurrency
        self.ops_: dict[str, OpNode] = {}
        self.edges_: list[tuple[OpNode, OpNode, bool]] = []
        self.pairs_: set[tuple[str, str]] = set()
        self.entries_: dict[str, None] = {}
        self.exits_: dict[str, None] = {}
        self.built_ = False
        self._tokens: list = []
        self.subs_: list[GraphOp] = []
        bind: dict[str, Any] = {}
        if inputs is not None:
            if not isinstance(inputs, Mapping):
                raise GraphTypeError(f"inputs= must be a dict, got {inputs!r}")
            who = f"graph {name!r}"
            for k, v in inputs.items():
                check_binding(parent, who, k, v)
                bind[k] = v
        self.bind_ = bind
        self.autos_: dict[str, int] = {}
        self.frame_ = self.code_ = None
        if parent is not None:
            parent.add_(self, auto, site_of(parent, frame))
            parent.subs_.append(self)

    # -- loops -------------------------------------------------------------------

    @classmethod
    def loop(
        cls,
        name: str | None = None,
        until: str | Callable[[dict[str, Any]], object] | None = None,
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
        **initial: Any,
    ) -> "GraphOp":
        """A graph whose body runs again and again, each iteration fed the last one's outputs::

            with GraphOp.loop(name="count", until="n >= 5", max_iterations=10, n=0) as g:
                step = inc(n=PARENT["n"])
                START >> step >> END

        ``initial`` gives the loop variables' first values (refs from the outer graph, or
        literals); for a root loop every run input is a variable too, and overrides the initial
        value of the same name. After each
        iteration the outputs its ops forward (to END, or mapped to ``PARENT``) update the
        variables, then ``until`` is checked: an expression over the variables (comparisons,
        ``and`` / ``or`` / ``not``, arithmetic, ``x["k"]``, ``x.attr``, literals written as in
        Python), or a callable given them as a dict. An expression is checked here, by the
        engine's own grammar: calls, ``in``, ``lambda``, ``a if b else c``, list / dict / set
        displays, slices and the like are refused by name (use a callable for them). The loop
        stops when it holds or after ``max_iterations`` iterations, and the run's
        ``"$state".loops`` says which. Each iteration runs in its own context
        (``loop_0``, ``loop_1``...); its frames stream as it runs, and the run's result holds the
        last iteration's outputs.
        """
        # name=None: GraphOp reads the target of the caller's `g = GraphOp.loop(...)` or `with ... as g`
        g = cls(name=name, inputs=initial)
        g.set_loop_(until, max_iterations)
        return g

    def set_loop_(self, until: Any, max_iterations: Any) -> None:
        check_loop(self.name, until, max_iterations)
        self.xset_("loop", (until, max_iterations))

    @property
    def is_loop(self) -> bool:
        """True for a graph made with :meth:`GraphOp.loop` (or ``@graph(until=...)``)."""
        return self.xget_("loop", None) is not None

    @property
    def until(self) -> Any:
        """A loop's stop condition (``None`` for a plain graph, or a loop with none)."""
        return (self.xget_("loop", None) or (None, None))[0]

    @property
    def max_iterations(self) -> int | None:
        """A loop's cap on iterations (``None`` for a plain graph)."""
        return (self.xget_("loop", None) or (None, None))[1]

    # -- context manager -------------------------------------------------------

    def __enter__(self) -> Self:
        self._tokens.append(CURRENT.set(self))
        enter_frame(self, caller_frame(1))
        return self

    def __exit__(self, *exc: Any) -> None:
        CURRENT.reset(self._tokens.pop())
        if not self._tokens:  # the block's frame is not kept alive with the graph
            self.frame_ = None

    # -- membership ------------------------------------------------------------

    def add_(self, node: OpNode, auto: bool = False, site: Any = None) -> None:
        """Register ``node`` as an op of this graph, created at ``site``: a chosen name that is taken is
        a :class:`GraphError` naming both sites; a default (``auto``) gets a free suffix (``inc_2``)."""
        if self.built_:
            raise OperonUsageError(
                f"graph {self.full_name!r} is already built into an engine; "
                f"cannot add op {node.name!r}"
            )
        self.ops_[unique_name(self, node, auto, site)] = node

    def check_member_(self, node: OpNode) -> None:
        if self.built_:
            raise OperonUsageError(
                f"graph {self.full_name!r} is already built into an engine; cannot add edges"
            )
        if node.graph is not self:
            raise GraphError(f"op {node.name!r} is not in graph {self.full_name!r}")

    def add_edge_(self, src: OpNode, dst: OpNode, soft: bool) -> None:
        if self.built_:
            raise OperonUsageError(
                f"graph {self.full_name!r} is already built into an engine; cannot add edges"
            )
        if src.graph is not self:
            raise GraphError(f"op {src.name!r} is not in graph {self.full_name!r}")
        if dst.graph is not self:
            raise GraphError(f"op {dst.name!r} is not in graph {self.full_name!r}")
        key = (src.name, dst.name)
        pairs = self.pairs_
        if key not in pairs:
            pairs.add(key)
            self.edges_.append((src, dst, soft))

    def _mark_built(self) -> None:
        """Freeze the graph and its nested graphs: adding ops or edges afterwards is an
        ``OperonUsageError``."""
        mark_built(self)

    # -- what users read ---------------------------------------------------------

    @property
    def ops(self) -> Mapping[str, OpNode]:
        """The graph's ops keyed by short name, in creation order (read-only)."""
        return MappingProxyType(self.ops_)

    @property
    def edges(self) -> list[tuple[str, str, bool]]:
        """Op-to-op edges as ``(from, to, soft)`` in declaration order."""
        return [(s.name, d.name, soft) for s, d, soft in self.edges_]

    @property
    def entries(self) -> list[str]:
        """Names of the ops wired from START, in wiring order."""
        return list(self.entries_)

    @property
    def exits(self) -> list[str]:
        """Names of the ops wired to END, in wiring order."""
        return list(self.exits_)

    @property
    def is_built(self) -> bool:
        """True once the graph has been built into an engine."""
        return self.built_

    @property
    def is_nested(self) -> bool:
        """True for a graph that is a node of another graph."""
        return self.graph is not None

    @property
    def inputs(self) -> dict[str, Param]:
        """Every graph input the ops read, as ``{name: Param}`` (then bound inputs nobody reads).

        ``required`` is true when some reader has no default; ``default`` is
        the first reader's default (``None`` when it has none); ``value`` is
        what ``inputs={...}`` bound the input to (a ref or a literal), if anything.
        """
        reads = summaries(self, GraphOp)[id(self)][0]
        bind = self.bind_
        out: dict[str, Param] = {}
        for var, (required, default) in reads.items():
            out[var] = Param(var, required, default, bind.get(var))
        for k, v in bind.items():
            if k not in out:
                out[k] = Param(k, False, None, v)
        return out

    @property
    def outputs(self) -> dict[str, Param]:
        """Every graph output the ops forward, as ``{name: Param}``.

        For a nested graph, an output mapped into the outer graph
        (``sub["k"] >> PARENT["k2"]``) has that ``PARENT`` ref as its value.
        """
        forwards = summaries(self, GraphOp)[id(self)][1]
        return output_params(forwards, self.xget_("omap", None) or {})

    # -- as a node of an outer graph ----------------------------------------------

    def map_output_(self, key: str, target: str) -> None:
        if self.graph is None:
            raise GraphTypeError(
                f"graph {self.full_name!r} is not nested in another graph: its outputs are the run's results"
            )
        self.set_omap_(key, target)

    def bind_input_(self, key: str, ref: Ref) -> None:
        parent = self.graph
        if parent is None:
            raise GraphTypeError(
                f"graph {self.full_name!r} is not nested in another graph: its inputs are the run inputs"
            )
        if parent.built_:
            raise OperonUsageError(f"graph {parent.full_name!r} is already built into an engine")
        check_binding(parent, f"graph {self.name!r}", key, ref)
        self.bind_[key] = ref

    def reads_(self) -> Iterator[tuple[str, bool, Any]]:
        return nested_reads(self, summaries(self, GraphOp)[id(self)][0])

    def forwards_(self, wired_to_end: bool) -> Iterator[str]:
        return nested_forwards(self, summaries(self, GraphOp)[id(self)][1], wired_to_end)

    # -- documents -------------------------------------------------------------------

    def export_config(self) -> dict[str, Any]:
        """The graph document (schema 1.0) as a JSON-ready dict (see :mod:`operonx.document`)."""
        return export_config(self)

    def serialize(self) -> dict[str, Any]:
        """Same as :meth:`export_config`."""
        return export_config(self)


# ---------------------------------------------------------------------------
# @graph
# ---------------------------------------------------------------------------


class GraphFunction(GraphFactory):
    """A function decorated with ``@graph``: each call builds a graph from its body.

    Every parameter must be given (or have a default). In the body, a
    parameter given a ref, or ``None``, is ``PARENT[param]``; a plain value
    (or an unused default) is passed to the body as it is, as in operonx
    0.7.1, so the body can use it while building ops.

    * Called inside a graph, the call makes a nested :class:`GraphOp` whose
      inputs are the given arguments: refs bound from the outer scope, plain
      values as literals, ``None`` left unbound.
    * Called outside any graph it returns a root :class:`GraphOp`; a ``None``
      argument means "take it from the run inputs" (the body reads
      ``PARENT[param]``), and refs are refused (there is no outer scope).

    The graph's name is the call's ``name=``, else the decorator's ``name=``,
    else the assignment target, else the function's name.

    ``until=`` (given to the call or to the decorator) makes the graph a loop
    (see :meth:`GraphOp.loop`); its arguments are the loop's initial values,
    and the body reads every parameter as ``PARENT[param]`` (keyword-only
    parameters stay plain values: the loop's fixed configuration).
    ``max_iterations=`` caps it: the call's value, else the decorator's, else
    the default of a ``max_iterations`` parameter, else 100. A text
    ``max_iterations`` (``"retry + 1"``) is evaluated over the call's plain
    arguments. When the function itself has an ``until`` or ``max_iterations``
    parameter, the body receives the value as well.
    """

    graph_class = GraphOp

    if TYPE_CHECKING:  # the arguments are refs, plain values or None standing for the parameters
        def __call__(self, *args: Any, **kwargs: Any) -> GraphOp: ...


@overload
def graph(fn: Callable[..., object], /, *, name: str | None = None, until: Any = None, max_iterations: Any = None,
          bound: str | None = None) -> GraphFunction: ...
@overload
def graph(fn: None = None, /, *, name: str | None = None, until: Any = None, max_iterations: Any = None,
          bound: str | None = None) -> Callable[[Callable[..., object]], GraphFunction]: ...
def graph(
    fn: Callable[..., object] | None = None, *, name: str | None = None, until: Any = None,
    max_iterations: Any = None, bound: str | None = None,
) -> Any:
    """``@graph`` / ``@graph(name=...)``: a function whose body builds ops becomes a graph factory.

    See :class:`GraphFunction`. ``until=`` / ``max_iterations=`` make every
    graph it builds a loop (see :meth:`GraphOp.loop`); ``bound=`` is accepted
    for compatibility (a graph's ``bound`` is ``"io"``).
    """
    if fn is None:
        return lambda f: GraphFunction(f, name=name, until=until, max_iterations=max_iterations, bound=bound)
    return GraphFunction(fn, name=name, until=until, max_iterations=max_iterations, bound=bound)


class _GraphModule(ModuleType):
    """This module, callable as :func:`graph`.

    ``import operonx.graph`` gives the module (``operonx.graph.GraphOp``), while 0.7.1's
    ``from operonx import graph`` followed by ``@graph`` or ``@graph(name=...)`` still decorates.
    """

    def __call__(self, fn: Callable | None = None, **options: Any) -> Any:
        return graph(fn, **options)


sys.modules[__name__].__class__ = _GraphModule
