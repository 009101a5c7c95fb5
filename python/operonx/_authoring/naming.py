"""Op names: validation, and the name of the variable a call (or a ``with`` block) is assigned to.

``a = f(x=1)`` names the op ``"a"``. The name is read from the caller's
bytecode: the instruction right after the running call stores the result
somewhere (``STORE_NAME``, ``STORE_FAST``, ``STORE_ATTR``...). The answer is
cached per (code object, instruction offset), so after the first call from a
given line it costs one dictionary lookup.
"""

from __future__ import annotations

import bisect
import dis
import os
import sys
from types import CodeType, FrameType
from typing import Any

from operonx.errors import GraphError

__all__ = [
    "assigned_name", "caller_frame", "check_name", "enter_frame", "free_name", "is_valid_name", "outside_frame",
    "site_of", "site_text", "unique_name", "with_target",
]

_STORES = frozenset({"STORE_NAME", "STORE_FAST", "STORE_GLOBAL", "STORE_DEREF"})
# CPython 3.13 fuses a store with the next store or load: the first name is the one stored
_FUSED = frozenset({"STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST"})
_LOADS = frozenset(
    {"LOAD_FAST", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW"}
)
_SKIP = frozenset({"COPY", "DUP_TOP", "NOP", "CACHE", "EXTENDED_ARG"})
_CACHE_LIMIT = 4096
#: the package's own directory: frames of its code are not the user's call site
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

#: ``caller_frame(1)``, called in a function, is the frame of the code that called that function:
#: where the names above are read. The one use of ``sys._getframe`` in the package: its public
#: spelling, ``inspect.currentframe().f_back``, is a Python-level call that costs ~110 ns more,
#: ~4 % of adding an op to a graph (``@op`` calls run it once per op).
caller_frame = sys._getframe  # noqa: SLF001

# id(code) -> (code, sorted offsets, instructions); the code object is kept so
# that its id cannot be reused while the entry lives.
_code_table: dict[int, tuple[CodeType, list[int], list[dis.Instruction]]] = {}
# (id(code), lasti) -> (code, name or None)
_name_cache: dict[tuple[int, int], tuple[CodeType, str | None]] = {}


def is_valid_name(name: object) -> bool:
    """True when ``name`` is a non-empty string of letters, digits, ``_`` and ``-``."""
    return type(name) is str and name.replace("_", "a").replace("-", "a").isalnum()


def check_name(name: object) -> str:
    """Return ``name`` if it is a valid op name, else raise :class:`GraphError`."""
    if type(name) is str and name.replace("_", "a").replace("-", "a").isalnum():
        return name
    raise GraphError(
        f"invalid op name {name!r}: use letters, digits, '_' and '-' only"
    )


def _instructions(code: CodeType) -> tuple[list[int], list[dis.Instruction]]:
    entry = _code_table.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1], entry[2]
    instrs = [i for i in dis.get_instructions(code) if i.opname not in ("CACHE",)]
    offsets = [i.offset for i in instrs]
    if len(_code_table) >= _CACHE_LIMIT:
        _code_table.clear()
    _code_table[id(code)] = (code, offsets, instrs)
    return offsets, instrs


def _target_after(code: CodeType, lasti: int) -> str | None:
    offsets, instrs = _instructions(code)
    j = bisect.bisect_right(offsets, lasti)
    n = len(instrs)
    while j < n and instrs[j].opname in _SKIP:
        j += 1
    if j >= n:
        return None
    ins = instrs[j]
    if ins.opname in _STORES:
        return ins.argval
    if ins.opname in _FUSED:
        return ins.argval[0]
    if ins.opname in _LOADS and j + 1 < n and instrs[j + 1].opname == "STORE_ATTR":
        return instrs[j + 1].argval
    return None


