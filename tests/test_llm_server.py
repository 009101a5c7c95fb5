"""The fake provider of operonx.llm.testing speaks the real protocol: the official `openai` client, pointed
at it, gets what it gets from a hosted provider, and every fault knob reaches the client as the fault it
imitates."""

from __future__ import annotations

import base64
import json
import struct
import urllib.request

import openai
import pytest

from operonx.llm.testing import Fault, FakeLLMServer

T = 10  # seconds: the client's timeout on every request


@pytest.fixture
def server():
    with FakeLLMServer(reply="one two three four") as s:
        yield s


def client(server: FakeLLMServer, **kwargs) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=server.base_url, api_key=server.api_key or "sk-test", timeout=T, **kwargs)


def test_chat_reply(server):
    done = client(server).chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "say four words"}], temperature=0, seed=1
    )
    assert done.choices[0].message.content == "one two three four"
    assert done.choices[0].finish_reason == "stop"
    assert done.model == "fake-model"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.total_tokens) == (3, 4, 7)
    assert server.requests[0].body["temperature"] == 0 and server.requests[0].body["seed"] == 1


def test_chat_stop_and_max_tokens(server):
    c = client(server)
    stopped = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stop=[" three"])
    assert stopped.choices[0].message.content == "one two"
    cut = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], max_tokens=2)
    assert (cut.choices[0].message.content, cut.choices[0].finish_reason) == ("one two", "length")


def test_chat_stream_with_usage(server):
    stream = client(server).chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4


def test_stream_ends_with_done_and_chunk_count():
    with FakeLLMServer(reply="abcdef", chunks=3) as server:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}).encode()
        request = urllib.request.Request(f"{server.base_url}/chat/completions", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=T) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            events = [line for line in response.read().decode().split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    contents = [json.loads(e[6:])["choices"][0]["delta"].get("content") for e in events[:-1]]
    assert contents == ["", "ab", "cd", "ef", None]


def test_tool_call(server):
    server.tool_call = {"name": "lookup", "arguments": {"city": "Oslo"}}
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    c = client(server)
    done = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], tools=tools)
    call = done.choices[0].message.tool_calls[0]
    assert (done.choices[0].finish_reason, call.function.name) == ("tool_calls", "lookup")
    assert json.loads(call.function.arguments) == {"city": "Oslo"}
    streamed = list(c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                              tools=tools, stream=True))
    deltas = [d for ch in streamed for d in (ch.choices[0].delta.tool_calls or [])]
    assert deltas[0].function.name == "lookup"


def vector(embedding: list[float] | str) -> list[float]:
    """An embedding as floats: asked for as base64, the client hands over the server's text."""
    if isinstance(embedding, str):
        raw = base64.b64decode(embedding)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return embedding


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings(server, encoding):
    c = client(server)
    one = c.embeddings.create(model="fake-embedder", input="hello", encoding_format=encoding)
    batch = c.embeddings.create(model="fake-embedder", input=["a", "hello", "b"], encoding_format=encoding)
    vectors = [vector(d.embedding) for d in batch.data]
    assert len(vector(one.data[0].embedding)) == server.dimensions
    assert [d.index for d in batch.data] == [0, 1, 2]
    assert vectors[1] == pytest.approx(vector(one.data[0].embedding), abs=1e-6)
    assert vectors[1] == pytest.approx(server.embedding("hello"), abs=1e-6)
    assert vectors[0] != vectors[2]
    assert batch.usage.prompt_tokens == 3


def test_default_client_embeddings_round_trip(server):
    # the client asks for base64 unless told otherwise, and decodes it: the vector is the server's
    vector = client(server).embeddings.create(model="fake-embedder", input="hello").data[0].embedding
    assert vector == pytest.approx(server.embedding("hello"), abs=1e-6)


def test_models(server):
    assert [m.id for m in client(server).models.list()] == ["fake-model", "fake-embedder"]


def test_wrong_key_is_401_with_the_message():
    with FakeLLMServer(api_key="sk-right") as server:
        bad = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0, timeout=T)
        with pytest.raises(openai.AuthenticationError, match="Incorrect API key"):
            bad.models.list()
        assert [m.id for m in client(server).models.list()]


@pytest.mark.parametrize(("status", "error"), [(400, openai.BadRequestError), (404, openai.NotFoundError),
                                               (500, openai.InternalServerError)])
def test_error_statuses(server, status, error):
    server.faults.append(Fault(status=status, message=f"boom {status}"))
    with pytest.raises(error, match=f"boom {status}") as caught:
        client(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["code"] == str(status)


def test_rate_limit_then_retry_after_honoured(server):
    server.faults.append(Fault(status=429, retry_after=0.2))
    with pytest.raises(openai.RateLimitError):
        client(server).models.list()
    server.faults.append(Fault(status=429, retry_after=0.2))
    assert [m.id for m in client(server, max_retries=1).models.list()]
    assert len(server.requests) == 3
    first, second = server.requests[1:]
    assert first.path == second.path == "/v1/models"


def test_stream_cut_midway(server):
    server.faults.append(Fault(disconnect_after=3))
    stream = client(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                    stream=True)
    got = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            got.append(chunk.choices[0].delta.content)
    assert got == ["", "one", " two"]


def test_malformed_chunk(server):
    server.faults.append(Fault(malformed_at=2))
    stream = client(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                    stream=True)
    with pytest.raises(json.JSONDecodeError):
        list(stream)


def test_read_timeout(server):
    server.faults.append(Fault(delay=1.0))
    with pytest.raises(openai.APITimeoutError):
        openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=0.2).models.list()


def test_chunk_delay_spaces_the_chunks():
    import time

    with FakeLLMServer(reply="a b c", chunk_delay=0.05) as server:
        stream = client(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                        stream=True)
        arrivals = [time.monotonic() for _ in stream]
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(arrivals) - 1) * 0.9
