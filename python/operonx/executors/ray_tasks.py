"""What runs inside a Ray worker for :class:`operonx.executors.ray.RayExecutor`, and how values the
driver received from Ray are traced back to the object that holds them.

Ray resolves an ``ObjectRef`` passed as a top-level argument of a task before the task runs, from the
object store of the worker's node. The executor uses that: an argument that is a value the driver got
from an earlier Ray task is sent as that task's ``ObjectRef`` (the whole result of that task) plus the
key to pick in the worker, so the value goes from object store to worker without passing through the
driver again. :class:`SharedValues` is the driver's table of such values.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["WHOLE", "Picks", "SharedValues", "task_body", "kind_of"]

WHOLE = "\x00whole"
"""The key of a pick that takes the task's whole result (an op that returned a single value)."""

Picks = tuple[tuple[str, str], ...]


def kind_of(fn: Callable[..., Any]) -> str:
    """``"sync"``, ``"async"``, ``"gen"`` or ``"agen"``: how the worker calls ``fn``."""
    if inspect.isasyncgenfunction(fn):
        return "agen"
    if inspect.isgeneratorfunction(fn):
        return "gen"
    if inspect.iscoroutinefunction(fn):
        return "async"
    return "sync"


def _inputs(names: tuple[str, ...], picks: Picks, values: tuple[Any, ...]) -> dict[str, Any]:
    kwargs = dict(zip(names, values, strict=True))
    for name, key in picks:
        whole = kwargs[name]
        kwargs[name] = whole if key == WHOLE else whole[key]
    return kwargs


def _drive_async_gen(agen: Any) -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(agen.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.run_until_complete(agen.aclose())
        loop.close()


def task_body(fn: Callable[..., Any], kind: str, names: tuple[str, ...], picks: Picks) -> Callable[..., Any]:
    """The function Ray runs for ``fn`` called with inputs ``names``, in that order, as positional
    arguments (Ray serializes positional arguments for less than keyword ones): picks the values of
    ``ObjectRef`` arguments, then calls ``fn`` (an ``async def`` on its own event loop, as Ray runs
    no coroutine function as a task; a generator as a Ray streaming generator)."""
    if kind in ("gen", "agen"):
        def stream(*values: Any) -> Iterator[Any]:
            produced = fn(**_inputs(names, picks, values))
            yield from (_drive_async_gen(produced) if kind == "agen" else produced)
        return stream

    def call(*values: Any) -> Any:
        result = fn(**_inputs(names, picks, values))
        return asyncio.run(result) if kind == "async" else result
    return call


def _shared_size(value: Any) -> tuple[int, bool] | None:
    """``(size in bytes, weakly held)`` of a value that may be passed by reference, else ``None``:
    only values that cannot change in the driver (bytes, str, read-only numpy arrays as Ray returns
    them, Arrow arrays and tables), so a later task reading the stored copy reads the same value."""
    if isinstance(value, bytes):
        return len(value), False
    if isinstance(value, str):
        return len(value), False
    module = type(value).__module__
    if module == "numpy" and type(value).__name__ == "ndarray":
        return (int(value.nbytes), True) if not value.flags.writeable else None
    if module.startswith("pyarrow") and hasattr(value, "nbytes"):
        return int(value.nbytes), True
    return None


class SharedValues:
    """Values the driver received from Ray tasks, by identity: ``id(value) -> (ObjectRef, key)``.

    An entry lives as long as the value does in the driver: values that take weak references (numpy
    arrays, Arrow data) are held weakly and their entry goes with them; ``bytes`` and ``str`` take none,
    so they are held in a bounded table (at most ``strong_limit`` entries and ``strong_bytes`` bytes,
    oldest first out). Only values of
    at least ``min_size`` bytes are kept: a smaller one travels inside the task's arguments at less
    cost than an object-store lookup. The ``ObjectRef`` held here keeps the task's result in the object
    store while the entry lives. Thread-safe (weak-reference callbacks may run on any thread)."""

    def __init__(self, min_size: int, strong_limit: int = 64, strong_bytes: int = 256 * 1024 * 1024) -> None:
        self.min_size = min_size
        self.strong_limit = strong_limit
        self.strong_bytes = strong_bytes
        self._held = 0
        self._lock = threading.Lock()
        self._weak: dict[int, tuple[weakref.ref[Any], Any, str]] = {}
        self._strong: OrderedDict[int, tuple[Any, Any, str, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._weak) + len(self._strong)

    def record(self, result: Any, ref: Any) -> None:
        """Remember the large values of ``result`` (the value of ``ref``): each value of a mapping under
        its key, or a single non-mapping result whole."""
        if isinstance(result, Mapping):
            for key, value in result.items():
                if isinstance(key, str):
                    self.add(value, ref, key)
        else:
            self.add(result, ref, WHOLE)

    def eligible(self, value: Any) -> bool:
        """Whether ``value`` is one this table would keep (immutable, and at least ``min_size``)."""
        shared = _shared_size(value)
        return shared is not None and shared[0] >= self.min_size and (shared[1] or shared[0] <= self.strong_bytes)

    def add(self, value: Any, ref: Any, key: str) -> None:
        """Remember that ``ref``'s value (or its ``key``, unless ``WHOLE``) is this very object."""
        shared = _shared_size(value)
        if shared is None or shared[0] < self.min_size:
            return
        ident = id(value)
        with self._lock:
            if shared[1]:
                self._weak[ident] = (weakref.ref(value, self._forget(ident)), ref, key)
                return
            if shared[0] > self.strong_bytes:
                return
            old = self._strong.pop(ident, None)
            self._held += shared[0] - (old[3] if old else 0)
            self._strong[ident] = (value, ref, key, shared[0])
            while len(self._strong) > self.strong_limit or self._held > self.strong_bytes:
                self._held -= self._strong.popitem(last=False)[1][3]

    def _forget(self, ident: int) -> Callable[[Any], None]:
        def forget(wr: Any) -> None:
            with self._lock:
                entry = self._weak.get(ident)
                if entry is not None and entry[0] is wr:
                    del self._weak[ident]
        return forget

    def lookup(self, value: Any) -> tuple[Any, str] | None:
        """``(ObjectRef, key)`` that holds this very object, or ``None``."""
        ident = id(value)
        with self._lock:
            entry = self._weak.get(ident)
            if entry is not None:
                return (entry[1], entry[2]) if entry[0]() is value else None
            strong = self._strong.get(ident)
        if strong is not None and strong[0] is value:
            return strong[1], strong[2]
        return None

    def clear(self) -> None:
        """Forget every entry (and release the ``ObjectRef`` each held)."""
        with self._lock:
            self._weak.clear()
            self._strong.clear()
            self._held = 0
