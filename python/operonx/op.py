"""The ``@op`` decorator and ``FuncOp``: turning Python functions into graph ops.

::

    @op
    def add(x, y=1):
        return {"sum": x + y}

    with GraphOp(name="g") as g:
        a = add(x=PARENT["x"])          # a node named "a" in g
        START >> a >> END

    add(x=1)                            # outside a graph: OperonUsageError
    add.func(x=1)                       # the plain function -> {"sum": 2}
"""

from __future__ import annotations

import functools
import inspect
import weakref
from typing import TYPE_CHECKING, Any, Callable, Generic, Mapping, ParamSpec, Protocol, Sequence, TypeVar, overload

from operonx.errors import GraphTypeError, OperonUsageError
from operonx._authoring.functions import (
    Bound,
    check_bound,
    check_delay,
    check_keys,
    declared_outputs,
    read_signature,
    read_source,
    refuse_unsupported,
)
from operonx._authoring.calls import cache_info, check_call_option, clear_cache, merged_calls, set_cache_size
from operonx._authoring.code_node import CodeNode
from operonx._authoring.external import checked_options, op_executor
from operonx._authoring.nodes import current_get
from operonx._authoring.options import setup
from operonx._authoring.naming import assigned_name, caller_frame, check_name, is_valid_name, site_of
from operonx.refs import Ref
from operonx import registry
from operonx._authoring.resources import resource_parameters

__all__ = [
    "op", "Bound", "OpFunction", "FuncOp", "declared_outputs", "set_cache_size", "clear_cache", "cache_info",
]

_UNPARSED: Any = object()

P = ParamSpec("P")
R = TypeVar("R")


