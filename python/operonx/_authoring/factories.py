"""The graph-side machinery of the builder: what a graph tree reads and forwards
(:func:`summaries`, :func:`nested_reads`, :func:`nested_forwards`), and the ``@graph`` factory
(:class:`GraphFactory`)."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterable, Iterator

from operonx._authoring.loops import DEFAULT_MAX_ITERATIONS
from operonx._authoring.naming import assigned_name, caller_frame, check_name, free_name, is_valid_name
from operonx._authoring.nodes import current_get
from operonx._authoring.scopes import refs_in
from operonx.errors import GraphError, GraphTypeError
from operonx.refs import PARENT, Ref

__all__ = ["GraphFactory", "nested_forwards", "nested_reads", "summaries"]


def summaries(root: Any, graph_cls: type) -> dict[int, tuple[dict, dict]]:
    """For ``root`` and every graph nested in it (no recursion): ``id(graph) ->
    (reads, forwards)``, where ``reads`` is ``{input: [required, default]}`` and
    ``forwards`` the graph outputs its ops forward, in first-seen order. The nested graphs are
    the ops that are instances of ``graph_cls``."""
    order: list[Any] = []
    stack = [root]
    while stack:
        g = stack.pop()
        order.append(g)
        for node in g.ops_.values():
            if isinstance(node, graph_cls):
                stack.append(node)
    memo: dict[int, tuple[dict, dict]] = {}
    for g in reversed(order):  # nested graphs before the graph holding them
        reads: dict[str, list] = {}
        forwards: dict[str, None] = {}
        exits = g.exits_
        for name, node in g.ops_.items():
            if isinstance(node, graph_cls):
                inner = memo[id(node)]
                node_reads: Iterable = nested_reads(node, inner[0])
                node_fwd: Iterable = nested_forwards(node, inner[1], name in exits)
            else:
                node_reads = node.reads_()
                node_fwd = node.forwards_(name in exits)
            for var, has_default, default in node_reads:
                seen = reads.get(var)
                if seen is None:
                    reads[var] = [not has_default, default if has_default else None]
                elif not has_default:
                    seen[0] = True
            for var in node_fwd:
                forwards[var] = None
        memo[id(g)] = (reads, forwards)
    return memo


def nested_reads(g: Any, inner: dict) -> Iterator[tuple[str, bool, Any]]:
    """The outer graph's inputs read by this nested graph's bindings (``inner``: its own reads)."""
    for k, v in g.bind_.items():
        first = True
        for r in refs_in(v):
            if r.src_ is PARENT:
                seen = inner.get(k) if first else None
                if first and (seen is None or not seen[0]):
                    yield r.var_, True, None if seen is None else seen[1]
                else:
                    yield r.var_, False, None
            first = False


def nested_forwards(g: Any, inner: dict, wired_to_end: bool) -> Iterator[str]:
    """The outer graph's outputs a nested graph forwards (``inner``: what its own ops forward)."""
    omap = g.xget_("omap", None)
    if omap:
        yield from omap.values()
    elif wired_to_end:
        yield from inner


