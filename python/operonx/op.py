"""The ``@op`` decorator and ``FuncOp``: turning Python functions into graph ops.

::

    @op
    def add(x, y=1):
        return {"sum": x + y}

    with GraphOp(name="g") as g:
        a = add(x=PARENT["x"])          # a node named "a" in g
        START >> a >> END

    add(x=1)                            # outside a graph: a plain call -> {"sum": 2}
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import textwrap
import weakref
from collections import deque
from typing import Any, Callable, Iterator

from operonx.errors import GraphError, GraphTypeError, OperonUsageError
from operonx._authoring.nodes import OpNode, Param, Terminal, current_get, output_params
from operonx._authoring.scopes import bad_input, check_scope, refs_in
from operonx._authoring.naming import assigned_name, check_name, is_valid_name
from operonx.refs import PARENT, ParentType, Ref

__all__ = ["op", "OpFunction", "FuncOp", "declared_outputs"]

_BOUNDS = ("sync", "io", "cpu")
_UNPARSED: Any = object()
_EMPTY = inspect.Parameter.empty
_OPTIONS = frozenset({"name", "inputs", "outputs", "bound", "cache", "return_keys", "delay"})
_NOT_VALUES = (OpNode, ParentType, Terminal)


# ---------------------------------------------------------------------------
# Reading a function once
# ---------------------------------------------------------------------------


def _function_node(tree: ast.AST, name: str) -> ast.AST | None:
    """The outermost ``def name`` in ``tree`` (breadth first)."""
    queue = deque([tree])
    while queue:
        node = queue.popleft()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
        queue.extend(ast.iter_child_nodes(node))
    return None


def _parse_source(func: Callable) -> ast.AST | None:
    try:
        src = inspect.getsource(func)
    except (OSError, TypeError):
        return None
    for text in (textwrap.dedent(src), "if 1:\n" + src):
        try:
            return ast.parse(text)
        except SyntaxError:
            continue
    return None


def declared_outputs(func: Callable) -> tuple[str, ...] | None:
    """Output keys read from the dict literals ``func`` returns or yields.

    Returns ``None`` (outputs open until run time) when the source cannot be
    read or when some return/yield is not a dict literal with string keys.
    Keys starting with ``$`` are never outputs.
    """
    fname = getattr(func, "__name__", None)
    if not fname or fname == "<lambda>":
        return None
    tree = _parse_source(func)
    if tree is None:
        return None
    fdef = _function_node(tree, fname)
    if fdef is None:
        return None
    keys: dict[str, None] = {}
    # pre-order walk in source order, so keys keep the order they are written in
    stack: list[ast.AST] = list(reversed(fdef.body))  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # a nested scope's returns are not ours
        if isinstance(node, (ast.Return, ast.Yield)):
            value = node.value
            if value is None or (isinstance(value, ast.Constant) and value.value is None):
                pass
            elif isinstance(value, ast.Dict):
                for k in value.keys:
                    if k is None:  # {**other}
                        return None
                    if isinstance(k, ast.Constant) and isinstance(k.value, str):
                        if not k.value.startswith("$"):
                            keys[k.value] = None
                    else:
                        return None
            else:
                return None
        elif isinstance(node, ast.YieldFrom):
            return None
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return tuple(keys)


def _check_bound(bound: Any) -> str:
    if bound not in _BOUNDS:
        raise GraphError(f"bound must be one of 'sync', 'io', 'cpu', got {bound!r}")
    return bound


def _check_delay(delay: Any) -> float:
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise GraphError(f"delay must be a number of seconds >= 0, got {delay!r}")
    return delay


class OpFunction:
    """A function decorated with ``@op``.

    Called inside ``with GraphOp(...)`` it adds a node to that graph and
    returns it; called anywhere else it is the plain function. The original
    function stays reachable as ``.func`` (and ``__wrapped__``).
    """

    def __init__(
        self,
        func: Callable,
        *,
        bound: str | None = None,
        cache: Any = False,
        delay: float = 0,
        name: str | None = None,
        return_keys: Any = None,
    ) -> None:
        if not callable(func) or isinstance(func, type):
            raise GraphTypeError(f"@op needs a function, got {func!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.is_gen = inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)
        self.is_async = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
        self.bound = _check_bound(bound) if bound is not None else ("io" if self.is_async else "sync")
        self.cache = cache
        self.delay = _check_delay(delay)
        self.name = check_name(name) if name is not None else None
        self.qualname: str = str(
            getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
        )
        fname: str = getattr(func, "__name__", None) or self.qualname
        self.func_name = fname
        self.fallback_name = fname if is_valid_name(fname) else "op"
        params: list[str] = []
        defaults: dict[str, Any] = {}
        has_varkw = False
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            sig = None
            has_varkw = True
        if sig is not None:
            for p in sig.parameters.values():
                if p.kind is p.VAR_KEYWORD:
                    has_varkw = True
                elif p.kind is not p.VAR_POSITIONAL:
                    params.append(p.name)
                    if p.default is not _EMPTY:
                        defaults[p.name] = p.default
        self.params = tuple(params)
        self.param_set = frozenset(params)
        self.defaults = defaults
        self.has_varkw = has_varkw
        self.return_keys = _check_keys(return_keys) if return_keys is not None else None
        self._outputs = self.return_keys if self.return_keys is not None else _UNPARSED
        self._source: str | None = None

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
            try:
                self._source = inspect.getsource(self.func)
            except (OSError, TypeError):
                self._source = ""
        return self._source

    def __repr__(self) -> str:
        return f"<op {self.qualname}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = current_get()
        if graph is None:
            return self.func(*args, **kwargs)
        if args:
            raise GraphTypeError(
                f"{self.func_name}(): inside a graph, bind inputs by keyword (got {len(args)} positional)"
            )
        name = kwargs.get("name")
        if name is None:
            name = self.name or assigned_name(sys._getframe(1)) or self.fallback_name
        node = _new(FuncOp)
        _setup(node, self, graph, name, kwargs)
        return node


def _check_keys(keys: Any) -> tuple[str, ...]:
    if isinstance(keys, str) or not all(type(k) is str for k in keys):
        raise GraphTypeError(f"return_keys must be a list of strings, got {keys!r}")
    return tuple(keys)


def op(
    func: Callable | None = None,
    *,
    bound: str | None = None,
    cache: Any = False,
    delay: float = 0,
    name: str | None = None,
    return_keys: Any = None,
    executor: str | None = None,
) -> Any:
    """Make a function usable as a graph op: ``@op`` or ``@op(bound="cpu", ...)``.

    Works on ``def``, ``async def`` and both kinds of generator functions.
    ``bound`` is ``"sync"`` (default for ``def`` and generators: run inline),
    ``"io"`` (default for ``async def``: an asyncio task) or ``"cpu"`` (a worker
    thread). ``cache=True`` caches results by the op's inputs; ``delay`` sleeps
    that many seconds before each run; ``name`` is the default node name;
    ``return_keys`` declares the output keys instead of reading them from the
    function's ``return {...}`` literals. ``executor="thread"`` is an old
    spelling of ``bound="cpu"``.
    """
    if executor == "thread" and bound is None:
        bound = "cpu"
    if isinstance(func, OpFunction):
        func = func.func
    if func is None:
        return lambda f: op(
            f, bound=bound, cache=cache, delay=delay, name=name, return_keys=return_keys
        )
    return OpFunction(func, bound=bound, cache=cache, delay=delay, name=name, return_keys=return_keys)


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


# ---------------------------------------------------------------------------
# The code-op node
# ---------------------------------------------------------------------------


def _bad_value(node: "FuncOp", key: str, value: Any) -> GraphTypeError:
    return bad_input(f"op {node.name!r}", key, value)


def _unknown(spec: OpFunction, key: str) -> GraphTypeError:
    outs = spec.outputs
    return GraphTypeError(
        f"{key!r} is not an input or output of {spec.func_name}(). "
        f"Inputs: {list(spec.params)}, "
        f"Outputs: {list(outs) if outs is not None else 'open (known at run time)'}"
    )


def _parent_var(node: "FuncOp", key: str, value: Any) -> str:
    if isinstance(value, Ref) and value._src is PARENT and not value._tf:
        return value._var
    raise GraphTypeError(
        f"op {node.name!r}: output {key!r} can only be mapped to PARENT['name'], got {value!r}"
    )


def _setup(node: "FuncOp", spec: OpFunction, graph: Any, name: Any, kwargs: dict) -> None:
    """Fill a fresh FuncOp from a call's keywords and add it to ``graph``."""
    if type(name) is not str or not name.replace("_", "a").replace("-", "a").isalnum():
        check_name(name)
    node.name = name
    node.full_name = graph.full_name + "." + name
    node.graph = graph
    node._spec = spec
    node._x = None
    node._bind = bind = {}
    pset = spec.param_set
    extra = None
    for k, v in kwargs.items():
        if k in pset:
            if type(v) is Ref:
                src = v._src
                # refs inside transform arguments can only leave the scope once graphs nest
                if (src is not PARENT and getattr(src, "graph", None) is not graph) or (
                    v._tf and (graph.graph is not None or graph._subs)
                ):
                    check_scope(graph, f"op {name!r}", k, v)
            elif isinstance(v, _NOT_VALUES):
                raise _bad_value(node, k, v)
            bind[k] = v
        elif k != "name":
            if extra is None:
                extra = [(k, v)]
            else:
                extra.append((k, v))
    if extra is not None:
        _options(node, spec, extra)
    # graph._add(node), inlined: this runs once per op
    if graph._built:
        graph._add(node)  # raises OperonUsageError
    ops = graph._ops
    if name in ops:
        graph._add(node)  # logs the replacement
    else:
        ops[name] = node