class OpFunction(Generic[P, R]):
    """A function decorated with ``@op``.

    Called inside ``with GraphOp(...)`` it adds a node to that graph and
    returns it; called anywhere else it raises
    :class:`~operonx.errors.OperonUsageError` (a node made outside any graph
    would silently belong to none). The original function is ``.func`` (and
    ``__wrapped__``), with its
    exact signature for type checkers.
    """

    func: Callable[P, R]
    __wrapped__: Callable[P, R]

    def __init__(
        self,
        func: Callable[P, R],
        *,
        bound: str | None = None,
        cache: Any = False,
        delay: float = 0,
        name: str | None = None,
        return_keys: Any = None,
        retries: int | None = None,
        backoff: float | None = None,
        retry_on: Any = None,
        timeout: float | None = None,
        executor: str | None = None,
        ray: Any = None,
    ) -> None:
        if not callable(func) or isinstance(func, type):
            raise GraphTypeError(f"@op needs a function, got {func!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.is_gen = inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)
        self.is_async = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
        self.bound = check_bound(bound) if bound is not None else ("io" if self.is_async else "sync")
        #: the executor named by ``executor=`` (``None``: see ``bound``) and its options (``ray=``)
        self.executor = executor
        self.executor_options = checked_options(self.bound, executor, ray)
        given = {"cache": cache, "delay": check_delay(delay), "retries": retries, "backoff": backoff,
                 "retry_on": retry_on, "timeout": timeout}
        #: the options of the op's calls that are on (``None``: a plain call)
        self.calls = merged_calls(None, {k: check_call_option(k, v) for k, v in given.items()})
        self.cache = bool(cache)
        self.delay = given["delay"]
        self.name = check_name(name) if name is not None else None
        self.qualname: str = str(
            getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
        )
        fname: str = getattr(func, "__name__", None) or self.qualname
        #: the function's module (``""`` when it has none), written beside ``func_name`` in documents
        self.module: str = str(getattr(func, "__module__", None) or "")
        self.func_name = fname
        self.fallback_name = fname if is_valid_name(fname) else "op"
        params, defaults, has_varkw = read_signature(func)
        # parameters annotated with Resource are filled by the engine at each call, never inputs
        self.resources = resource_parameters(func)
        if self.resources:
            taken = {p for p, _ in self.resources}
            params = tuple(p for p in params if p not in taken)
            defaults = {k: v for k, v in defaults.items() if k not in taken}
        self.params = params
        self.param_set = frozenset(params)
        self.defaults = defaults
        self.has_varkw = has_varkw
        self.return_keys = check_keys(return_keys) if return_keys is not None else None
        self._outputs = self.return_keys if self.return_keys is not None else _UNPARSED
        self._source: str | None = None
        registry.register(self)  # so that Operon.from_json finds it by name

    @property
    def outputs(self) -> tuple[str, ...] | None:
        """Declared output keys, or ``None`` when they stay open until run time."""
        out = self._outputs
        if out is _UNPARSED:
            out = self._outputs = declared_outputs(self.func)
        return out

    @property
    def source(self) -> str:
        """The function's source text ('' when unavailable), read once."""
        if self._source is None:
            self._source = read_source(self.func)
        return self._source

    def __repr__(self) -> str:
        return f"<op {self.qualname}>"

    if TYPE_CHECKING:
        # For type checkers (see op()): only a keyword call is valid (it adds a node to the graph).
        def __call__(
            self, *, name: str | Ref | None = None, inputs: Mapping[str, Any] | None = None,
            outputs: Mapping[str, Ref] | Ref | None = None, bound: Bound | Ref | None = None,
            cache: bool | Ref | None = None, delay: float | Ref | None = None,
            return_keys: Sequence[str] | Ref | None = None, retries: int | Ref | None = None,
            backoff: float | Ref | None = None, retry_on: Any = None, timeout: float | Ref | None = None,
            **kwargs: Any,
        ) -> FuncOp[P, R]: ...
    else:
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            graph = current_get()
            if graph is None:
                raise OperonUsageError(
                    f"{self.func_name}() is an op: calling it adds a node to the graph of the enclosing "
                    f"`with GraphOp(...):` block, and there is none here. Call it inside one, or call the "
                    f"plain function as {self.func_name}.func(...)"
                )
            if args:
                raise GraphTypeError(
                    f"{self.func_name}(): inside a graph, bind inputs by keyword (got {len(args)} positional)"
                )
            frame = caller_frame(1)
            name = kwargs.get("name")
            auto = False
            if name is None or type(name) is Ref:  # a Ref binds a parameter called `name`
                name, auto = default_name(self, frame)
            node = _new(FuncOp)
            # site_of(graph, frame), inlined for the common case
            site = frame.f_lasti if frame is graph.frame_ else site_of(graph, frame)
            setup(node, self, graph, name, kwargs, auto, site)
            return node


def default_name(spec: OpFunction[Any, Any], frame: Any) -> tuple[str, bool]:
    """The name of a node made with no ``name=`` string in ``frame``, and whether it is a default (made
    unique in its graph): ``@op(name=...)``, else the assignment target (a chosen name), else the
    function's name."""
    if spec.name:
        return spec.name, True
    target = assigned_name(frame)
    if target is not None:
        return target, False
    return spec.fallback_name, True


class OpDecorator(Protocol):
    """What ``@op(...)`` with options returns: the decorator, keeping the function's type."""
    def __call__(self, func: Callable[P, R], /) -> OpFunction[P, R]: ...


@overload
def op(
    func: Callable[P, R], /, *, bound: Bound | None = None, cache: bool = False, delay: float = 0,
    name: str | None = None, return_keys: Sequence[str] | None = None, executor: str | None = None,
    retries: int | None = None, backoff: float | None = None,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] | None = None, timeout: float | None = None,
    tracer: None = None, ray: Mapping[str, Any] | None = None,
) -> OpFunction[P, R]: ...
@overload
def op(
    func: None = None, /, *, bound: Bound | None = None, cache: bool = False, delay: float = 0,
    name: str | None = None, return_keys: Sequence[str] | None = None, executor: str | None = None,
    retries: int | None = None, backoff: float | None = None,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] | None = None, timeout: float | None = None,
    tracer: None = None, ray: Mapping[str, Any] | None = None,
) -> OpDecorator: ...


