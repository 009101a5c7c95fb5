"""The ``@op`` registry: which Python function a graph document's code op runs.

Every function decorated with ``@op`` is registered when it is decorated, and stays registered while
it is alive (the registry holds it weakly: an op defined inside a function leaves with it), under
three names:

- its **qualified name**, ``module.qualname`` (``"shop.pricing.add_tax"``), as 0.7.1 writes a packaged
  function's ``func_name``;
- its ``func_name``, what ``export_config()`` writes for the op: the function's ``__qualname__``
  (``"add_tax"``, ``"make.<locals>.step"``);
- its bare ``__name__`` (``"step"``), the name a hand-written document or the Rust crate uses.

:func:`lookup` finds a name by the most specific of these that matches it: a qualified name before
a ``func_name`` before a bare name. ``Operon.from_json`` binds each code op this way (after the
``ops=`` mapping it is given): by ``module.func_name`` when the document names the function's
``module`` (``export_config()`` writes it, except for ``__main__``), else by ``func_name``. So a
document exported in one process runs in another once the modules that define its ops are imported.

Two definitions
    A definition is a place in the source: a file and a line. Decorating again at the same place
    (a factory that defines its op on each call, ``importlib.reload``, re-running a script) replaces
    the entry: the newest function wins, as it does in the module's namespace. Two different places
    that give one qualified name (two ``def add`` in one module, or code that sets ``__module__``) are
    a **clash** while both are alive: looking the name up is a :class:`~operonx.errors.GraphError`
    naming both definitions (``file:line``). Decorating never fails: a notebook cell edited and run
    again defines its op at a new place, and the old function usually leaves the registry when the
    name is rebound; if a graph still holds it, the name stays a clash until that graph goes.
    A name that several functions of different modules answer to (two modules with an ``add``) is
    **ambiguous** in the same way, while each one's qualified name still finds it.

The Rust crate's registry (``#[op]`` functions) follows the same rules with Rust paths: its full
name ``crate::module::f`` ranks before ``module::f``, which ranks before the bare ``f``; an ambiguous
name and two definitions of one full name are errors naming every candidate. Bare names are where
the two meet: a document whose ``func_name`` is ``inc`` binds a Python ``@op def inc`` and a Rust
``#[op] fn inc``. One difference: when nothing has an op's ``func_name``, the Rust crate also tries
the op's own name among its ``#[op]`` functions; ``from_json`` tries it only in ``ops=`` (and for an
op written without a ``func_name``), so that a function of another module that happens to share an
op's name never runs in place of a missing one.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from operonx.errors import GraphError

__all__ = ["OpEntry", "candidates", "entries", "function_of", "lookup", "register"]

# how specific a name is: a qualified name, a func_name (__qualname__), a bare name
_QUALIFIED, _FUNC_NAME, _BARE = 0, 1, 2


@dataclass(frozen=True)
class OpEntry:
    """One registered ``@op`` function."""

    #: ``module.qualname``: the most specific name
    qualified_name: str
    #: the name ``export_config()`` writes as the op's ``func_name`` (the function's ``__qualname__``)
    func_name: str
    #: the function's ``__name__``
    name: str
    #: the function's ``__module__`` (``""`` when it has none)
    module: str
    #: the decorated object (an :class:`~operonx.op.OpFunction`)
    op: Any
    #: the file and first line of the definition (``None`` when Python does not know them)
    file: str | None
    line: int | None

    @property
    def func(self) -> Callable[..., Any]:
        """The plain function an op of this entry calls."""
        return self.op.func

    @property
    def location(self) -> str:
        """``file:line`` of the definition, or ``"<unknown place>"``."""
        return _where(self.file, self.line)

    def describe(self) -> str:
        """``'mod.add' (path/to/mod.py:12)``: how errors name the entry."""
        return f"'{self.qualified_name}' ({self.location})"


# what the registry keeps of a definition besides the function: qualname, name, module, file, line
_Key = tuple[str, str, str, "str | None", "int | None"]

_lock = threading.Lock()
# every registered @op object, to tell one from a plain callable
_registered: weakref.WeakSet = weakref.WeakSet()
# qualified name -> its definitions (one per place; several is a clash); the registry holds each
# decorated function weakly: one nobody refers to any more (an op made inside a test function, a
# notebook cell run again) leaves the registry with it
_by_qualified: dict[str, list[tuple[weakref.ref, _Key]]] = {}
# any of the three names -> {qualified name: rank of the name for it}
_names: dict[str, dict[str, int]] = {}


def _place(func: Any) -> tuple[str | None, int | None]:
    try:
        code = inspect.unwrap(func).__code__
    except (AttributeError, ValueError):
        return None, None
    return code.co_filename, code.co_firstlineno


def _live(qualified: str) -> list[OpEntry]:
    """The live definitions of ``qualified`` (the dead ones dropped); call with the lock held."""
    defs = _by_qualified.get(qualified)
    if not defs:
        return []
    out = []
    kept = []
    for ref, key in defs:
        op = ref()
        if op is not None:
            kept.append((ref, key))
            out.append(OpEntry(qualified, key[0], key[1], key[2], op, key[3], key[4]))
    if len(kept) != len(defs):
        if kept:
            _by_qualified[qualified] = kept
        else:
            del _by_qualified[qualified]
    return out


def register(op: Any) -> OpEntry:
    """Registers an ``@op`` function (``@op`` calls this; there is no need to call it yourself) and
    returns its entry. A definition at the same place as a registered one replaces it."""
    func = op.func
    qualname = str(op.qualname)
    name = str(getattr(func, "__name__", None) or qualname)
    module = str(getattr(func, "__module__", None) or "")
    qualified = f"{module}.{qualname}" if module else qualname
    file, line = _place(func)
    key: _Key = (qualname, name, module, file, line)
    with _lock:
        _registered.add(op)
        _live(qualified)
        defs = _by_qualified.setdefault(qualified, [])
        for i, (ref, old) in enumerate(defs):
            if ref() is op or (file is not None and (old[3], old[4]) == (file, line)):
                defs[i] = (weakref.ref(op), key)
                break
        else:
            defs.append((weakref.ref(op), key))
        for n, rank in ((qualified, _QUALIFIED), (qualname, _FUNC_NAME), (name, _BARE)):
            ranks = _names.setdefault(n, {})
            if rank < ranks.get(qualified, _BARE + 1):
                ranks[qualified] = rank
    return OpEntry(qualified, qualname, name, module, op, file, line)


def function_of(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The plain function behind ``fn``: ``fn.func`` for an ``@op`` function, else ``fn`` itself."""
    try:
        is_op = fn in _registered
    except TypeError:  # not hashable: not an @op function
        is_op = False
    return fn.func if is_op else fn  # type: ignore[attr-defined]


