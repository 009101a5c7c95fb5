"""OpenTelemetryTracer: the spans of a run reach the SDK's in-memory exporter with their parents
and attributes, the caller's current span as the workflow span's parent, errors as error status."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import OpError
from operonx.tracing.otel import OpenTelemetryTracer

T = 10.0


@op
def inc(x: int):
    return {"y": x + 1}


@op
def count(n: int):
    for i in range(n):
        yield {"item": i}


@op
def fails(item: int):
    if item == 1:
        raise ValueError("item one")
    return {"ok": item}


class ThreadOfExport(InMemorySpanExporter):
    def __init__(self) -> None:
        super().__init__()
        self.threads: dict[str, set[str]] = {}

    def export(self, spans):
        for span in spans:
            self.threads.setdefault(threading.current_thread().name, set()).add(span.name)
        return super().export(spans)


def setup():
    exporter = ThreadOfExport()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def nested() -> GraphOp:
    with GraphOp(name="outer") as g:
        a = inc(x=PARENT["x"])
        with GraphOp(name="inner", inputs={"v": a["y"]}) as inner:
            b = inc(x=PARENT["v"])
            START >> b >> END
        START >> a >> inner >> END
    return g


async def test_spans_have_parents_and_attributes_and_the_callers_span_is_the_root_parent():
    provider, exporter = setup()
    tracer = OpenTelemetryTracer(tracer_provider=provider, tags=["otel"])
    engine = Operon(nested(), tracer=tracer)
    caller = provider.get_tracer("test")
    with caller.start_as_current_span("caller") as outer:
        await asyncio.wait_for(engine.run({"x": 1}, request_id="o1", session_id="s1", user_id="u1"), T)
    assert tracer.force_flush(T)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"caller", "invoke_workflow outer", "outer.a", "outer.inner", "outer.inner.b"}
    workflow = spans["invoke_workflow outer"]
    assert workflow.parent.span_id == outer.get_span_context().span_id
    assert workflow.context.trace_id == outer.get_span_context().trace_id
    attrs = workflow.attributes
    assert (attrs["gen_ai.operation.name"], attrs["gen_ai.conversation.id"]) == ("invoke_workflow", "s1")
    assert (attrs["operonx.request_id"], attrs["operonx.user_id"], attrs["operonx.workflow.name"]) == (
        "o1", "u1", "outer",
    )
    assert tuple(attrs["operonx.tags"]) == ("otel",)
    assert json.loads(attrs["operonx.inputs"]) == {"x": 1} and json.loads(attrs["operonx.outputs"]) == {"y": 3}
    assert spans["outer.a"].parent.span_id == workflow.context.span_id
    assert spans["outer.inner"].parent.span_id == workflow.context.span_id
    assert spans["outer.inner.b"].parent.span_id == spans["outer.inner"].context.span_id
    a = spans["outer.a"].attributes
    assert (a["operonx.op.name"], a["operonx.op.full_name"], a["operonx.node.kind"], a["code.function"]) == (
        "a", "outer.a", "batch", "inc",
    )
    assert json.loads(a["operonx.inputs"]) == {"x": 1} and json.loads(a["operonx.outputs"]) == {"y": 2}
    assert spans["outer.inner"].attributes["operonx.node.kind"] == "graph"
    assert spans["outer.a"].start_time <= spans["outer.a"].end_time
    assert workflow.start_time <= spans["outer.a"].start_time <= spans["outer.inner.b"].end_time <= workflow.end_time
    # the SDK's spans are made on the tracer's thread, never on the loop's
    assert exporter.threads["MainThread"] == {"caller"}
    assert set(exporter.threads) == {"MainThread", "operonx-OpenTelemetryTracer"}


async def test_without_a_current_span_the_workflow_span_is_a_root():
    provider, exporter = setup()
    tracer = OpenTelemetryTracer(tracer_provider=provider)
    await asyncio.wait_for(Operon(nested(), tracer=tracer).run({"x": 1}), T)
    assert tracer.force_flush(T)
    workflow = next(s for s in exporter.get_finished_spans() if s.name == "invoke_workflow outer")
    assert workflow.parent is None


async def test_a_failed_op_span_has_an_error_status_and_an_exception_event():
    provider, exporter = setup()
    tracer = OpenTelemetryTracer(tracer_provider=provider)
    with GraphOp(name="s") as g:
        c = count(n=PARENT["n"])
        f = fails(item=c["item"])
        START >> c >> f >> END
    engine = Operon(g, tracer=tracer)
    with pytest.raises(OpError):
        await asyncio.wait_for(engine.run({"n": 3}), T)
    assert tracer.force_flush(T)
    spans = exporter.get_finished_spans()
    failed = [s for s in spans if s.status.status_code == StatusCode.ERROR]
    assert [s.name for s in failed] == ["invoke_workflow s", "s.f"]  # the run failed too
    assert failed[0].attributes["error.type"] == "OpError"
    failed = failed[1:]
    assert failed[0].attributes["error.type"] == "ValueError"
    event = failed[0].events[0]
    assert (event.name, event.attributes["exception.message"]) == ("exception", "item one")
    # the item's span sits under its stream-context span, under the generator's span
    by_id = {s.context.span_id: s for s in spans}
    ctx = by_id[failed[0].parent.span_id]
    assert (ctx.name, ctx.attributes["operonx.node.kind"]) == ("[1]", "stream_context")
    assert by_id[ctx.parent.span_id].name == "s.c"


def test_the_tracer_thread_stops_on_shutdown():
    provider, _ = setup()
    tracer = OpenTelemetryTracer(tracer_provider=provider)
    tracer.trace_sinks()
    tracer.shutdown(T)
    assert tracer._thread is not None and not tracer._thread.is_alive()
