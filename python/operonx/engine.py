"""Running graphs: :class:`Operon`.

::

    engine = Operon(g)
    result = await engine.run({"x": 1})      # or: await engine({"x": 1})
    result = engine.run_sync({"x": 1})       # from a script with no event loop

The graph is compiled once, in Rust, when the engine is made; each run is stepped by the Rust
scheduler on the thread of the calling event loop. Sync ops run inline, ``async def`` ops run as
asyncio tasks, ``bound="cpu"`` ops on worker threads.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine, Iterable, Literal, Mapping

from operonx._core import Engine as _Engine
from operonx.errors import GraphTypeError, OperonUsageError
from operonx.document import engine_document
from operonx._authoring.nodes import mark_built
from operonx.graph import GraphOp
from operonx.handle import ExecutionHandle
from operonx.middleware import Middleware, run_with_middleware
from operonx.tracing import sinks_of as _sinks_of


class Operon:
    """An engine: a graph compiled once and run any number of times.

    ``Operon(graph)`` takes a :class:`GraphOp`; ``Operon(factory, params={...})`` builds the graph as
    ``factory(**params)``. ``tracer=`` (a tracer of :mod:`operonx.tracing`, or a list of them) traces
    every run; a run's own ``tracer=`` replaces it for that run. Building validates the whole graph and raises
    :class:`~operonx.errors.GraphValidationError` listing every problem found. Once built, the graph
    takes no new ops.
    """

    __slots__ = ("_graph", "_core", "_run_core", "_middleware", "__weakref__")

    def __init__(
        self,
        graph: GraphOp | Callable[..., GraphOp],
        *,
        params: Mapping[str, Any] | None = None,
        tracer: Any = None,
        middleware: Iterable[Middleware] | None = None,
    ) -> None:
        if not isinstance(graph, GraphOp):
            if not callable(graph):
                raise GraphTypeError(f"Operon() takes a GraphOp or a graph factory, not {type(graph).__name__}")
            graph = graph(**dict(params or {}))
            if not isinstance(graph, GraphOp):
                raise GraphTypeError(f"the graph factory returned {type(graph).__name__}, not a GraphOp")
        sinks = None if tracer is None else _sinks_of(tracer)
        document, hosts = engine_document(graph)
        self._core = _Engine(document, hosts) if sinks is None else _Engine(document, hosts, sinks)
        # the bound method, looked up once: run() is the hot path (an engine with a tracer runs traced)
        self._run_core = self._core.run if sinks is None else self._core.run_traced
        mark_built(graph)
        self._graph = graph
        self._middleware: list[Middleware] = list(middleware or ())

    @property
    def name(self) -> str:
        """The graph's name."""
        return self._core.name

    @property
    def graph(self) -> GraphOp:
        """The graph this engine runs."""
        return self._graph

    def __repr__(self) -> str:
        return f"<Operon engine='{self._core.name}' ops={self._core.op_count}>"

    def use(self, middleware: Middleware) -> "Operon":
        """Appends a middleware and returns the engine, for chaining."""
        self._middleware.append(middleware)
        return self

    async def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        user_id: Any = None,
        session_id: Any = None,
        request_id: Any = None,
        tracer: Any = None,
        errors: Literal["raise", "continue"] = "raise",
    ) -> dict[str, Any]:
        """Runs the graph once and returns its outputs.

        The result maps each graph output to its value (a list when an output got several values), plus
        ``"$state"``, a read-only view of every value the run produced (``state["g.op", "var"]``). An op
        that raises fails the run with :class:`~operonx.errors.OpError` (the op's exception is its
        ``__cause__``); with ``errors="continue"`` the run goes on, the failed op's successors are
        skipped and the errors are listed under ``"$errors"``. ``tracer=`` traces this run with the given
        tracer(s) instead of the engine's.
        """
        if self._middleware:
            ids = (request_id, session_id, user_id)
            sinks = None if tracer is None else _sinks_of(tracer)
            return await run_with_middleware(self._core, self._graph, self._middleware, inputs, errors, ids, sinks)
        if tracer is None:
            result = self._run_core(inputs, errors, request_id, session_id, user_id)
        else:
            result = self._core.run_traced(inputs, errors, request_id, session_id, user_id, _sinks_of(tracer))
        if result.__class__ is dict:
            return result
        return await result

    def start(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        user_id: Any = None,
        session_id: Any = None,
        request_id: Any = None,
        errors: Literal["raise", "continue"] = "raise",
        retain_frames: bool = True,
        tracer: Any = None,
    ) -> ExecutionHandle:
        """Starts a run and returns its :class:`~operonx.handle.ExecutionHandle` (middleware is not
        applied). Inside a running event loop the run starts at once; from sync code it starts when
        the handle is first iterated. ``retain_frames=False`` drops each frame once it is consumed,
        so an endless stream runs in flat memory (then ``result()`` is not available). ``tracer=`` is
        :meth:`run`'s.
        """
        sinks = None if tracer is None else _sinks_of(tracer)
        inner = self._core.start(inputs, errors, retain_frames, request_id, session_id, user_id, sinks)
        return ExecutionHandle(inner, self._core.name)

    def __call__(
        self, inputs: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Coroutine[Any, Any, dict[str, Any]]:
        """Same as :meth:`run` (returns the coroutine to await)."""
        return self.run(inputs, **kwargs)

    def run_sync(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        user_id: Any = None,
        session_id: Any = None,
        request_id: Any = None,
        tracer: Any = None,
        errors: Literal["raise", "continue"] = "raise",
    ) -> dict[str, Any]:
        """Runs the graph from code that has no running event loop (a script, a test); the keywords
        are :meth:`run`'s.

        Inside a running loop this raises :class:`~operonx.errors.OperonUsageError`: use
        ``await engine.run(...)`` there.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise OperonUsageError(
                f"run_sync() was called inside a running event loop (graph '{self.name}'); "
                "use `await engine.run(...)` there"
            )
        if not self._middleware and not self._core.has_async and tracer is None:
            return self._run_core(inputs, errors, request_id, session_id, user_id)
        return asyncio.run(
            self.run(
                inputs, user_id=user_id, session_id=session_id, request_id=request_id, tracer=tracer, errors=errors
            )
        )

    async def batch(
        self,
        inputs_list: Iterable[Mapping[str, Any] | None],
        *,
        user_id: Any = None,
        session_id: Any = None,
        tracer: Any = None,
        errors: Literal["raise", "continue"] = "raise",
    ) -> list[dict[str, Any]]:
        """Runs the graph once per inputs mapping, concurrently; results in the same order. The
        keywords are :meth:`run`'s (each run gets its own request id)."""
        return list(
            await asyncio.gather(
                *(
                    self.run(inputs, user_id=user_id, session_id=session_id, tracer=tracer, errors=errors)
                    for inputs in inputs_list
                )
            )
        )

    def input_schema(self) -> dict[str, Any]:
        """A JSON Schema of the graph's inputs (required ones are listed under ``required``)."""
        properties: dict[str, dict[str, Any]] = {}
        required: list[str] = []
        for name, p in self._graph.inputs.items():
            if p.value is not None and p.ref is None:  # a bound value (a loop's initial value)
                properties[name] = {"default": _jsonable(p.value)}
            elif p.required:
                properties[name] = {}
                required.append(name)
            else:
                properties[name] = {"default": _jsonable(p.default)}
        return {"title": f"{self.name} inputs", "type": "object", "properties": properties, "required": required}

    def output_schema(self) -> dict[str, Any]:
        """A JSON Schema of the graph's outputs."""
        return {
            "title": f"{self.name} outputs",
            "type": "object",
            "properties": {name: {} for name in self._graph.outputs},
        }

    def serialize(self) -> dict[str, Any]:
        """The graph document (see :meth:`GraphOp.export_config`)."""
        return self._graph.export_config()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)