def _options(node: "FuncOp", spec: OpFunction, extra: list) -> None:
    """The uncommon part of a call: options, output keywords, ``inputs={...}``."""
    opts = {}
    kws = []
    for k, v in extra:
        if k in _OPTIONS:
            opts[k] = v
        else:
            kws.append((k, v))
    if opts.get("bound") is not None:
        node._xset("bound", _check_bound(opts["bound"]))
    if "cache" in opts:
        node._xset("cache", opts["cache"])
    if opts.get("delay") is not None:
        node._xset("delay", _check_delay(opts["delay"]))
    if opts.get("return_keys") is not None:
        node._xset("rkeys", _check_keys(opts["return_keys"]))
    bind = node._bind
    for k, v in kws:
        outs = node._declared()
        if outs is not None and k in outs:
            node._set_omap(k, _parent_var(node, k, v))
        elif spec.has_varkw:
            if type(v) is not Ref and isinstance(v, _NOT_VALUES):
                raise _bad_value(node, k, v)
            check_scope(node.graph, f"op {node.name!r}", k, v)
            bind[k] = v
        elif outs is None and isinstance(v, Ref) and v._src is PARENT and not v._tf:
            node._set_omap(k, v._var)
        else:
            raise _unknown(spec, k)
    inputs = opts.get("inputs")
    if inputs is not None:
        if not isinstance(inputs, dict):
            raise GraphTypeError(f"inputs= must be a dict, got {inputs!r}")
        star = False
        for k, v in inputs.items():
            if k == "*":
                if v is not PARENT:
                    raise GraphTypeError('inputs={"*": ...} only accepts PARENT')
                star = True
                continue
            if k not in spec.param_set and not spec.has_varkw:
                raise _unknown(spec, k)
            if type(v) is not Ref and isinstance(v, _NOT_VALUES):
                raise _bad_value(node, k, v)
            check_scope(node.graph, f"op {node.name!r}", k, v)
            bind.setdefault(k, v)
        if star:
            for p in spec.params:
                if p not in bind:
                    bind[p] = Ref(PARENT, p)
    outputs = opts.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, dict):
            raise GraphTypeError(f"outputs= must be a dict, got {outputs!r}")
        for k, v in outputs.items():
            node._map_output(k, _parent_var(node, k, v))


