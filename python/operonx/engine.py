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
import os
import weakref
from types import MappingProxyType
from typing import Any, Callable, Coroutine, Iterable, Iterator, Literal, Mapping, NamedTuple

from operonx._core import Engine as _Engine
from operonx.errors import GraphTypeError, OperonUsageError
from operonx.document import (
    DocumentSource, GraphDocument, OpsMapping, bind_document, engine_document, read_document,
)
from operonx._authoring.nodes import mark_built
from operonx.graph import GraphOp
from operonx.handle import ExecutionHandle
from operonx.middleware import Middleware, check_middleware, run_with_middleware
from operonx.resources import ResourceHub
from operonx._authoring.resources import bind_resources, engine_hub
from operonx.tracing import sinks_of as _sinks_of
from operonx.executors import Executor
from operonx.executors._calls import bind_executors, check_executors, check_processes, shutdown_all


class Operon:
    """An engine: a graph compiled once and run any number of times.

    ``Operon(graph)`` takes a :class:`GraphOp`; ``Operon(factory, params={...})`` builds the graph as
    ``factory(**params)``. ``tracer=`` (a tracer of :mod:`operonx.tracing`, or a list of them) traces
    every run; a run's own ``tracer=`` replaces it for that run. Building validates the whole graph and raises
    :class:`~operonx.errors.GraphValidationError` listing every problem found. Once built, the graph
    takes no new ops. :meth:`from_json` makes an engine from a graph document instead.

    ``resources`` (a path to a ``resources.yaml``, or a :class:`~operonx.resources.ResourceHub`) gives the
    engine a hub of its own, with ``${VAR}`` read from the environment, then from ``env_file`` (a ``.env``);
    its ops receive its entries through parameters annotated with
    :class:`~operonx.resources.Resource`. An op asking for a resource the hub does not have raises
    :class:`~operonx.resources.ResourceNotFoundError` here, naming the op, the parameter and the resource.

    ``executors`` (name -> :class:`~operonx.executors.Executor`) are where ops given ``executor="name"``
    run; ``bound="process"`` ops run on the engine's own pool of ``processes`` worker processes
    (default: the CPU count), made when the graph has such ops (see :mod:`operonx.executors`). An op
    naming an executor the engine has not got raises :class:`~operonx.errors.GraphError` here.
    """

    __slots__ = ("_graph", "_core", "_run_core", "_middleware", "_resources", "_executors", "_owned", "__weakref__")

    def __init__(
        self,
        graph: GraphOp | Callable[..., GraphOp],
        *,
        params: Mapping[str, Any] | None = None,
        tracer: Any = None,
        middleware: Iterable[Middleware] | None = None,
        resources: str | os.PathLike[str] | ResourceHub | None = None,
        env_file: str | os.PathLike[str] | None = None,
        executors: Mapping[str, Executor] | None = None,
        processes: int | None = None,
    ) -> None:
        if not isinstance(graph, GraphOp):
            if not callable(graph):
                raise GraphTypeError(f"Operon() takes a GraphOp or a graph factory, not {type(graph).__name__}")
            graph = graph(**dict(params or {}))
            if not isinstance(graph, GraphOp):
                raise GraphTypeError(f"the graph factory returned {type(graph).__name__}, not a GraphOp")
        sinks = None if tracer is None else _sinks_of(tracer)
        document, hosts = engine_document(graph)
        hub = engine_hub(resources, env_file)
        hosts = bind_resources(graph, hosts, hub)
        self._build(document, hosts, graph, middleware, hub, sinks, (executors, processes))
        mark_built(graph)

    def _build(
        self, document: str, hosts: list[Any], graph: Any, middleware: Iterable[Middleware] | None,
        hub: ResourceHub | None = None, sinks: Any = None, executors: tuple[Any, Any] = (None, None),
    ) -> None:
        self._resources = hub
        processes = check_processes(executors[1])
        self._executors = check_executors(executors[0], processes)
        hosts, self._owned = bind_executors(hosts, self._executors, processes, hub)
        if self._owned:  # the engine's own pool stops with the engine
            weakref.finalize(self, shutdown_all, self._owned)
        self._core = _Engine(document, hosts) if sinks is None else _Engine(document, hosts, sinks)
        # the bound method, looked up once: run() is the hot path (an engine with a tracer runs traced)
        self._run_core = self._core.run if sinks is None else self._core.run_traced
        # the GraphOp, or for an engine made by from_json the document (what middleware hooks receive)
        self._graph: GraphOp | GraphDocument = graph
        if isinstance(middleware, Middleware):
            raise OperonUsageError("middleware= takes a list of middleware: write middleware=[m]")
        self._middleware: list[Middleware] = [check_middleware(mw) for mw in middleware or ()]

    @classmethod
    def from_json(
        cls,
        source: DocumentSource,
        *,
        ops: OpsMapping | None = None,
        tracer: Any = None,
        middleware: Iterable[Middleware] | None = None,
        executors: Mapping[str, Executor] | None = None,
        processes: int | None = None,
        resources: str | os.PathLike[str] | ResourceHub | None = None,
        env_file: str | os.PathLike[str] | None = None,
    ) -> "Operon":
        """An engine running a graph document written by ``export_config()`` / ``serialize()``.

        ``source`` is the document: JSON text, the dict, or the path of a JSON file (a ``str`` that
        does not start with ``{``, or a ``PathLike``). Each code op runs the function its
        ``func_name`` names: from ``ops`` (name -> function or ``@op`` function) if given there,
        else from :mod:`operonx.registry`, which holds every ``@op`` function of the modules
        imported so far. In a new process, import the modules that define the ops first.
        Functions of ``.apply()`` transforms and callable ``until`` values are named in the
        document too, and must be given in ``ops`` (a builtin such as ``len`` is found by itself).

        Raises :class:`~operonx.errors.SchemaVersionError` for a document of another schema
        version, :class:`~operonx.errors.GraphError` naming the graph and every op whose function
        is not found (or is ambiguous, or of another kind than the document says), and
        :class:`~operonx.errors.GraphValidationError` as ``Operon(graph)`` does. The engine has
        no :class:`GraphOp`: :attr:`graph` raises, :meth:`serialize` returns the document, and
        middleware hooks receive the document as their ``graph``. ``executors`` and ``processes``
        are :class:`Operon`'s: ops the document runs on an executor (``"executor"``) need it here.

        ``resources=`` and ``env_file=`` are :class:`Operon`'s: op parameters annotated with
        :class:`~operonx.resources.Resource` receive their resources from this engine's hub, else
        from the process-wide one, as they do in an engine built from the graph.
        """
        sinks = None if tracer is None else _sinks_of(tracer)
        hub = engine_hub(resources, env_file)
        document, text, hosts = bind_document(source, ops, hub)
        engine = cls.__new__(cls)
        cls._build(engine, text, hosts, document, middleware, hub, sinks, (executors, processes))
        return engine

    @property
    def name(self) -> str:
        """The graph's name."""
        return self._core.name

    @property
    def resources(self) -> ResourceHub | None:
        """The engine's own resource hub (``Operon(g, resources=...)``), or ``None``: then its ops read
        the process-wide hub (see :mod:`operonx.resources`)."""
        return self._resources

    @property
    def executors(self) -> Mapping[str, Executor]:
        """The executors the engine's ops run on, by name: those given to it, and the process pool it
        made for its ``bound="process"`` ops (``engine.executors["process"].start()`` starts it now)."""
        return MappingProxyType(self._executors)

    def close(self) -> None:
        """Shuts down the executors the engine made for itself (its process pool); executors given to
        it stay as they are. Dropping the engine does the same. Runs started after this fail."""
        shutdown_all(self._owned)

    @property
    def graph(self) -> GraphOp:
        """The graph this engine runs (an engine made by :meth:`from_json` has none: it raises
        :class:`~operonx.errors.OperonUsageError`; :meth:`serialize` gives its document)."""
        graph = self._graph
        if not isinstance(graph, GraphOp):
            raise OperonUsageError(
                f"engine '{self.name}' was made from a graph document and has no GraphOp; "
                f"engine.serialize() returns the document"
            )
        return graph

    def __repr__(self) -> str:
        return f"<Operon engine='{self._core.name}' ops={self._core.op_count}>"

    def use(self, middleware: Middleware) -> "Operon":
        """Appends a middleware (see :mod:`operonx.middleware`) and returns the engine, for chaining:
        ``engine.use(m1).use(m2)`` runs ``m1.before_run`` first and ``m1.after_run`` last."""
        self._middleware.append(check_middleware(middleware))
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

        The run goes through the engine's middleware (:mod:`operonx.middleware`): ``before_run``
        hooks in order, then ``after_run`` (or, when the run fails, ``on_error``) hooks in reverse.
        """
        if self._middleware:
            return await self._run_with_middleware(inputs, errors, (request_id, session_id, user_id), tracer)
        if tracer is None:
            result = self._run_core(inputs, errors, request_id, session_id, user_id)
        else:
            result = self._core.run_traced(inputs, errors, request_id, session_id, user_id, _sinks_of(tracer))
        if result.__class__ is dict:
            return result
        return await result

    async def _run_with_middleware(self, inputs: Any, errors: str, ids: tuple[Any, Any, Any], tracer: Any) -> dict:
        # apart from run(): its frame stays as small as it was before middleware took a tracer
        sinks = None if tracer is None else _sinks_of(tracer)
        return await run_with_middleware(self._core, self._graph, self._middleware, inputs, errors, ids, sinks)

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
        applied: there is no single result to hand to ``after_run``). Inside a running event loop the run starts at once; from sync code it starts when
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
        are :meth:`run`'s, and the run goes through the middleware as :meth:`run`'s does.

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
        concurrency: int | None = 10,
        user_id: Any = None,
        session_id: Any = None,
        tracer: Any = None,
        errors: Literal["raise", "continue"] = "raise",
    ) -> list[dict[str, Any]]:
        """Runs the graph once per inputs mapping, at most ``concurrency`` runs at a time (``None``:
        no cap); returns the results in the order of ``inputs_list``. Each run goes through the
        middleware and gets its own request id; the other keywords are :meth:`run`'s. When a run
        fails, the runs still going are cancelled, the ones not started never start, and the error
        is raised.
        """
        concurrency = _check_concurrency(concurrency)
        items = list(inputs_list)
        return await _bounded(
            lambda inputs: self.run(inputs, user_id=user_id, session_id=session_id, tracer=tracer, errors=errors),
            items,
            len(items) if concurrency is None else min(concurrency, len(items)),
        )

    def input_schema(self) -> dict[str, Any]:
        """A JSON Schema of the graph's inputs (required ones are listed under ``required``)."""
        properties: dict[str, dict[str, Any]] = {}
        required: list[str] = []
        graph = self._graph
        params = graph.inputs.items() if isinstance(graph, GraphOp) else _document_inputs(graph)
        for name, p in params:
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
        graph = self._graph
        outputs = graph.outputs if isinstance(graph, GraphOp) else graph.get("outputs") or {}
        return {
            "title": f"{self.name} outputs",
            "type": "object",
            "properties": {name: {} for name in outputs},
        }

    def serialize(self) -> dict[str, Any]:
        """The graph document (see :meth:`GraphOp.export_config`)."""
        graph = self._graph
        if isinstance(graph, GraphOp):
            return graph.export_config()
        return read_document(graph)  # a copy: the engine's document stays as it was


def _check_concurrency(concurrency: Any) -> int | None:
    if concurrency is None:
        return None
    if type(concurrency) is not int or concurrency < 1:
        raise OperonUsageError(
            f"batch(concurrency=...) must be a whole number >= 1 (or None for no cap), got {concurrency!r}"
        )
    return concurrency


async def _bounded(run_one: Callable[[Any], Any], items: list[Any], workers: int) -> list[Any]:
    """``run_one(item)`` for every item, ``workers`` at a time, results in item order; the first
    failure cancels the runs still going (the rest never start) and is raised."""
    results: list[Any] = [None] * len(items)
    pending = iter(enumerate(items))

    async def worker() -> None:
        for i, item in pending:
            results[i] = await run_one(item)

    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return results


class _DocParam(NamedTuple):
    """A graph input as a document writes it, read like a GraphOp's input by input_schema()."""

    value: Any
    ref: Any
    required: bool
    default: Any


def _document_inputs(document: Any) -> Iterator[tuple[str, _DocParam]]:
    for name, p in (document.get("inputs") or {}).items():
        yield name, _DocParam(p.get("literal"), p.get("ref"), bool(p.get("required")), p.get("default"))


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)
