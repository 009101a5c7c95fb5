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
import sys
from types import CodeType, FrameType

from operonx.errors import GraphError

__all__ = ["assigned_name", "caller_frame", "check_name", "is_valid_name", "with_target"]

_STORES = frozenset({"STORE_NAME", "STORE_FAST", "STORE_GLOBAL", "STORE_DEREF"})
_LOADS = frozenset(
    {"LOAD_FAST", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW"}
)
_SKIP = frozenset({"COPY", "DUP_TOP", "NOP", "CACHE", "EXTENDED_ARG"})
_CACHE_LIMIT = 4096

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