_refs_in = refs_in


class FuncOp(OpNode):
    """A code op: one call of a Python function inside a graph.

    Made by calling an ``@op`` function inside ``with GraphOp(...)``, or
    directly: ``FuncOp(code_fn=f, inputs={"x": PARENT["x"]}, name="f")``,
    where ``f(**kw)`` receives every bound input. Keyword options:
    ``name``, ``inputs``, ``outputs`` (``{"key": PARENT["graph_out"]}``),
    ``bound``, ``cache``, ``delay``, ``return_keys``; other keywords bind
    inputs (or map declared outputs to ``PARENT[...]``).
    """

    __slots__ = ("_spec", "_bind")
    _spec: OpFunction
    _bind: dict[str, Any]

    type = "code"

    def __init__(self, code_fn: Callable | None = None, **kwargs: Any) -> None:
        if code_fn is None:
            raise GraphTypeError("FuncOp needs code_fn=<function>")
        graph = current_get()
        if graph is None:
            raise OperonUsageError("FuncOp(...) must be created inside `with GraphOp(...):`")
        spec = _spec_for(code_fn)
        name = kwargs.get("name")
        if name is None:
            name = spec.name or assigned_name(sys._getframe(1)) or spec.fallback_name
        _setup(self, spec, graph, name, kwargs)

    # -- what users read ------------------------------------------------------

    @property
    def func(self) -> Callable:
        """The plain Python function this op calls."""
        return self._spec.func

    @property
    def func_name(self) -> str:
        """The function's qualified name."""
        return self._spec.qualname

    @property
    def is_gen(self) -> bool:
        """True when the function is a generator (sync or async)."""
        return self._spec.is_gen

    @property
    def is_async(self) -> bool:
        """True for ``async def`` functions and async generators."""
        return self._spec.is_async

    @property
    def bound(self) -> str:
        """Where the op runs: ``"sync"`` (inline), ``"io"`` (asyncio task) or ``"cpu"`` (thread)."""
        return self._xget("bound", self._spec.bound)

    @bound.setter
    def bound(self, value: str) -> None:
        self._xset("bound", _check_bound(value))

    @property
    def cache(self) -> Any:
        """True when results are cached by the op's inputs."""
        return self._xget("cache", self._spec.cache)

    @cache.setter
    def cache(self, value: Any) -> None:
        self._xset("cache", value)

    @property
    def delay(self) -> float:
        """Seconds slept before each execution (0: none)."""
        return self._xget("delay", self._spec.delay)

    @delay.setter
    def delay(self, value: float) -> None:
        self._xset("delay", _check_delay(value))

    def _declared(self) -> tuple[str, ...] | None:
        x = self._x
        if x is not None:
            rk = x.get("rkeys")
            if rk is not None:
                return rk
        return self._spec.outputs

    @property
    def return_keys(self) -> tuple[str, ...] | None:
        """The declared output keys (``None``: open until run time)."""
        return self._declared()

    @property
    def inputs(self) -> dict[str, Param]:
        """The op's inputs in signature order (then extra ``**kwargs`` inputs)."""
        spec = self._spec
        bind = self._bind
        defaults = spec.defaults
        out: dict[str, Param] = {}
        for p in spec.params:
            has = p in defaults
            out[p] = Param(p, not has, defaults[p] if has else None, bind.get(p))
        for k, v in bind.items():
            if k not in out:
                out[k] = Param(k, False, None, v)
        return out

    @property
    def outputs(self) -> dict[str, Param]:
        """Declared outputs (plus mapped ones); a mapped output's value is its PARENT ref."""
        return output_params(self._declared() or (), self._xget("omap", None) or {})

    @property
    def metadata(self) -> dict:
        """Kind, full name, function name and source of the op (built on first use)."""
        m = self._xget("metadata", None)
        if m is None:
            spec = self._spec
            m = {
                "type": "code",
                "name": self.full_name,
                "function_name": spec.func_name,
                "code_fn": spec.source,
            }
            self._xset("metadata", m)
        return m

    # -- wiring hooks -----------------------------------------------------------

    def _map_output(self, key: str, target: str) -> None:
        outs = self._declared()
        if outs is not None and key not in outs:
            raise GraphTypeError(
                f"op {self.name!r}: {key!r} is not an output of {self._spec.func_name}(); "
                f"outputs: {list(outs)}"
            )
        self._set_omap(key, target)

    def _bind_input(self, key: str, ref: Ref) -> None:
        spec = self._spec
        if key not in spec.param_set and not spec.has_varkw:
            raise _unknown(spec, key)
        check_scope(self.graph, f"op {self.name!r}", key, ref)
        self._bind[key] = ref

    def _reads(self) -> Iterator[tuple[str, bool, Any]]:
        spec = self._spec
        defaults = spec.defaults
        params = spec.param_set
        for k, v in self._bind.items():
            if isinstance(v, Ref):
                first = True
                for r in _refs_in(v):
                    if r._src is PARENT:
                        if first and k not in params:  # a **kwargs extra: optional
                            yield r._var, True, None
                        elif first and k in defaults:
                            yield r._var, True, defaults[k]
                        else:
                            yield r._var, False, None
                    first = False

    def _forwards(self, wired_to_end: bool) -> Iterator[str]:
        omap = self._xget("omap", None)
        if omap:
            yield from omap.values()
        elif wired_to_end:
            yield from self._declared() or ()


_new = object.__new__