class GraphFactory:
    """The machinery of ``@graph`` (see ``operonx.graph.GraphFunction``): reads the function's
    parameters once; each call checks the arguments, builds a graph of :attr:`graph_class` from
    the body and makes it a loop when asked."""

    #: the class of the graphs built (set by ``operonx.graph.GraphFunction``)
    graph_class: Any = None

    def __init__(
        self,
        func: Callable,
        *,
        name: str | None = None,
        until: Any = None,
        max_iterations: Any = None,
        bound: str | None = None,
    ) -> None:
        if not callable(func) or isinstance(func, type):
            raise GraphTypeError(f"@graph needs a function, got {func!r}")
        if bound is not None and bound not in ("sync", "io", "cpu"):
            raise GraphError(f"bound must be one of 'sync', 'io', 'cpu', got {bound!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.name = check_name(name) if name is not None else None
        self.until = until
        self.max_iterations = max_iterations
        fname = getattr(func, "__name__", None) or "graph"
        self.func_name = fname
        self.fallback_name = fname if is_valid_name(fname) else "graph"
        sig = inspect.signature(func)
        params: list[str] = []
        defaults: dict[str, Any] = {}
        self.has_varkw = False
        self.kwonly: set[str] = set()
        for p in sig.parameters.values():
            if p.kind is p.KEYWORD_ONLY:
                self.kwonly.add(p.name)
            if p.kind is p.VAR_KEYWORD:
                self.has_varkw = True
            elif p.kind is p.VAR_POSITIONAL:
                raise GraphTypeError(f"@graph function {fname}() cannot take *{p.name}")
            elif p.kind is p.POSITIONAL_ONLY:
                raise GraphTypeError(f"@graph function {fname}(): parameter {p.name!r} is positional-only")
            else:
                params.append(p.name)
                if p.default is not inspect.Parameter.empty:
                    defaults[p.name] = p.default
        self.params = tuple(params)
        self.defaults = defaults

    def __repr__(self) -> str:
        return f"<graph {self.func_name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        params = self.params
        options: dict[str, Any] = {}
        if "name" in kwargs and "name" not in params:
            options["name"] = kwargs.pop("name")
        for opt in ("until", "max_iterations"):
            if opt in kwargs:
                options[opt] = kwargs.pop(opt)
        if len(args) > len(params):
            raise GraphTypeError(
                f"{self.func_name}() takes {len(params)} arguments, got {len(args)} positional"
            )
        given: dict[str, Any] = {}
        for p, v in zip(params, args):
            given[p] = v
        for k, v in kwargs.items():
            if k in given:
                raise GraphTypeError(f"{self.func_name}() got multiple values for {k!r}")
            if k not in params and not self.has_varkw:
                raise GraphTypeError(
                    f"{k!r} is not a parameter of {self.func_name}(). Parameters: {list(params)}"
                )
            given[k] = v
        name = options.get("name")
        if name is None:
            name = assigned_name(caller_frame(1)) if not self.name else None
            if name is None:  # a default name: made unique in the graph it is added to, as an op's
                name = free_name(current_get(), self.name or self.fallback_name)
        missing = [p for p in params if p not in given and p not in self.defaults and p not in options]
        if missing:
            raise GraphTypeError(
                f"{self.func_name}() missing {', '.join(map(repr, missing))}: pass a ref, a value, or None "
                f"(None: {'the run input of that name' if current_get() is None else 'no value'})"
            )
        until = options.get("until", self.until)
        max_iterations = options.get("max_iterations", self.max_iterations)
        looping = until is not None or max_iterations is not None
        body: dict[str, Any] = {}
        for p in params:
            if p in options and p in ("until", "max_iterations"):
                body[p] = options[p]
                continue
            v = given[p] if p in given else self.defaults[p]
            # A loop's variables change each iteration, so the body reads them all from PARENT
            # (keyword-only parameters stay plain values: the loop's fixed configuration).
            loop_var = looping and p not in self.kwonly
            body[p] = PARENT[p] if v is None or isinstance(v, Ref) or loop_var else v
        for k, v in given.items():
            if k not in body:
                body[k] = PARENT[k] if v is None or isinstance(v, Ref) else v
        sub = self.graph_class(name=name, inputs=given)
        with sub:
            self.func(**body)
        if looping:
            if max_iterations is None:
                max_iterations = self.defaults.get("max_iterations", DEFAULT_MAX_ITERATIONS)
            if isinstance(max_iterations, str):
                max_iterations = self._count(name, max_iterations, given)
            sub.set_loop_(until, max_iterations)
        return sub

    def _count(self, name: str, text: str, given: dict[str, Any]) -> Any:
        """Evaluates a text ``max_iterations`` over the call's plain arguments."""
        plain = {k: v for k, v in {**self.defaults, **given}.items() if v is not None and not isinstance(v, Ref)}
        try:
            return eval(compile(text, "<max_iterations>", "eval"), {"__builtins__": {}}, plain)  # noqa: S307
        except Exception as e:
            raise GraphError(
                f"loop {name!r}: max_iterations={text!r} could not be computed from the arguments "
                f"({type(e).__name__}: {e})"
            ) from None
