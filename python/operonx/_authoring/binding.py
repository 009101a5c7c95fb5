"""Reading a graph document back for ``Operon.from_json``: the document as given (text, dict or file),
and the document the engine compiles, with each code op bound to a Python function.

An exported document names functions, it never holds them: a code op has its ``func_name``, a
``.apply(fn)`` transform ``{"func_name": ...}``, a callable loop ``until`` ``{"callable": ...}``.
Binding gives each code op ``"callable": {"$host": i}``, an index into the host list compiled with
the document (as :func:`~operonx._authoring.writer.engine_document` does for a live graph), so both
paths run the same compiled graph. A code op's function is found by its ``func_name`` in ``ops=``,
then by the op's own name in ``ops=``, then in :mod:`operonx.registry` by ``module.func_name``
(the qualified name, when the document has the function's ``module``: export_config() writes it)
and by ``func_name`` alone (a script exported as ``__main__`` and imported by its file name); an op
written without a ``func_name`` is looked up by its own name. (The Rust crate also tries the op's
name in its ``#[op]`` registry when nothing has the ``func_name``; here the registry is only asked
for the name the document gives, so that a function of another module that happens to share an
op's name is never run in place of a missing one.) Transform functions and callable ``until`` values come from ``ops=`` (a
transform may also name a Python builtin such as ``len``). Whatever cannot be bound is reported at
once, every op named, before anything runs.
"""

from __future__ import annotations

import builtins
import inspect
import json
import os
import re
import sys
from itertools import accumulate
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Union

from operonx import registry
from operonx._authoring.external import ExternalCall
from operonx._authoring.resources import check_hub, resource_parameters, with_resources
from operonx._authoring.writer import SCHEMA_VERSION
from operonx.errors import GraphError, GraphTypeError, SchemaVersionError
from operonx.resources import ResourceHub

__all__ = ["DocumentSource", "OpsMapping", "bind_document", "read_document"]

#: What ``Operon.from_json`` reads: JSON text, the document as a dict, or the path of a JSON file.
DocumentSource = Union[str, bytes, "os.PathLike[str]", Mapping[str, Any]]
#: ``ops=`` of ``Operon.from_json``: name -> the function (or ``@op`` function) that runs it.
OpsMapping = Mapping[str, Callable[..., Any]]

_ABSENT: Any = object()
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_NESTING = {"{": 1, "[": 1, "}": -1, "]": -1}


