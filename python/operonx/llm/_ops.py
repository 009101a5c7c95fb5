"""The op functions behind :func:`operonx.llm.chat` and :func:`operonx.llm.embed`: thin coroutines that hand
the call to Rust (``_core.LlmBridge``) and await its result on the caller's loop."""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any, AsyncIterator

from operonx._core import LlmBridge, SpanNote
from operonx.errors import OperonError
from operonx.op import op
from operonx.resources import ResourceHub

#: the output key of an op's span attributes (the GenAI ones of a provider call, made in Rust)
SPAN_KEY = "$span"

#: one bridge per event loop: the loop watches its socket and drains the results Rust queued
_bridges: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LlmBridge] = weakref.WeakKeyDictionary()

#: chat parameters passed on to the provider as given (``None``: left out)
CHAT_PARAMS = (
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "tools", "tool_choice",
    "parallel_tool_calls", "response_format", "presence_penalty", "frequency_penalty", "logit_bias", "user",
)


class ProviderError(OperonError):
    """A provider call failed for good (after its retries): ``kind`` is ``status`` (the provider answered
    ``status`` with its message), ``connect``, ``timeout``, ``transport``, ``malformed``, ``cut`` (a stream
    ended after part of it was delivered) or ``config``. The message never contains the API key."""

    def __init__(self, message: str, kind: str, status: int | None, retryable: bool,
                 retry_after: float | None) -> None:
        super().__init__(message)
        self.kind, self.status, self.retryable, self.retry_after = kind, status, retryable, retry_after


def _bridge(loop: asyncio.AbstractEventLoop) -> LlmBridge:
    bridge = _bridges.get(loop)
    if bridge is None:
        bridge = LlmBridge()
        loop.add_reader(bridge.fileno(), bridge.drain)
        _bridges[loop] = bridge
    return bridge


def _settings(hub: ResourceHub, resource: str) -> str:
    """The JSON of resource entry ``resource`` of ``hub``: its provider settings."""
    entry = hub.get(resource)
    if not isinstance(entry, dict):
        raise ProviderError(f"resource {resource!r} is not a mapping of provider settings", "config", None, False,
                            None)
    return json.dumps(entry)


def _value(result: dict[str, Any]) -> Any:
    """The value of a result from Rust, or its error raised."""
    if result["ok"]:
        return result["value"]
    e = result["error"]
    raise ProviderError(e["message"], e["kind"], e["status"], e["retryable"], e["retry_after"])


def _request(messages: Any, model: str | None, params: dict[str, Any]) -> str:
    request = {"messages": messages, "model": model}
    request.update((k, v) for k, v in params.items() if v is not None)
    return json.dumps(request)


async def _await(bridge: LlmBridge, call: int, future: asyncio.Future[Any]) -> Any:
    try:
        return await future
    except asyncio.CancelledError:
        bridge.cancel(call)  # the HTTP request is dropped with its task
        raise


@op(bound="io")
async def chat(
    messages: Any, hub: ResourceHub, resource: str = "llm", model: str | None = None, retries: int = 0,
    timeout: float | None = None,
    temperature: Any = None, top_p: Any = None, max_tokens: Any = None, max_completion_tokens: Any = None,
    stop: Any = None, seed: Any = None, tools: Any = None, tool_choice: Any = None, parallel_tool_calls: Any = None,
    response_format: Any = None, presence_penalty: Any = None, frequency_penalty: Any = None,
    logit_bias: Any = None, user: Any = None,
) -> dict[str, Any]:
    """One chat completion: outputs ``content``, ``message``, ``tool_calls``, ``finish_reason``, ``usage``,
    ``model``."""
    params = {k: v for k, v in locals().items() if k in CHAT_PARAMS}
    loop = asyncio.get_running_loop()
    bridge = _bridge(loop)
    call, future = bridge.chat(loop, resource, _settings(hub, resource), _request(messages, model, params), retries,
                               timeout, False)
    return _value(await _await(bridge, call, future))


@op(bound="io")
async def chat_stream(
    messages: Any, hub: ResourceHub, resource: str = "llm", model: str | None = None, retries: int = 0,
    timeout: float | None = None,
    temperature: Any = None, top_p: Any = None, max_tokens: Any = None, max_completion_tokens: Any = None,
    stop: Any = None, seed: Any = None, tools: Any = None, tool_choice: Any = None, parallel_tool_calls: Any = None,
    response_format: Any = None, presence_penalty: Any = None, frequency_penalty: Any = None,
    logit_bias: Any = None, user: Any = None,
) -> AsyncIterator[dict[str, Any] | SpanNote]:
    """A streamed chat completion: one ``{"delta": text}`` item per chunk of the message's text (then a note of
    the call's GenAI attributes for its span)."""
    params = {k: v for k, v in locals().items() if k in CHAT_PARAMS}
    loop = asyncio.get_running_loop()
    bridge = _bridge(loop)
    call, _ = bridge.chat(loop, resource, _settings(hub, resource), _request(messages, model, params), retries, timeout,
                          True)
    try:
        while True:
            item = await bridge.next(loop, call)
            if item.__class__ is str:  # the next piece of the message's text
                yield {"delta": item}
                continue
            if item is None:
                return
            value = _value(item)
            if "done" in value and SPAN_KEY in value["done"]:
                yield SpanNote(value["done"][SPAN_KEY])  # the span's usage and model: not an item
    finally:
        bridge.cancel(call)


@op(bound="io")
async def embed(
    input: Any, hub: ResourceHub, resource: str = "llm",  # noqa: A002 - the API's name
    model: str | None = None, retries: int = 0, timeout: float | None = None,
) -> dict[str, Any]:
    """Embeddings: ``embedding`` for one text, ``embeddings`` (in input order) for a list of texts."""
    one = isinstance(input, str)
    texts = [input] if one else list(input) if isinstance(input, (list, tuple)) else None
    if not texts or not all(isinstance(t, str) for t in texts):
        raise TypeError(f"embed: 'input' must be a text or a non-empty list of texts, not {input!r:.80}")
    loop = asyncio.get_running_loop()
    bridge = _bridge(loop)
    call, future = bridge.embed(loop, resource, _settings(hub, resource), texts, model, retries, timeout)
    got = _value(await _await(bridge, call, future))
    vectors = {"embedding": got["vectors"][0]} if one else {"embeddings": got["vectors"]}
    return {**vectors, "model": got["model"], "usage": got["usage"], SPAN_KEY: got[SPAN_KEY]}