def op(
    func: Callable[..., Any] | None = None,
    *,
    bound: Bound | None = None,
    cache: Any = False,
    delay: float = 0,
    name: str | None = None,
    return_keys: Any = None,
    executor: str | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    retry_on: Any = None,
    timeout: float | None = None,
    tracer: Any = None,
    ray: Mapping[str, Any] | None = None,
) -> Any:
    """Make a function usable as a graph op: ``@op`` or ``@op(bound="cpu", ...)``.

    Works on ``def``, ``async def`` and both kinds of generator functions.
    ``bound`` is ``"sync"`` (default for ``def`` and generators: run inline),
    ``"io"`` (default for ``async def``: an asyncio task), ``"cpu"`` (a worker
    thread) or ``"process"`` (a worker process of the engine's pool, see
    :mod:`operonx.executors`). ``executor="name"`` runs the op's calls on the executor
    the engine was given under that name (``"threads"``, or 0.7.1's ``"thread"``, is
    ``bound="cpu"``); ``ray={...}`` are options handed to the executor with each call
    (with no executor named, the op runs on the one named ``"ray"``). ``name`` is the
    default node name; ``return_keys`` declares the output keys instead of reading them
    from the function's ``return {...}`` literals.

    A parameter annotated with :class:`~operonx.resources.Resource` (``llm: Resource["llm:gpt"]``) is
    not an input: the engine passes that resource's settings at each call (see :mod:`operonx.resources`).

    Options of the op's calls (also given per node, at the call inside a graph):

    - ``cache=True``: outputs are kept in a process-wide LRU cache (see
      :func:`operonx.set_cache_size`) keyed by the op's full name and the JSON of its
      inputs; a hit returns a copy of them without calling the function.
    - ``delay=s``: sleeps ``s`` seconds before each execution (each attempt).
    - ``retries=N``: a failed attempt is retried up to ``N`` times after the first, waiting
      ``backoff`` seconds (default 0.1) before the first retry and twice as long before each
      later one (at most 60 s), each wait drawn at random from its upper half (jitter).
      ``retry_on=(ExcType, ...)`` retries only those exceptions (others fail at once). The
      last failure is an :class:`~operonx.errors.OpError` saying how many attempts ran, with
      the last exception as its ``__cause__``.
    - ``timeout=s``: an attempt still running after ``s`` seconds fails (and is retried while
      retries are left, whatever ``retry_on`` lists): an ``async def`` op's task is cancelled;
      a ``bound="cpu"`` op's result is abandoned (its worker thread finishes the call). A sync op running inline cannot be
      stopped: ``timeout=`` on one is refused when the engine is built (use ``bound="cpu"``).
      Generators take ``delay`` only (their items reach consumers as they come, so a retry
      would repeat them).

    ``tracer`` is not implemented here: setting it raises :class:`~operonx.errors.OperonUsageError`.

    Typing: ``@op def f(x: int) -> dict[str, int]`` is an ``OpFunction`` of that signature. Type checkers
    see ``f.func`` (and ``__wrapped__``) as the function itself (``f.func(1)`` checks, ``f.func("a")``
    does not) and check the options (``@op(bound="gpu")``, ``@op`` on a non-callable: errors). A call
    with keywords only is the call that adds a node: it returns a ``FuncOp`` of the same signature, whose
    ``node["k"]`` is a :class:`~operonx.refs.Ref` and which wires with ``>>``, ``>`` and ``~``; its options
    (``name``, ``inputs``, ``outputs``, ``bound``, ``cache``, ``delay``, ``return_keys``) are checked,
    each also taking a Ref (a parameter of that name), while inputs take any value, since a Ref or a
    literal stands for the argument (a ParamSpec cannot retype them; unknown names are an error when the
    graph is built). A call with positional arguments is an error (inside a graph inputs are bound by keyword;
    outside one an op cannot be called): call the plain function as ``f.func(...)``.
    """
    refuse_unsupported("tracer", tracer)
    bound, executor = op_executor(bound, executor)
    if isinstance(func, OpFunction):
        func = func.func
    opts = {"bound": bound, "cache": cache, "delay": delay, "name": name, "return_keys": return_keys, "ray": ray,
            "retries": retries, "backoff": backoff, "retry_on": retry_on, "timeout": timeout, "executor": executor}
    if func is None:
        return lambda f: OpFunction(f.func if isinstance(f, OpFunction) else f, **opts)
    return OpFunction(func, **opts)


