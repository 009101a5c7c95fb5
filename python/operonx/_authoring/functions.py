"""Reading a Python function once for ``@op``: its parameters, its source, the output keys its
``return {...}`` literals declare, and the checks of the options ``@op`` takes."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections import deque
from typing import Any, Callable, Literal, get_args

from operonx.errors import GraphError, GraphTypeError, OperonUsageError

__all__ = [
    "Bound",
    "UNSUPPORTED",
    "check_bound",
    "check_delay",
    "check_keys",
    "declared_outputs",
    "read_signature",
    "refuse_unsupported",
    "read_source",
]

#: Where an op runs: ``"sync"`` (inline), ``"io"`` (an asyncio task), ``"cpu"`` (a worker thread) or
#: ``"process"`` (a worker process of the engine's pool).
Bound = Literal["sync", "io", "cpu", "process"]
_BOUNDS: tuple[str, ...] = get_args(Bound)
_EMPTY = inspect.Parameter.empty


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


def check_bound(bound: Any) -> str:
    if bound not in _BOUNDS:
        raise GraphError(f"bound must be one of 'sync', 'io', 'cpu', 'process', got {bound!r}")
    return bound


def check_delay(delay: Any) -> float:
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise GraphError(f"delay must be a number of seconds >= 0, got {delay!r}")
    return delay


#: op options this version accepts only switched off, with what they would do
UNSUPPORTED = {
    "tracer": "tracing",
}


def refuse_unsupported(option: str, value: Any) -> None:
    """Raise :class:`OperonUsageError` when an option the engine does not implement yet is switched
    on (``tracer=...``): accepting it would silently do nothing."""
    if value is None or value is False or (type(value) in (int, float) and value == 0):
        return
    raise OperonUsageError(
        f"op option {option}={value!r} ({UNSUPPORTED[option]}) is not implemented in this version of "
        f"operonx; remove it (left in place it would silently do nothing)"
    )


def check_keys(keys: Any) -> tuple[str, ...]:
    if isinstance(keys, str) or not all(type(k) is str for k in keys):
        raise GraphTypeError(f"return_keys must be a list of strings, got {keys!r}")
    return tuple(keys)


def read_signature(func: Callable) -> tuple[tuple[str, ...], dict[str, Any], bool]:
    """``(params, defaults, has_varkw)`` of ``func``: the keyword-bindable parameters in order,
    their defaults, and whether it takes ``**kwargs`` (assumed when there is no signature)."""
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
    return tuple(params), defaults, has_varkw


def read_source(func: Callable) -> str:
    """The function's source text ('' when unavailable)."""
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return ""
