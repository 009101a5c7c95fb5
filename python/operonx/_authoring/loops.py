"""Checks of a loop's ``until`` and ``max_iterations``, made when the loop is written.

An ``until`` text is read by the engine's own grammar (``_core.check_until``): what is accepted here
is what the engine runs.
"""

from __future__ import annotations

from typing import Any

from operonx._core import check_until
from operonx.errors import GraphError, GraphTypeError

__all__ = ["DEFAULT_MAX_ITERATIONS", "check_loop"]

#: Iterations a loop runs at most when ``max_iterations`` is not given.
DEFAULT_MAX_ITERATIONS = 100


def check_loop(name: str, until: Any, max_iterations: Any) -> None:
    """Raise :class:`GraphError` / :class:`GraphTypeError` when loop ``name`` cannot run as given."""
    who = f"loop {name!r}"
    if isinstance(until, str):
        try:
            check_until(until)
        except GraphError as e:
            raise GraphError(f"{who}: until={until!r:.200} cannot be read: {e}") from None
    elif until is not None and not callable(until):
        raise GraphTypeError(f"{who}: until must be an expression (str), a callable or None, got {until!r}")
    if type(max_iterations) is not int or max_iterations < 1:
        raise GraphError(f"{who}: max_iterations must be a whole number of at least 1, got {max_iterations!r}")
