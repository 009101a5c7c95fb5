"""Middleware: code that runs around every run of an engine.

Subclass :class:`Middleware` and override any of its coroutine methods::

    class Audit(Middleware):
        async def before_run(self, graph, inputs, context):
            return {**inputs, "audited": True}

    engine = Operon(g, middleware=[Audit()])     # or: Operon(g).use(Audit())

The chain runs around ``engine.run()``, ``await engine(...)``, ``engine.run_sync()`` and each input
of ``engine.batch()``; ``engine.start()`` bypasses it (a handle streams frames, there is no single
result to hand to ``after_run``).

- ``before_run`` hooks run in the order the middleware was given, each seeing the inputs the previous
  one returned. A hook returns the new inputs (a mapping), or ``None`` to keep them. A hook that
  raises stops the run before it starts; ``on_error`` hooks are not called.
- ``after_run`` hooks run in reverse order after a successful run, each seeing the final inputs and
  the result (which already has ``"$state"``); a hook returns the new result, or ``None`` to keep it.
- ``on_error`` hooks run in reverse order when the run fails (an op raised: ``OpError``; a missing
  input: ``InputError``; ...). Every hook is called, each with the error as it stands: a hook that
  raises another exception replaces the error for the hooks after it. Once every hook has run, the
  error is raised to the caller: an ``on_error`` hook observes, logs, or replaces the error, but
  cannot turn a failed run into a result (catch the exception around ``run()`` for that). The
  base ``on_error`` re-raises the error it is given.
- ``context`` is one dict per run, shared by every hook of that run:
  ``{"request_id", "session_id", "user_id"}``, each the id given to the run or a new uuid4 string.
- ``graph`` is the engine's :class:`~operonx.GraphOp` (for an engine made by ``Operon.from_json``,
  the graph document it runs).

Subclasses need not call ``super().__init__()``. An object that is not a ``Middleware`` is accepted
when it has the three hooks; each hook must be a coroutine function (``async def``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from inspect import isawaitable
from typing import Any

from operonx.errors import OperonUsageError

__all__ = ["HOOKS", "Middleware", "check_middleware", "run_with_middleware"]

logger = logging.getLogger("operonx")

#: The hooks a middleware has, in the order a run calls them.
HOOKS = ("before_run", "after_run", "on_error")


class Middleware:
    """Base class of middleware; every hook is optional and the defaults change nothing."""

    async def before_run(self, graph: Any, inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any] | None:
        """Runs before the graph; returns the inputs the run uses (``None``: unchanged)."""
        return inputs

    async def after_run(
        self, graph: Any, inputs: dict[str, Any], result: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        """Runs after a successful run (``result`` already has ``"$state"``); returns the result
        (``None``: unchanged)."""
        return result

    async def on_error(
        self, graph: Any, inputs: dict[str, Any], error: BaseException, context: dict[str, Any]
    ) -> None:
        """Runs when the run fails. The default re-raises ``error``; raising another exception
        replaces it. The error reaches the caller whatever the hook returns."""
        raise error


def check_middleware(middleware: Any) -> Any:
    """Returns ``middleware`` if it can join a chain: a :class:`Middleware`, or an object with the
    three hooks; otherwise raises :class:`~operonx.errors.OperonUsageError` naming what is missing."""
    if isinstance(middleware, Middleware):
        return middleware
    missing = [h for h in HOOKS if not callable(getattr(middleware, h, None))]
    if missing:
        raise OperonUsageError(
            f"middleware must be a Middleware (or have async before_run, after_run and on_error methods); "
            f"{type(middleware).__name__} has no {', '.join(missing)}"
        )
    return middleware


async def _call(mw: Any, hook: str, *args: Any) -> Any:
    """Awaits ``mw.<hook>(*args)``; a hook that is not a coroutine function is a usage error."""
    outcome = getattr(mw, hook)(*args)
    if not isawaitable(outcome):
        raise OperonUsageError(
            f"{type(mw).__name__}.{hook} returned {type(outcome).__name__}, not an awaitable: "
            f"middleware hooks must be `async def`"
        )
    return await outcome


async def _fail(graph: Any, chain: list[Any], inputs: Any, error: Exception, context: dict[str, Any]) -> BaseException:
    """Every ``on_error`` hook in reverse order; returns the error to raise (the last one raised)."""
    current: BaseException = error
    for mw in reversed(chain):
        try:
            returned = await _call(mw, "on_error", graph, inputs, current, context)
        except Exception as raised:  # the default re-raises; another exception replaces the error
            current = raised
            continue
        if returned is not None:
            logger.warning(
                "%s.on_error returned %s: on_error cannot replace the result of a failed run; the error is raised",
                type(mw).__name__, type(returned).__name__,
            )
    return current


async def run_with_middleware(
    core: Any, graph: Any, chain: list[Any], inputs: Any, errors: str, ids: tuple[Any, Any, Any],
    tracer: Any = None,
) -> dict[str, Any]:
    """One run through ``chain``: ``before_run`` hooks in order, the run on ``core`` (the engine's
    ``_core.Engine``), then ``after_run`` hooks, or ``on_error`` hooks, in reverse order.
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
        changed = await _call(mw, "before_run", graph, inputs, context)
        if changed is None:
            continue
        if not isinstance(changed, Mapping):
            raise OperonUsageError(
                f"{type(mw).__name__}.before_run returned {type(changed).__name__}: it must return the run "
                f"inputs (a mapping), or None to keep them"
            )
        inputs = changed
    try:
        run_ids = (context["request_id"], context["session_id"], context["user_id"])
        result = core.run_traced(inputs, errors, *run_ids, tracer)
        if result.__class__ is not dict:
            result = await result
    except Exception as error:
        raised = await _fail(graph, chain, inputs, error, context)
        if raised is error:
            raise
        raise raised
    for mw in reversed(chain):
        changed = await _call(mw, "after_run", graph, inputs, result, context)
        if changed is not None:
            result = changed
    return result
