"""The Rust side of operonx.llm (``_core.LlmBridge``) against the fake provider: results reach the loop
through one socket, batched; cancelling drops the request; nothing is left in flight."""

from __future__ import annotations

import asyncio
import json

import pytest

from operonx.llm.testing import Fault, FakeLLMServer
from operonx._core import LlmBridge

T = 10


def settings(server: FakeLLMServer, **extra) -> str:
    return json.dumps({"provider": "openai_compatible", "base_url": server.base_url, "api_key": "sk-test",
                       "model": "fake-model", **extra})


def chat_request(text: str = "hi", **params) -> str:
    return json.dumps({"messages": [{"role": "user", "content": text}], **params})


@pytest.fixture
async def bridge():
    loop = asyncio.get_running_loop()
    b = LlmBridge()
    loop.add_reader(b.fileno(), b.drain)
    yield b
    loop.remove_reader(b.fileno())
    assert b.pending() == 0


async def test_many_calls_complete_in_batches(bridge):
    loop = asyncio.get_running_loop()
    with FakeLLMServer(reply="a b") as server:
        calls = [bridge.chat(loop, "llm", settings(server), chat_request(str(i)), 0, None, False) for i in range(50)]
        results = await asyncio.wait_for(asyncio.gather(*(f for _, f in calls)), T)
    assert all(r["ok"] and r["value"]["content"] == "a b" for r in results)
    assert {r["value"]["usage"]["prompt_tokens"] for r in results} == {1}


async def test_errors_come_back_as_values(bridge):
    loop = asyncio.get_running_loop()
    with FakeLLMServer() as server:
        server.faults.append(Fault(status=404, message="no such model"))
        _, future = bridge.chat(loop, "llm", settings(server), chat_request(), 3, None, False)
        result = await asyncio.wait_for(future, T)
    assert not result["ok"]
    assert result["error"]["status"] == 404 and "no such model" in result["error"]["message"]
    assert result["error"]["retryable"] is False
    assert "sk-test" not in json.dumps(result)


async def test_stream_items_then_end(bridge):
    loop = asyncio.get_running_loop()
    with FakeLLMServer(reply="x y z", chunk_delay=0.01) as server:
        call, none = bridge.chat(loop, "llm", settings(server), chat_request(), 0, None, True)
        assert none is None
        items = []
        while (item := await asyncio.wait_for(bridge.next(loop, call), T)) is not None:
            items.append(item)
        bridge.cancel(call)
    assert items[:-1] == ["x", " y", " z"]  # the pieces of text, then the answer
    assert items[-1]["ok"] and items[-1]["value"]["done"]["content"] == "x y z"


async def test_cancel_drops_the_request(bridge):
    loop = asyncio.get_running_loop()
    with FakeLLMServer() as server:
        server.faults.append(Fault(delay=3))
        call, future = bridge.chat(loop, "llm", settings(server), chat_request(), 0, None, False)
        await asyncio.sleep(0.1)
        bridge.cancel(call)
        assert bridge.pending() == 0
        await asyncio.sleep(0.1)
        assert not future.done()  # nobody resolves a cancelled call


async def test_timeout(bridge):
    loop = asyncio.get_running_loop()
    with FakeLLMServer() as server:
        server.faults.append(Fault(delay=2))
        _, future = bridge.chat(loop, "llm", settings(server), chat_request(), 0, 0.2, False)
        result = await asyncio.wait_for(future, T)
    assert result["error"]["kind"] == "timeout"


async def test_embed(bridge):
    loop = asyncio.get_running_loop()
    with FakeLLMServer(dimensions=3) as server:
        _, future = bridge.embed(loop, "llm", settings(server), ["a", "b"], None, 0, None)
        result = await asyncio.wait_for(future, T)
    assert [len(v) for v in result["value"]["vectors"]] == [3, 3]
    assert result["value"]["vectors"][0] == pytest.approx(server.embedding("a"), abs=1e-6)


def test_bad_settings_are_refused_naming_the_key():
    b = LlmBridge()
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="'tmeout'"):
            b.chat(loop, "llm", json.dumps({"base_url": "http://x/v1", "tmeout": 1}), chat_request(), 0, None, False)
        with pytest.raises(ValueError, match="'messages'"):
            b.chat(loop, "llm", json.dumps({"base_url": "http://x/v1"}), json.dumps({}), 0, None, False)
    finally:
        loop.close()