_specs: "weakref.WeakKeyDictionary[Callable, OpFunction]" = weakref.WeakKeyDictionary()


def _spec_for(fn: Any) -> OpFunction:
    if isinstance(fn, OpFunction):
        return fn
    try:
        spec = _specs.get(fn)
    except TypeError:
        spec = None
    if spec is None:
        spec = OpFunction(fn)
        try:
            _specs[fn] = spec
        except TypeError:
            pass
    return spec


# The code-op node (its graph-facing part: operonx._authoring.code_node)


class FuncOp(CodeNode, Generic[P, R]):
    """A code op: one call of a Python function inside a graph.

    Made by calling an ``@op`` function inside ``with GraphOp(...)``, or directly:
    ``FuncOp(code_fn=f, inputs={"x": PARENT["x"]}, name="f")``, where ``f(**kw)`` receives every
    bound input. Keyword options: ``name``, ``inputs``, ``outputs`` (``{"key": PARENT["graph_out"]}``),
    the options of ``@op``; other keywords bind inputs (or map declared outputs to ``PARENT[...]``).
    """

    __slots__ = ()
    spec_: OpFunction

    type = "code"

    def __init__(self, code_fn: Callable[P, R] | None = None, **kwargs: Any) -> None:
        if code_fn is None:
            raise GraphTypeError("FuncOp needs code_fn=<function>")
        graph = current_get()
        if graph is None:
            raise OperonUsageError("FuncOp(...) must be created inside `with GraphOp(...):`")
        spec = _spec_for(code_fn)
        frame = caller_frame(1)
        name = kwargs.get("name")
        auto = False
        if name is None or type(name) is Ref:
            name, auto = default_name(spec, frame)
        setup(self, spec, graph, name, kwargs, auto, site_of(graph, frame))

    # -- what users read ------------------------------------------------------

    @property
    def func(self) -> Callable[P, R]:
        """The plain Python function this op calls."""
        return self.spec_.func

    @property
    def func_name(self) -> str:
        """The function's qualified name."""
        return self.spec_.qualname

    @property
    def is_gen(self) -> bool:
        """True when the function is a generator (sync or async)."""
        return self.spec_.is_gen

    @property
    def is_async(self) -> bool:
        """True for ``async def`` functions and async generators."""
        return self.spec_.is_async

    @property
    def bound(self) -> str:
        """Where the op runs: ``"sync"`` (inline), ``"io"`` (asyncio task), ``"cpu"`` (thread), ``"process"``."""
        return self.xget_("bound", self.spec_.bound)

    @bound.setter
    def bound(self, value: str) -> None:
        self.xset_("bound", check_bound(value))

    @property
    def cache(self) -> bool:
        """True when results are cached by the op's full name and inputs."""
        return bool(self.calls_().get("cache"))

    @cache.setter
    def cache(self, value: bool) -> None:
        self.set_calls_({"cache": check_call_option("cache", value)})

    @property
    def delay(self) -> float:
        """Seconds slept before each execution (0: none)."""
        return self.calls_().get("delay", 0)

    @delay.setter
    def delay(self, value: float) -> None:
        self.set_calls_({"delay": check_call_option("delay", check_delay(value))})

    @property
    def retries(self) -> int:
        """Attempts made after a failed first one (0: none)."""
        return self.calls_().get("retries", 0)

    @property
    def timeout(self) -> float | None:
        """Seconds an attempt may take (``None``: no limit)."""
        return self.calls_().get("timeout")


_new = object.__new__

