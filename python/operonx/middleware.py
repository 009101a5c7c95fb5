"""Middleware: code that runs around every ``engine.run()``.

Subclass :class:`Middleware` and override any of its coroutine methods::

    class Audit(Middleware):
        async def before_run(self, graph, inputs, context):
            return {**inputs, "audited": True}

``before_run`` hooks run in the order the middleware was given; ``after_run`` and ``on_error`` run in
reverse order. ``context`` is ``{"request_id", "session_id", "user_id"}``. ``engine.start()`` bypasses
middleware.
"""

from __future__ import annotations

from typing import Any


class Middleware:
    """Base class of middleware; every hook is optional and the defaults change nothing."""

    async def before_run(self, graph: Any, inputs: dict, context: dict) -> dict:
        """Runs before the graph; returns the inputs the run uses."""
        return inputs

    async def after_run(self, graph: Any, inputs: dict, result: dict, context: dict) -> dict:
        """Runs after a successful run (``result`` already has ``"$state"``); returns the result."""
        return result

    async def on_error(self, graph: Any, inputs: dict, error: BaseException, context: dict) -> Any:
        """Runs when the run fails. The default re-raises ``error``; return a value to recover."""
        raise error
