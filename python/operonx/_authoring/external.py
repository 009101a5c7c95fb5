"""Ops whose call runs on an executor (``@op(bound="process")``, ``@op(executor="name")``,
``@op(ray={...})``): the checks of those options, which executor an op names, and the host object
the document writer puts in place of such an op's function, for the engine to bind to the
executor (``operonx.executors``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from operonx.errors import GraphError, GraphTypeError

__all__ = [
    "THREADS", "ExternalCall", "check_executor", "check_executor_options", "checked_options", "executor_of", "op_executor",
]

#: the name of the built-in worker threads of ``bound="cpu"`` (``"thread"``: 0.7.1's spelling)
THREADS = ("threads", "thread")


class ExternalCall:
    """What an executor op's ``callable`` is in the host list of the engine's document: the plain
    function, the executor's name and options, the op's full name and whether it is a generator.
    The engine replaces it with the call of that executor (``operonx.executors``)."""

    __slots__ = ("func", "executor", "options", "op", "is_gen", "resources")

    def __init__(
        self, func: Callable[..., Any], executor: str, options: Mapping[str, Any] | None, op: str, is_gen: bool,
        resources: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.func = func
        self.executor = executor
        self.options = options
        self.op = op
        self.is_gen = is_gen
        self.resources = resources

    def __repr__(self) -> str:
        return f"<call of op '{self.op}' on executor '{self.executor}'>"


def check_executor(executor: Any) -> str:
    """An executor name as ``@op(executor=...)`` takes it."""
    if not isinstance(executor, str) or not executor:
        raise GraphTypeError(f"executor must be the name of an executor (a non-empty str), got {executor!r}")
    return executor


def check_executor_options(options: Any, option: str = "ray") -> dict[str, Any] | None:
    """Executor options as ``@op(ray={...})`` takes them: a mapping with string keys (``None``: none)."""
    if options is None:
        return None
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise GraphTypeError(f"{option}= takes a dict of options with string keys, got {options!r}")
    return dict(options)


def executor_of(bound: str, executor: str | None, options: Mapping[str, Any] | None) -> str | None:
    """The executor an op's call runs on (``None``: the engine runs it itself): the one named, else
    ``"process"`` for ``bound="process"``, else ``"ray"`` for an op given ``ray=`` options."""
    if executor is not None:
        if bound == "process" and executor != "process":
            raise GraphError(
                f"an op with bound='process' runs on the 'process' executor, not executor={executor!r}: give one"
            )
        return executor
    if bound == "process":
        return "process"
    if options is not None:
        return "ray"
    return None


def op_executor(bound: Any, executor: Any) -> tuple[Any, str | None]:
    """``(bound, executor)`` of ``@op(bound=..., executor=...)``: the threads' names become
    ``bound="cpu"`` (no executor); any other name is kept."""
    if executor is None:
        return bound, None
    executor = check_executor(executor)
    if executor in THREADS:
        if bound not in (None, "cpu"):
            raise GraphError(f"executor={executor!r} is bound='cpu' (worker threads), not bound={bound!r}: give one")
        return "cpu", None
    return bound, executor


def checked_options(bound: str, executor: str | None, options: Any) -> dict[str, Any] | None:
    """The checked executor options of an ``@op`` (``ray=``); refuses a ``bound`` and an ``executor``
    that contradict each other."""
    options = check_executor_options(options)
    executor_of(bound, executor, options)
    return options
