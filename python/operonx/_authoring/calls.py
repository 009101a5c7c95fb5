"""The options of an op's calls (``cache``, ``delay``, ``retries``, ``backoff``, ``retry_on``,
``timeout``): checked once where they are given (``@op(...)`` or a call inside a graph) and kept as a
dict of the ones switched on, which the document writer writes as keys of the op."""

from __future__ import annotations

from typing import Any

from operonx._core import cache_info as _cache_info, clear_cache as _clear_cache, set_cache_size as _set_size
from operonx.errors import GraphError, GraphTypeError

__all__ = ["CALL_OPTIONS", "cache_info", "check_call_option", "clear_cache", "merged_calls", "set_cache_size"]

#: the options of an op's calls, each off by default
CALL_OPTIONS = ("cache", "delay", "retries", "backoff", "retry_on", "timeout")


def _seconds(option: str, v: Any, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"),) or v < 0 or (
        positive and v == 0
    ):
        bound = "> 0" if positive else ">= 0"
        raise GraphError(f"{option} must be a number of seconds {bound}, got {v!r}")
    return float(v) if isinstance(v, float) else v


def check_call_option(option: str, v: Any) -> Any:
    """The checked value of one option, or ``None`` when it is off (``False``, ``0``, ``None``)."""
    if v is None:
        return None
    if option == "cache":
        if isinstance(v, str):
            raise GraphError(
                f"cache={v!r}: a file-backed cache (a path) is not supported; use cache=True (a process-wide "
                "in-memory cache, see operonx.set_cache_size)"
            )
        if type(v) is not bool:
            raise GraphTypeError(f"cache must be True or False, got {v!r}")
        return v or None
    if option in ("delay", "backoff"):
        s = _seconds(option, v)
        return s if (s or option == "backoff") else None
    if option == "timeout":
        return _seconds(option, v, positive=True)
    if option == "retries":
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise GraphError(f"retries must be a whole number >= 0, got {v!r}")
        return v or None
    if option == "retry_on":
        types = v if isinstance(v, tuple | list) else (v,)
        for t in types:
            if not (isinstance(t, type) and issubclass(t, BaseException)):
                raise GraphTypeError(f"retry_on must be an exception class or a tuple of them, got {t!r}")
        return tuple(types) or None
    raise GraphTypeError(f"unknown op option {option!r}")  # pragma: no cover - callers pass CALL_OPTIONS


def merged_calls(base: dict | None, given: dict) -> dict | None:
    """``base`` (the function's options) updated with ``given`` (checked values; ``None`` turns one
    off); ``None`` when none is on. Refuses ``retry_on``/``backoff`` without ``retries``."""
    out = dict(base) if base else {}
    for k, v in given.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    if "retries" not in out:
        if given.get("retry_on") is not None or given.get("backoff") is not None:
            raise GraphError("retry_on= and backoff= need retries= (how many attempts follow a failed first one)")
        out.pop("retry_on", None)  # the function's, for retries this call turned off
        out.pop("backoff", None)
    return out or None


def set_cache_size(size: int) -> None:
    """Sets how many entries the process-wide cache of ``@op(cache=True)`` keeps (default 1024;
    0 turns caching off); the least recently used entries go first."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise GraphTypeError(f"set_cache_size() takes a whole number >= 0, got {size!r}")
    _set_size(size)


def clear_cache() -> None:
    """Empties the process-wide cache of ``@op(cache=True)``."""
    _clear_cache()


def cache_info() -> tuple[int, int]:
    """``(entries, most entries kept)`` of the process-wide cache of ``@op(cache=True)``."""
    return _cache_info()