def assigned_name(frame: FrameType) -> str | None:
    """Name of the variable (or attribute) the call running in ``frame`` is assigned to.

    Returns ``None`` when the result is not stored directly (``ops.append(f())``,
    ``return f()``...).
    """
    code = frame.f_code
    key = (id(code), frame.f_lasti)
    hit = _name_cache.get(key)
    if hit is not None and hit[0] is code:
        return hit[1]
    try:
        name = _target_after(code, frame.f_lasti)
    except Exception:  # pragma: no cover - exotic bytecode
        name = None
    if name is not None and not is_valid_name(name):
        name = None
    if len(_name_cache) >= _CACHE_LIMIT * 4:
        _name_cache.clear()
    _name_cache[key] = (code, name)
    return name


def outside_frame(frame: FrameType) -> FrameType:
    """``frame`` or the first frame it was called from that is not operonx's own code: where the user
    wrote the call that is creating an op (a loop or a ``@graph`` factory calls ``GraphOp`` for it)."""
    f: FrameType | None = frame
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE):
        f = f.f_back
    return f or frame


def free_name(graph: Any, name: str) -> str:
    """``name``, or its first free suffix (``name_2``, ``name_3``...) when ``graph`` has an op of
    that name (no graph: ``name``)."""
    if graph is None or name not in graph.ops_:
        return name
    autos = graph.autos_
    k = autos.get(name, 2)
    while f"{name}_{k}" in graph.ops_:
        k += 1
    autos[name] = k + 1
    return f"{name}_{k}"


def unique_name(graph: Any, node: Any, auto: bool, site: Any) -> str:
    """The name ``node`` takes in ``graph`` (renamed with the first free suffix when its default
    name is taken; a chosen name that is taken is a :class:`GraphError` naming both call sites),
    recorded with ``site`` for a later duplicate's message."""
    ops = graph.ops_
    name = node.name
    if name in ops:
        if not auto:
            raise GraphError(
                f"graph {graph.full_name!r} has two ops named {name!r}: one created at "
                f"{site_text(graph, getattr(ops[name], 'site_', None))}, the other at {site_text(graph, site)}; give each "
                f"its own name with name=... (in a loop, e.g. name=f\"{name}_{{i}}\")"
            )
        name = node.name = free_name(graph, name)
        node.full_name = graph.full_name + "." + name
    node.site_ = site
    return name


def enter_frame(graph: Any, frame: FrameType) -> None:
    """``with graph:`` runs in ``frame``: the ops created there record their call sites as a bare
    instruction offset (:func:`site_of`), read against this frame's code."""
    code = frame.f_code
    if graph.code_ is None:
        graph.code_ = code
    if code is graph.code_:
        graph.frame_ = frame


def site_of(graph: Any, frame: FrameType) -> Any:
    """Where an op of ``graph`` is being created, for a later duplicate's message: the offset of
    the call in ``frame`` when it is the frame of the graph's ``with`` block (no tuple to allocate
    per op), else ``(code, offset)``."""
    if frame is graph.frame_:
        return frame.f_lasti
    return (frame.f_code, frame.f_lasti)


def site_text(graph: Any, site: Any) -> str:
    """``file:line`` of a call site recorded by :func:`site_of` for an op of ``graph``."""
    if site is None:
        return "an unknown place"
    code, lasti = (graph.code_, site) if type(site) is int else site
    line = None
    for i, pos in enumerate(code.co_positions()):
        if i == lasti // 2:
            line = pos[0]
            break
    return f"{code.co_filename}:{line if line is not None else code.co_firstlineno}"


def with_target(frame: FrameType) -> str | None:
    """``with GraphOp(...) as sub:``: the name ``sub`` (``None`` when there is no such target)."""
    try:
        offsets, instrs = _instructions(frame.f_code)
    except Exception:  # pragma: no cover - exotic bytecode
        return None
    j = bisect.bisect_right(offsets, frame.f_lasti)
    n = len(instrs)
    while j < n and instrs[j].opname in ("NOP", "CACHE", "EXTENDED_ARG"):
        j += 1
    if j + 1 < n and instrs[j].opname in ("BEFORE_WITH", "SETUP_WITH", "BEFORE_ASYNC_WITH"):
        ins = instrs[j + 1]
        if ins.opname in _STORES:
            name = ins.argval
            return name if is_valid_name(name) else None
    return None
