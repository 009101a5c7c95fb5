"""OpenTelemetry export of operonx traces (extra ``operonx[otel]``)::

    from operonx.tracing.otel import OpenTelemetryTracer

    engine = Operon(g, tracer=OpenTelemetryTracer())           # the global tracer provider
    engine = Operon(g, tracer=OpenTelemetryTracer(provider))   # or a given one

Each run becomes a span ``invoke_workflow {graph}`` (``gen_ai.operation.name`` = ``invoke_workflow``,
``gen_ai.conversation.id`` = the session id) whose parent is the span current where the run was
started; under it, a span per op execution, per nested graph and per stream item, parented as in
the trace file (:mod:`operonx.tracing`). Op spans carry ``operonx.*`` attributes: the op's full
name, kind, context, function, inputs and outputs (as JSON text), and the attributes the op gave its
span (:data:`operonx.tracing.SPAN_KEY`). An LLM op of :mod:`operonx.llm` gives the GenAI ones
(``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` and ``output_tokens``,
``gen_ai.response.time_to_first_chunk`` for a stream, ``server.address``), and its span is named
``{operation} {model}`` (``chat gpt-4o-mini``). A failed op's span has an error status, ``error.type`` and an
``exception`` event.

The engine records the spans in Rust while the run goes; the SDK's spans are made and ended (and so
exported, by the processors the provider has) on the tracer's own thread, from the finished traces
handed over in batches: the event loop never pays for the SDK. :meth:`OpenTelemetryTracer.force_flush`
waits for them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from opentelemetry import trace as otel_trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from operonx.tracing import Tracer

__all__ = ["OpenTelemetryTracer"]


def _ns(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1_000_000) * 1000


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _attribute(value: Any) -> Any:
    """An attribute value OpenTelemetry takes: a str, bool, int or float, or a list of one of those; anything else
    as its JSON text."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list) and value and all(isinstance(v, (str, bool, int, float)) for v in value):
        if len({type(v) for v in value}) == 1:
            return value
    return _text(value)


class OpenTelemetryTracer(Tracer):
    """Emits each run's trace as OpenTelemetry spans through ``tracer_provider`` (default: the
    global provider, looked up when each batch is exported). ``tags`` become the
    ``operonx.tags`` attribute of the workflow span; ``stream_trace_limit`` keeps the op
    executions of the first N items of each stream (``None``, the default: all)."""

    def __init__(
        self, tracer_provider: Any = None, tags: Iterable[str] | None = None, stream_trace_limit: int | None = None
    ) -> None:
        super().__init__(tags=tags, stream_trace_limit=stream_trace_limit)
        self._provider = tracer_provider

    def _tracer(self) -> Any:
        provider = self._provider if self._provider is not None else otel_trace.get_tracer_provider()
        return provider.get_tracer("operonx")

    def capture(self) -> Any:
        """The span current where the run starts (on the loop thread): the workflow span's parent."""
        ctx = otel_trace.get_current_span().get_span_context()
        if not ctx.is_valid:
            return None
        return {
            "trace_id": f"{ctx.trace_id:032x}",
            "span_id": f"{ctx.span_id:016x}",
            "flags": int(ctx.trace_flags),
            "remote": bool(ctx.is_remote),
        }

    def flush(self, trace_data: dict[str, Any]) -> None:
        """Makes and ends the spans of one run's trace."""
        self._emit(self._tracer(), trace_data)

    def flush_batch(self, traces: list[dict[str, Any]]) -> None:
        """Makes and ends the spans of several runs' traces."""
        tracer = self._tracer()
        for trace in traces:
            self._emit(tracer, trace)

    def _emit(self, tracer: Any, trace: dict[str, Any]) -> None:
        parent = trace.get("$parent")
        context = None
        if parent:
            span_context = SpanContext(
                trace_id=int(parent["trace_id"], 16),
                span_id=int(parent["span_id"], 16),
                is_remote=bool(parent.get("remote")),
                trace_flags=TraceFlags(parent.get("flags", 1)),
            )
            context = otel_trace.set_span_in_context(NonRecordingSpan(span_context))
        spans: dict[str, Any] = {}
        for node in trace["nodes"]:
            key = node["parent_trace_key"]
            ctx = context if key is None or key not in spans else otel_trace.set_span_in_context(spans[key])
            if node["node_type"] == "trace":
                name, attributes = self._workflow(trace, node)
            else:
                name, attributes = self._op(node)
            span = tracer.start_span(
                name, context=ctx, kind=SpanKind.INTERNAL, attributes=attributes, start_time=_ns(node["start_time"])
            )
            error = node["metadata"].get("error")
            if error:
                kind, _, message = str(error).partition(": ")
                span.set_status(Status(StatusCode.ERROR, str(error)))
                span.set_attribute("error.type", kind if message else "OpError")
                span.add_event("exception", {"exception.type": kind, "exception.message": message or str(error)})
            spans[node["trace_key"]] = span
            span.end(end_time=_ns(node["end_time"]) or _ns(node["start_time"]))

    def _workflow(self, trace: dict[str, Any], node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        graph = trace["workflow_name"]
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.conversation.id": trace["session_id"],
            "operonx.workflow.name": graph,
            "operonx.request_id": trace["request_id"],
            "operonx.user_id": trace["user_id"],
            "operonx.inputs": _text(node["inputs"]),
            "operonx.outputs": _text(node["outputs"]),
        }
        if trace.get("tags"):
            attributes["operonx.tags"] = list(trace["tags"])
        for key, value in trace["summary"].items():
            attributes[f"operonx.summary.{key}"] = value
        return f"invoke_workflow {graph}", attributes

    @staticmethod
    def _op(node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The span name and attributes of an op's node: an op that gave GenAI attributes (an LLM op) is named
        ``{gen_ai.operation.name} {gen_ai.request.model}`` as the GenAI conventions ask."""
        attributes: dict[str, Any] = {"operonx.node.kind": node["kind"], "operonx.trace_key": node["trace_key"]}
        if node["op_name"]:
            attributes["operonx.op.name"] = node["display_name"]
            attributes["operonx.op.full_name"] = node["op_name"]
            attributes["operonx.inputs"] = _text(node["inputs"])
            attributes["operonx.outputs"] = _text(node["outputs"])
        metadata = node["metadata"]
        if "function_name" in metadata:
            attributes["code.function"] = metadata["function_name"]
        if "yield_count" in metadata:
            attributes["operonx.yield_count"] = metadata["yield_count"]
        if node["duration_ms"] is not None:
            attributes["operonx.duration_ms"] = node["duration_ms"]
        given = metadata.get("attributes") or {}
        attributes.update((k, _attribute(v)) for k, v in given.items() if v is not None)
        name = node["op_name"] or node["display_name"]
        if "gen_ai.operation.name" in given:
            name = " ".join(str(p) for p in (given["gen_ai.operation.name"], given.get("gen_ai.request.model")) if p)
        return name, attributes

    def __repr__(self) -> str:
        return f"<OpenTelemetryTracer provider={self._provider!r}>"
