"""operonx.llm's ops in graphs, against the fake provider: chat (plain and streamed, at any nesting depth),
embeddings, settings from the engine's resource hub, faults with retries, cancel, errors."""

from __future__ import annotations

import asyncio
import os

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import OpError
from operonx.llm import ProviderError, chat, embed
from operonx.llm.testing import Fault, FakeLLMServer

T = 20
REPLY = "the quick brown fox jumps over the lazy dog"


@pytest.fixture
def server():
    with FakeLLMServer(reply=REPLY) as s:
        yield s


@pytest.fixture
def hub_file(server, tmp_path, monkeypatch):
    """A resources.yaml whose `llm` entry points at the fake, its URL and key read from a .env."""
    (tmp_path / ".env").write_text(f"LLM_BASE_URL={server.base_url}\nLLM_API_KEY=sk-test\n")
    (tmp_path / "resources.yaml").write_text(
        "llm:\n  provider: openai_compatible\n  base_url: ${LLM_BASE_URL}\n  api_key: ${LLM_API_KEY}\n"
        "  model: fake-model\n  timeout: 5\n"
    )
    monkeypatch.delenv("LLM_BASE_URL", raising=False)
    yield tmp_path
    for name in ("LLM_BASE_URL", "LLM_API_KEY"):  # loading the .env set them in the process
        os.environ.pop(name, None)


def engine(g, hub_file) -> Operon:
    return Operon(g, resources=hub_file / "resources.yaml", env_file=hub_file / ".env")


@op
def shout(text):
    return {"text": text.upper()}


async def test_chat_node_feeds_a_python_op(server, hub_file):
    with GraphOp(name="g") as g:
        answer = chat(messages=PARENT["messages"], temperature=0, max_tokens=4)
        loud = shout(text=answer["content"])
        START >> answer >> loud >> END
    out = await asyncio.wait_for(engine(g, hub_file).run({"messages": [{"role": "user", "content": "hi"}]}), T)
    assert out["text"] == "THE QUICK BROWN FOX"
    body = server.requests[0].body
    assert (body["temperature"], body["max_tokens"], body["model"]) == (0, 4, "fake-model")
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


async def test_chat_outputs(server, hub_file):
    with GraphOp(name="g") as g:
        answer = chat(messages="hello")
        START >> answer >> END
    handle = engine(g, hub_file).start({})
    frames = [f async for f in handle]
    data = frames[-1].data
    assert frames[-1].op == "answer"
    assert data["content"] == REPLY and data["finish_reason"] == "stop" and data["model"] == "fake-model"
    assert data["message"] == {"role": "assistant", "content": REPLY}
    assert data["usage"]["completion_tokens"] == 9 and data["tool_calls"] == []


async def test_stream_frames_and_collect(server, hub_file):
    @op
    def join(pieces):
        return {"text": "".join(p for p in pieces)}

    with GraphOp(name="g") as g:
        tokens = chat(messages="hi", stream=True)
        whole = join(pieces=tokens["delta"].collect())
        START >> tokens >> whole >> END
    out = await asyncio.wait_for(engine(g, hub_file).run({}), T)
    assert out["text"] == REPLY


async def test_stream_frames_one_per_chunk(server, hub_file):
    with GraphOp(name="g") as g:
        tokens = chat(messages="hi", stream=True)
        START >> tokens >> END
    handle = engine(g, hub_file).start({})
    frames = await asyncio.wait_for(_frames(handle), T)
    assert [f.data["delta"] for f in frames] == [w if i == 0 else " " + w for i, w in enumerate(REPLY.split())]
    assert {f.op for f in frames} == {"tokens"}


async def _frames(handle):
    return [f async for f in handle]


async def test_tokens_reach_the_caller_from_three_levels_down(server, hub_file):
    with GraphOp(name="outer") as g:
        with GraphOp(name="mid") as mid:
            with GraphOp(name="inner") as inner:
                t = chat(messages="hi", stream=True)
                START >> t >> END
            START >> inner >> END
        START >> mid >> END
    server.chunk_delay = 0.01
    handle = engine(g, hub_file).start({})
    deltas = [f.data["delta"] async for f in handle if "delta" in f.data]
    assert "".join(deltas) == REPLY


async def test_embed_one_and_many(server, hub_file):
    with GraphOp(name="g") as g:
        one = embed(input=PARENT["text"])
        many = embed(input=PARENT["texts"])
        START >> one >> END
        START >> many >> END
    handle = engine(g, hub_file).start({"text": "hello", "texts": ["a", "hello"]})
    data = {f.op: f.data async for f in handle}
    assert data["one"]["embedding"] == pytest.approx(server.embedding("hello"), abs=1e-6)
    assert data["many"]["embeddings"][1] == data["one"]["embedding"]
    assert len(data["many"]["embeddings"]) == 2


async def test_random_faults_lose_and_repeat_nothing(hub_file):
    with FakeLLMServer(reply=REPLY, fault_rate=0.1, fault_seed=3) as flaky:
        (hub_file / ".env").write_text(f"LLM_BASE_URL={flaky.base_url}\nLLM_API_KEY=sk-test\n")
        text = (hub_file / "resources.yaml").read_text().replace("timeout: 5", "timeout: 0.2")
        (hub_file / "resources.yaml").write_text(text)
        with GraphOp(name="g") as g:
            t = chat(messages=PARENT["q"], stream=True, retries=5)
            START >> t >> END
        e = engine(g, hub_file)

        async def one(i):
            return "".join([f.data["delta"] async for f in e.start({"q": str(i)})])

        texts = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(40))), 60)
        assert texts == [REPLY] * 40
        assert len(flaky.requests) > 40  # faults were met


async def test_cancel_during_a_stream_closes_the_request(server, hub_file):
    server.chunk_delay = 0.05
    with GraphOp(name="g") as g:
        t = chat(messages="hi", stream=True)
        START >> t >> END
    handle = engine(g, hub_file).start({})
    first = await asyncio.wait_for(aiter(handle).__anext__(), T)
    assert first.data == {"delta": "the"}
    handle.cancel()
    for _ in range(200):
        if server.disconnects:
            break
        await asyncio.sleep(0.02)
    assert server.disconnects == 1


async def test_a_provider_error_fails_the_run_naming_the_op(server, hub_file):
    server.faults.append(Fault(status=401, message="Incorrect API key provided."))
    with GraphOp(name="g") as g:
        asked = chat(messages="hi", retries=3)
        START >> asked >> END
    with pytest.raises(OpError, match="asked") as caught:
        await asyncio.wait_for(engine(g, hub_file).run({}), T)
    cause = caught.value.__cause__
    assert isinstance(cause, ProviderError) and cause.status == 401 and not cause.retryable
    assert "Incorrect API key" in str(cause) and "sk-test" not in str(caught.value)
    assert len(server.requests) == 1


async def test_the_process_wide_hub_serves_engines_without_one(server, hub_file, monkeypatch):
    import operonx

    monkeypatch.chdir(hub_file)
    operonx.bootstrap()
    try:
        with GraphOp(name="g") as g:
            a = chat(messages="hi")
            START >> a >> END
        out = await asyncio.wait_for(Operon(g).run({}), T)
        assert out["content"] == REPLY
    finally:
        operonx.resources.ResourceHub.reset_instance()


def test_unknown_chat_parameter_is_refused():
    from operonx.errors import GraphTypeError

    with GraphOp(name="g"):
        with pytest.raises(GraphTypeError, match="temprature"):
            chat(messages="x", temprature=1)
