"""The driver side of :mod:`operonx.executors.ray`: remote functions per op function and option set,
and Ray's completion callbacks handed to the event loop in batches."""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable, Mapping
from typing import Any

from operonx.errors import OperonUsageError
from operonx.executors.ray_tasks import kind_of, task_body

__all__ = ["Completions", "Remote"]

OWN_OPTIONS = ("num_returns",)
"""Task options the executor sets itself: refused in ``@op(ray={...})``."""


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


class Remote:
    """One function's Ray remote function and its ``.options(...)`` variants."""

    __slots__ = ("fn", "kind", "remote", "variants")

    def __init__(self, ray: Any, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.kind = kind_of(fn)
        self.remote = ray.remote(task_body(fn, self.kind))
        self.variants: dict[Any, Any] = {}

    def with_options(self, options: Mapping[str, Any] | None, streaming: bool) -> Any:
        key = (_freeze(options) if options else (), streaming)
        try:
            return self.variants[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable option value: not cached
            return self.make(options, streaming)
        variant = self.variants[key] = self.make(options, streaming)
        return variant

    def make(self, options: Mapping[str, Any] | None, streaming: bool) -> Any:
        given = dict(options or {})
        own = [k for k in OWN_OPTIONS if k in given]
        if own:
            raise OperonUsageError(f"ray={{...}} of {self.fn.__qualname__}: {own[0]!r} is set by the executor")
        merged = {"max_retries": 0, "name": getattr(self.fn, "__qualname__", "op"), **given}
        if streaming:
            merged["num_returns"] = "streaming"
        try:
            return self.remote.options(**merged)
        except (ValueError, TypeError) as e:
            raise OperonUsageError(f"ray={dict(given)!r} of {self.fn.__qualname__}: {e}") from e


class Completions:
    """Ray completion callbacks (on Ray's threads) queued and handed to the loop in batches: the loop
    is woken once per batch, not once per task."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: collections.deque[tuple[Any, Any]] = collections.deque()
        self.lock = threading.Lock()
        self.scheduled = False

    def push(self, call: Any, result: Any) -> None:
        with self.lock:
            self.queue.append((call, result))
            if self.scheduled:
                return
            self.scheduled = True
        try:
            self.loop.call_soon_threadsafe(self.drain)
        except RuntimeError:  # the loop is closed: nobody awaits these any more
            with self.lock:
                self.queue.clear()
                self.scheduled = False

    def drain(self) -> None:
        with self.lock:
            batch = list(self.queue)
            self.queue.clear()
            self.scheduled = False
        for call, result in batch:
            try:
                call.settle(result)
            except Exception as e:  # noqa: BLE001 - the awaiting op fails rather than hangs
                if not call.out.done():
                    call.out.set_exception(e)