def entries() -> list[OpEntry]:
    """Every registered ``@op`` function that is still alive, sorted by qualified name (a clash
    lists each definition)."""
    with _lock:
        return [e for q in sorted(_by_qualified) for e in _live(q)]


def candidates(name: str) -> list[OpEntry]:
    """The entries ``name`` finds by its most specific meaning (several: a clash or an ambiguous
    name; none: nothing has that name). Never raises."""
    with _lock:
        ranks = _names.get(name)
        if not ranks:
            return []
        live = {q: _live(q) for q in ranks}
        for q in [q for q, found in live.items() if not found]:
            del ranks[q]
        if not ranks:
            del _names[name]
            return []
        best = min(ranks.values())
        return [e for q in sorted(ranks) if ranks[q] == best for e in live[q]]


def lookup(name: str) -> OpEntry | None:
    """The one entry ``name`` finds, or ``None`` when nothing has that name.

    Raises :class:`~operonx.errors.GraphError` naming every definition when the name finds several:
    two definitions of one qualified name (a clash), or functions of different modules that share
    a ``func_name`` or bare name (ambiguous: use the qualified name, or ``ops=`` of
    ``Operon.from_json``).
    """
    found = candidates(name)
    if len(found) <= 1:
        return found[0] if found else None
    if len({e.qualified_name for e in found}) == 1:
        raise GraphError(
            f"'{name}' names {len(found)} @op functions defined at different places with one qualified name: "
            f"{_and_list([e.describe() for e in found])}; rename one of them"
        )
    raise GraphError(
        f"'{name}' is ambiguous: {len(found)} @op functions answer to it: {_and_list([e.describe() for e in found])}; "
        f"use the qualified name of the one to run, or pass it in ops={{...}}"
    )


def _where(file: str | None, line: int | None) -> str:
    return "<unknown place>" if file is None else f"{file}:{line}"


def _and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