def _depth(value: Any) -> int:
    """How deep a JSON value nests (an explicit stack: any depth)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        children = v.values() if isinstance(v, dict) else v
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def _text_depth(text: str) -> int:
    """How deep JSON text nests: its brackets outside strings."""
    bare = _STRINGS.sub("", text)
    return max(accumulate(_NESTING.get(ch, 0) for ch in bare if ch in _NESTING), default=0)


def _deep(fn: Callable[[], Any], depth: Callable[[], int]) -> Any:
    """``fn()``, the JSON reader and writer being recursive: a document nested deeper than Python's
    recursion limit allows (graphs nested a thousand levels) is read again with room for its depth."""
    try:
        return fn()
    except RecursionError:
        pass
    need = 8 * depth() + 200
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(need, limit))
    try:
        return fn()
    finally:
        sys.setrecursionlimit(limit)


def _json_copy(doc: Any) -> Any:
    """A copy of a JSON-ready value (which it must be: a document holds JSON values only)."""
    try:
        return _deep(lambda: json.loads(json.dumps(doc)), lambda: _depth(doc))
    except (TypeError, ValueError) as e:
        raise GraphError(f"Operon.from_json(): the document is not JSON-ready: {e}") from e


def read_document(source: Any) -> dict:
    """The document ``source`` holds, as a new dict: JSON text (a string starting with ``{``, or
    bytes), a mapping (copied, never changed), or the path of a JSON file."""
    if isinstance(source, Mapping):
        return _json_copy(dict(source))
    if isinstance(source, (bytes, bytearray)):
        text, where = bytes(source).decode("utf-8"), "the JSON text"
    elif isinstance(source, str) and source.lstrip().startswith("{"):
        text, where = source, "the JSON text"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"Operon.from_json(): no file {str(path)!r} (a document given as text must be a JSON object, "
                f"starting with '{{')"
            )
        text, where = path.read_text(encoding="utf-8"), f"file {str(path)!r}"
    else:
        raise GraphTypeError(
            f"Operon.from_json() takes JSON text, a dict or a file path, not {type(source).__name__}"
        )
    try:
        doc = _deep(lambda: json.loads(text), lambda: _text_depth(text))
    except json.JSONDecodeError as e:
        raise GraphError(f"Operon.from_json(): {where} is not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise GraphError(f"Operon.from_json(): {where} holds a JSON {type(doc).__name__}, not a graph document")
    return doc


def _ops_table(ops: Any) -> dict[str, Callable[..., Any]]:
    if ops is None:
        return {}
    if not isinstance(ops, Mapping):
        raise GraphTypeError(f"ops= must map names to functions, not {type(ops).__name__}")
    table = {}
    for name, fn in ops.items():
        if not isinstance(name, str) or not callable(fn):
            raise GraphTypeError(f"ops= must map names to functions; got {name!r}: {fn!r}")
        table[name] = registry.function_of(fn)
    return table


class _Binder:
    """Walks one document (an explicit stack: any nesting depth), binding what it names."""

    def __init__(self, graph: str, ops: dict[str, Callable[..., Any]], hub: ResourceHub | None = None) -> None:
        self.graph = graph
        self.ops = ops
        self.hub = hub
        self.hosts: list[Any] = []
        self.problems: list[str] = []
        # what set() changed, to put the document back as it was once the engine's text is written
        self.changes: list[tuple[Any, Any, Any]] = []

    def set(self, container: Any, key: Any, value: Any) -> None:
        old = container.get(key, _ABSENT) if isinstance(container, dict) else container[key]
        self.changes.append((container, key, old))
        container[key] = value

    def undo(self) -> None:
        for container, key, old in reversed(self.changes):
            if old is _ABSENT:
                del container[key]
            else:
                container[key] = old
        self.changes.clear()

    def host(self, value: Any) -> dict:
        self.hosts.append(value)
        return {"$host": len(self.hosts) - 1}

    def code_op(self, name: str, op: dict) -> None:
        full = op.get("full_name") or name
        func_name = op.get("func_name")
        wanted = func_name if isinstance(func_name, str) and func_name else name
        fn = self.ops.get(wanted)
        if fn is None and wanted != name:
            fn = self.ops.get(name)  # ops= may name the op itself, as the Rust builder's names may
        if fn is None:
            # the function's module, when the document names it, makes the name exact
            module = op.get("module")
            exact = f"{module}.{wanted}" if isinstance(module, str) and module and wanted == func_name else None
            try:
                entry = (registry.lookup(exact) if exact else None) or registry.lookup(wanted)
            except GraphError as e:
                self.problems.append(f"op '{full}': {e}")
                return
            fn = entry.func if entry is not None else None
        if fn is None:
            self.problems.append(
                f"op '{full}' calls '{wanted}', which no @op function registers: import the module that "
                f"defines it, or pass Operon.from_json(..., ops={{'{wanted}': function}})"
            )
            return
        self.check_kind(full, wanted, op, fn)
        executor = op.get("executor") or ("process" if op.get("bound") == "process" else None)
        if executor is not None:
            # the engine resolves the resources in this process and sends them with the inputs
            needs = resource_parameters(fn)
            check_hub(full, needs, self.hub)
            call = ExternalCall(fn, executor, op.get("executor_options"), full, bool(op.get("is_generator")), needs)
            self.set(op, "callable", self.host(call))
            return
        # parameters annotated with Resource are not inputs of the document: the engine fills them
        self.set(op, "callable", self.host(with_resources(fn, full, self.hub)))

    def check_kind(self, full: str, wanted: str, op: dict, fn: Callable[..., Any]) -> None:
        plain = inspect.unwrap(fn)
        if not inspect.isfunction(plain):
            return  # a callable object or builtin: the engine calls it as the document says
        is_gen = inspect.isgeneratorfunction(plain) or inspect.isasyncgenfunction(plain)
        is_async = inspect.iscoroutinefunction(plain) or inspect.isasyncgenfunction(plain)
        for flag, actual, what in (("is_generator", is_gen, "a generator"), ("is_async", is_async, "async")):
            if bool(op.get(flag, False)) != actual:
                self.problems.append(
                    f"op '{full}' is {'' if op.get(flag) else 'not '}{what} in the document, but its function "
                    f"'{wanted}' ({getattr(plain, '__module__', '?')}.{plain.__qualname__}) is "
                    f"{'' if actual else 'not '}{what}"
                )

    def named(self, spec: Any, key: str, where: str) -> Any:
        """A function the document names as ``{key: name}``, from ``ops=`` (or a builtin)."""
        name = spec.get(key) if isinstance(spec, dict) and len(spec) == 1 else None
        if not isinstance(name, str):
            return spec
        fn = self.ops.get(name)
        if fn is None and key == "func_name" and callable(getattr(builtins, name, None)):
            fn = getattr(builtins, name)
        if fn is None:
            self.problems.append(
                f"{where} names the function '{name}', which a document cannot hold: "
                f"pass Operon.from_json(..., ops={{'{name}': function}})"
            )
            return spec
        return self.host(fn)

    def ref(self, ref: dict, where: str) -> None:
        for tf in ref.get("transforms") or ():
            if isinstance(tf, list) and len(tf) == 2 and tf[0] == "apply" and isinstance(tf[1], list) and tf[1]:
                self.set(tf[1], 0, self.named(tf[1][0], "func_name", f"a .apply() of {where}"))

    def walk(self, doc: dict) -> None:
        stack: list[tuple[Any, str]] = [(doc, "")]
        while stack:
            node, where = stack.pop()
            if isinstance(node, list):
                stack.extend((v, where) for v in node)
                continue
            if not isinstance(node, dict):
                continue
            if len(node) == 1 and "$repr" in node:
                self.problems.append(
                    f"{where or 'the document'} holds a Python object written only as its repr "
                    f"({node['$repr']}): a document runs with JSON values"
                )
                continue
            if node.get("type") is not None and isinstance(node.get("full_name"), str):
                kind = "graph" if node.get("type") == "graph" and "graph" not in node else "op"
                where = f"{kind} '{node['full_name']}'"
            if "transforms" in node and "source" in node:
                self.ref(node, where)
            if isinstance(node.get("loop"), dict) and isinstance(node["loop"].get("until"), dict):
                self.set(node["loop"], "until", self.named(node["loop"]["until"], "callable", f"the until of {where}"))
            ops = node.get("ops")
            if isinstance(ops, dict) and node.get("type") in ("graph", None):
                for name, op in ops.items():
                    if isinstance(op, dict) and op.get("type") == "code":
                        self.code_op(name, op)
            for key, value in node.items():
                if key in ("inputs", "outputs") and isinstance(value, dict):
                    stack.extend((v, f"{key[:-1]} '{k}' of {where}") for k, v in value.items())
                elif isinstance(value, (dict, list)):
                    stack.append((value, where))


def bind_document(source: Any, ops: Any = None, hub: ResourceHub | None = None) -> tuple[dict, str, list[Any]]:
    """``(document, engine_text, hosts)``: the document ``source`` holds (see :func:`read_document`),
    and the JSON text the engine compiles with the hosts it refers to, every code op bound to its
    function (a function with :class:`~operonx.resources.Resource` parameters wrapped to receive them
    from ``hub``, else from the process-wide hub, as ``Operon(g)`` does). Raises :class:`~operonx.errors.SchemaVersionError` for a document of another
    schema version, and :class:`~operonx.errors.GraphError` naming the graph and every op that
    cannot be bound.
    """
    document = read_document(source)
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        shown = "<missing>" if "schema_version" not in document else json.dumps(version)
        raise SchemaVersionError(
            f"graph document has schema_version {shown}; this engine reads schema_version \"{SCHEMA_VERSION}\""
        )
    graph = str(document.get("name") or document.get("full_name") or "?")
    binder = _Binder(graph, _ops_table(ops), hub)
    # the functions are written into the document for the engine's text, then taken out again
    try:
        binder.walk(document)
        if binder.problems:
            raise GraphError(
                f"graph '{graph}' cannot run from its document ({len(binder.problems)} problem"
                f"{'' if len(binder.problems) == 1 else 's'}):\n" + "\n".join(f"  - {p}" for p in binder.problems)
            )
        text = _deep(lambda: json.dumps(document), lambda: _depth(document))
    finally:
        binder.undo()
    return document, text, binder.hosts
