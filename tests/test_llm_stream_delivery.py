"""A streamed chat's chunks go from the drain that receives them straight into the run (the generator's task
stays parked): nothing is lost or repeated when the consumer falls behind, a run that fails on a chunk drops
the request, and the ops a chunk starts see the context of the run that started the stream."""

from __future__ import annotations

import asyncio
import contextvars
import os

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import OpError
from operonx.llm import chat
from operonx.llm.testing import FakeLLMServer

T = 20


@pytest.fixture
def hub_file(tmp_path):
    def write(server: FakeLLMServer):
        (tmp_path / "resources.yaml").write_text(
            f"llm:\n  base_url: {server.base_url}\n  api_key: sk-test\n  model: fake-model\n  timeout: 10\n"
        )
        return tmp_path / "resources.yaml"

    yield write
    os.environ.pop("LLM_API_KEY", None)


async def test_a_consumer_far_behind_gets_every_chunk_once_in_order(hub_file):
    words = [f"w{i}" for i in range(1500)]  # more than the 1024 frames buffered before the stream waits
    with FakeLLMServer(reply=" ".join(words)) as server:
        with GraphOp(name="g") as g:
            t = chat(messages="hi", stream=True)
            START >> t >> END
        handle = Operon(g, resources=hub_file(server)).start({}, retain_frames=False)
        frames = aiter(handle)
        first = await asyncio.wait_for(frames.__anext__(), T)
        await asyncio.sleep(0.5)  # the rest arrives meanwhile: the buffer fills and the stream waits
        rest = await asyncio.wait_for(_all(frames), T)
    deltas = [first.data["delta"]] + [f.data["delta"] for f in rest]
    assert [d.strip() for d in deltas] == words


async def _all(frames):
    return [f async for f in frames]


async def test_a_run_failing_on_a_chunk_drops_the_request(hub_file):
    @op
    def picky(delta):
        if delta.strip() == "w3":
            raise ValueError("no w3")
        return {"ok": delta}

    with FakeLLMServer(reply=" ".join(f"w{i}" for i in range(50)), chunk_delay=0.01) as server:
        with GraphOp(name="g") as g:
            t = chat(messages="hi", stream=True)
            p = picky(delta=t["delta"])
            START >> t >> p >> END
        with pytest.raises(OpError, match="no w3"):
            await asyncio.wait_for(Operon(g, resources=hub_file(server)).run({}), T)
        for _ in range(200):
            if server.disconnects:
                break
            await asyncio.sleep(0.02)
        assert server.disconnects == 1


REQUEST = contextvars.ContextVar("request", default=None)


async def test_ops_a_chunk_starts_see_their_runs_context(hub_file):
    @op
    async def tag(delta):
        await asyncio.sleep(0)
        return {"seen": REQUEST.get()}

    with FakeLLMServer(reply="a b c", chunk_delay=0.005) as server:
        with GraphOp(name="g") as g:
            t = chat(messages=PARENT["q"], stream=True)
            seen = tag(delta=t["delta"])
            START >> t >> seen >> END
        engine = Operon(g, resources=hub_file(server))
        for request in ("first", "second"):  # the loop's bridge is made by the first run
            REQUEST.set(request)
            frames = [f async for f in engine.start({"q": request}) if f.op == "seen"]
            assert [f.data["seen"] for f in frames] == [request] * 3
