"""The spans of operonx.llm's ops carry the GenAI attributes of their provider call (made in Rust), in trace files
and through OpenTelemetry; any op can give its span attributes (``$span``, a generator's ``SpanNote``), which
never show as outputs or frames."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import operonx.tracing
from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.llm import chat, embed
from operonx.llm.testing import FakeLLMServer
from operonx.tracing import SpanNote
from operonx.tracing.otel import OpenTelemetryTracer

T = 20
REPLY = "the quick brown fox jumps over the lazy dog"


@pytest.fixture
def server():
    with FakeLLMServer(reply=REPLY) as s:
        yield s


@pytest.fixture
def hub_file(server, tmp_path):
    (tmp_path / "resources.yaml").write_text(
        f"llm:\n  provider: openai\n  base_url: {server.base_url}\n  api_key: sk-secret-key\n  model: fake-model\n"
    )
    return tmp_path / "resources.yaml"


async def trace_of(g: GraphOp, hub: object, tmp_path, inputs: dict, rid: str) -> dict:
    """Runs ``g`` with a LocalTracer; the trace file it wrote."""
    engine = Operon(g, resources=hub, tracer=operonx.tracing.LocalTracer(path=tmp_path / "traces"))
    await asyncio.wait_for(engine.run(inputs, request_id=rid), T)
    assert operonx.tracing.flush(T)
    return json.loads((tmp_path / "traces" / f"{rid}.json").read_text())


def node_of(trace: dict, op_name: str) -> dict:
    (node,) = [n for n in trace["nodes"] if n["op_name"] == op_name]
    return node


async def test_chat_span_has_the_genai_attributes(hub_file, tmp_path, server):
    with GraphOp(name="g") as g:
        answer = chat(messages=PARENT["messages"], temperature=0.5, max_tokens=4, seed=7, stop=["\n"])
        START >> answer >> END
    trace = await trace_of(g, hub_file, tmp_path, {"messages": "hi"}, "chat-1")
    node = node_of(trace, "g.answer")
    attrs = node["metadata"]["attributes"]
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "fake-model" and attrs["gen_ai.response.model"] == "fake-model"
    assert attrs["gen_ai.response.finish_reasons"] == ["length"]
    assert (attrs["gen_ai.request.temperature"], attrs["gen_ai.request.max_tokens"]) == (0.5, 4)
    assert (attrs["gen_ai.request.seed"], attrs["gen_ai.request.stop_sequences"]) == (7, ["\n"])
    assert attrs["gen_ai.usage.output_tokens"] == 4 and attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == int(server.base_url.split(":")[-1].split("/")[0])
    assert "gen_ai.response.time_to_first_chunk" not in attrs  # not streamed
    assert node["model"] == "fake-model"
    assert node["usage"] == {"input_tokens": attrs["gen_ai.usage.input_tokens"], "output_tokens": 4}
    assert "$span" not in node["outputs"] and node["outputs"]["content"] == "the quick brown fox"
    assert "sk-secret-key" not in json.dumps(trace)


async def test_streamed_chat_span_has_usage_and_time_to_first_chunk(hub_file, tmp_path):
    @op
    def join(pieces):
        return {"text": "".join(pieces)}

    with GraphOp(name="g") as g:
        tokens = chat(messages="hi", stream=True)
        whole = join(pieces=tokens["delta"].collect())
        START >> tokens >> whole >> END
    trace = await trace_of(g, hub_file, tmp_path, {}, "stream-1")
    node = node_of(trace, "g.tokens")
    attrs = node["metadata"]["attributes"]
    assert attrs["gen_ai.usage.output_tokens"] == 9 and attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert 0 < attrs["gen_ai.response.time_to_first_chunk"] < node["duration_ms"] / 1000
    # the note is not an item: one item per chunk, none more
    assert node["metadata"]["yield_count"] == len(REPLY.split(" "))
    assert node_of(trace, "g.whole")["outputs"] == {"text": REPLY}


async def test_embed_span_has_the_genai_attributes(hub_file, tmp_path):
    with GraphOp(name="g") as g:
        vectors = embed(input=["a b", "c"])
        START >> vectors >> END
    trace = await trace_of(g, hub_file, tmp_path, {}, "embed-1")
    node = node_of(trace, "g.vectors")
    attrs = node["metadata"]["attributes"]
    assert attrs["gen_ai.operation.name"] == "embeddings" and attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.embeddings.dimension.count"] == len(node["outputs"]["embeddings"][0])


async def test_span_attributes_never_show_as_outputs(hub_file):
    """Untraced, ``$span`` stays out of what a caller sees: frames, results, downstream inputs."""
    seen = []

    @op
    def look(**kw):
        seen.append(kw)
        return {"ok": True}

    with GraphOp(name="g") as g:
        answer = chat(messages="hi")
        tokens = chat(messages="hi", stream=True)
        after = look(text=answer["content"], delta=tokens["delta"])
        START >> [answer, tokens] >> after >> END
    handle = Operon(g, resources=hub_file).start({})
    frames = await asyncio.wait_for(handle.collect(), T)
    assert all(not k.startswith("$") for f in seen for k in f)
    assert "$span" not in json.dumps(frames, default=str)


async def test_any_op_gives_its_span_attributes(tmp_path):
    @op
    def plain(x):
        return {"y": x, "$span": {"app.rows": 3, "app.source": "db"}}

    @op
    def gen(n):
        yield {"item": 0}
        yield SpanNote({"app.items": n})
        yield {"item": 1}

    @op
    def echo(item):
        return {"seen": item}

    with GraphOp(name="g") as g:
        a = plain(x=PARENT["x"])
        b = gen(n=PARENT["x"])
        c = echo(item=b["item"])
        START >> [a, b] >> c >> END
    trace = await trace_of(g, None, tmp_path, {"x": 2}, "any-1")
    assert node_of(trace, "g.a")["metadata"]["attributes"] == {"app.rows": 3, "app.source": "db"}
    assert node_of(trace, "g.a")["outputs"] == {"y": 2} and node_of(trace, "g.a")["model"] is None
    b = node_of(trace, "g.b")
    assert b["metadata"]["attributes"] == {"app.items": 2} and b["metadata"]["yield_count"] == 2
    contexts = sorted(n["display_name"] for n in trace["nodes"] if n["kind"] == "stream_context")
    assert contexts == ["[0]", "[1]"]  # the note took no item index
    assert repr(SpanNote({"k": 1})) == "SpanNote({'k': 1})"


async def test_opentelemetry_span_of_a_chat(hub_file):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = OpenTelemetryTracer(tracer_provider=provider)
    with GraphOp(name="g") as g:
        answer = chat(messages="hi")
        tokens = chat(messages="hi", stream=True)
        START >> [answer, tokens] >> END
    await asyncio.wait_for(Operon(g, resources=hub_file, tracer=tracer).run({}), T)
    assert tracer.force_flush(T)
    spans = [s for s in exporter.get_finished_spans() if s.name == "chat fake-model"]
    assert len(spans) == 2
    for span in spans:
        attrs = span.attributes
        assert attrs["gen_ai.provider.name"] == "openai" and attrs["gen_ai.usage.output_tokens"] > 0
        assert tuple(attrs["gen_ai.response.finish_reasons"]) in {("stop",), ("length",)}
    streamed = [s for s in spans if "gen_ai.response.time_to_first_chunk" in s.attributes]
    assert len(streamed) == 1 and streamed[0].attributes["operonx.op.full_name"] == "g.tokens"
