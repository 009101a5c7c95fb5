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

import uuid
from typing import Any

__all__ = ["Middleware", "run_with_middleware"]


class Middleware:
    """Base class of middleware; every hook is optional and the defaults change nothing."""

    async def before_run(self, graph: Any, inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """Runs before the graph; returns the inputs the run uses."""
        return inputs

    async def after_run(
        self, graph: Any, inputs: dict[str, Any], result: dict[str, Any], context: dict[str, Any]
    ) -> dict[str, Any]:
        """Runs after a successful run (``result`` already has ``"$state"``); returns the result."""
        return result

    async def on_error(
        self, graph: Any, inputs: dict[str, Any], error: BaseException, context: dict[str, Any]
    ) -> Any:
        """Runs when the run fails. The default re-raises ``error``; return a value to recover."""
        raise error


async def run_with_middleware(
    core: Any,
    graph: Any,
    chain: list[Middleware],
    inputs: Any,
    errors: str,
    ids: tuple[Any, Any, Any],
    tracer: Any = None,
) -> dict[str, Any]:
    """One ``engine.run()`` through ``chain``: ``before_run`` hooks in order, the run on ``core`` (the
    engine's ``_core.Engine``), then ``after_run`` hooks, or ``on_error`` hooks, in reverse order.
    ``ids`` is ``(request_id, session_id, user_id)``; a missing id is a new uuid4. ``tracer`` lists the
    run's own tracer sinks (``None``: the engine's)."""
    request_id, session_id, user_id = ids
    context = {
        "request_id": request_id if request_id is not None else str(uuid.uuid4()),
        "session_id": session_id if session_id is not None else str(uuid.uuid4()),
        "user_id": user_id if user_id is not None else str(uuid.uuid4()),
    }
    inputs = dict(core.check_inputs(inputs))
    for mw in chain:
        changed = await mw.before_run(graph, inputs, context)
        if changed is not None:
            inputs = changed
    try:
        run_ids = (context["request_id"], context["session_id"], context["user_id"])
        result = core.run_traced(inputs, errors, *run_ids, tracer)
        if result.__class__ is not dict:
            result = await result
    except Exception as error:
        outcome: Any = None
        raised: BaseException = error
        for mw in reversed(chain):
            try:
                outcome = await mw.on_error(graph, inputs, raised, context)
            except BaseException as again:  # the hook re-raised (the default) or raised anew
                raised = again
                continue
            return outcome
        raise raised
    for mw in reversed(chain):
        changed = await mw.after_run(graph, inputs, result, context)
        if changed is not None:
            result = changed
    return result
