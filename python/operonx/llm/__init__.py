"""LLM provider ops: chat and embeddings against any OpenAI-compatible API (vLLM, llama.cpp's server, Ollama's
``/v1``, hosted providers), usable inside ``with GraphOp(...)`` like any op::

    from operonx.llm import chat

    with GraphOp(name="g") as g:
        answer = chat(messages=PARENT["messages"], resource="llm", temperature=0)
        START >> answer >> END

The HTTP calls, the server-sent events and the retries run in Rust (crate ``operonx-llm``) on a runtime of the
extension; results reach the event loop in batches. The provider's settings come from resource ``resource``
of the resource hub (``resources.yaml``: ``llm: {provider: openai_compatible, base_url: ${LLM_BASE_URL},
api_key: ${LLM_API_KEY}, model: ...}``), never from code.
"""

from __future__ import annotations

from typing import Any

from operonx._authoring.naming import assigned_name, caller_frame
from operonx.errors import GraphTypeError
from operonx.llm import _ops
from operonx.llm._ops import CHAT_PARAMS, ProviderError

__all__ = ["CHAT_PARAMS", "ProviderError", "chat", "embed"]


def _node(fn: Any, frame: Any, name: str | None, kwargs: dict[str, Any]) -> Any:
    """``fn``'s node, named ``name``, else after the variable the caller assigns it to."""
    name = name or assigned_name(frame)
    return fn(name=name, **kwargs) if name else fn(**kwargs)


def chat(
    *, messages: Any, resource: str = "llm", model: str | None = None, stream: bool = False, retries: int = 0,
    timeout: float | None = None, name: str | None = None, **params: Any,
) -> Any:
    """A chat completion node. Outputs ``content``, ``message``, ``tool_calls``, ``finish_reason``, ``usage``
    and ``model``; with ``stream=True`` it is a generator node yielding ``{"delta": text}`` per chunk (ops
    downstream run per chunk, or once on the whole list with ``.collect()``).

    ``params`` are chat parameters (:data:`CHAT_PARAMS`: ``temperature``, ``max_tokens``, ``stop``, ``seed``,
    ``tools``, ``response_format``, ...), values or refs. ``retries`` more attempts follow a 429 (after its
    ``Retry-After``), a 5xx, a timeout or a cut connection, with exponential backoff and jitter; 400, 401 and
    404 fail at once. ``timeout`` bounds the whole call, in seconds. A failure raises :class:`ProviderError`
    (the run's ``OpError`` names the op)."""
    unknown = sorted(set(params) - set(CHAT_PARAMS))
    if unknown:
        raise GraphTypeError(f"chat(): unknown parameter(s) {unknown}; chat parameters are {list(CHAT_PARAMS)}")
    fn = _ops.chat_stream if stream else _ops.chat
    kwargs = {"messages": messages, "resource": resource, "model": model, "retries": retries, "timeout": timeout,
              **params}
    return _node(fn, caller_frame(1), name, kwargs)


def embed(
    *, input: Any, resource: str = "llm", model: str | None = None, retries: int = 0,  # noqa: A002 - the API's name
    timeout: float | None = None, name: str | None = None,
) -> Any:
    """An embeddings node: ``embedding`` (a list of floats) for one text, ``embeddings`` (one vector per text,
    in input order) for a list; also ``model`` and ``usage``. Retries and timeout as for :func:`chat`."""
    kwargs = {"input": input, "resource": resource, "model": model, "retries": retries, "timeout": timeout}
    return _node(_ops.embed, caller_frame(1), name, kwargs)
