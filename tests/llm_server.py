"""A fake OpenAI-compatible provider on 127.0.0.1, for the tests of the LLM ops.

It speaks `/v1/chat/completions` (a JSON reply, or server-sent events ending in `data: [DONE]`),
`/v1/embeddings` (float or base64 vectors), `/v1/models` and the provider error shape
`{"error": {"message", "type", "code", "param"}}`. Faults are queued per request: each request takes the
next `Fault` of `server.faults` (none left: a normal reply), so a test scripts exactly what its retries meet:

    with FakeLLMServer(reply="one two three") as server:
        server.faults += [Fault(status=429, retry_after=0.05), Fault(disconnect_after=2)]
        ...  # the first request gets a 429, the second a stream cut after two chunks, the third a reply

Replies are deterministic: the content is `reply` (cut at a `stop` sequence or after `max_tokens` words),
streamed one word per chunk unless `chunks` says how many chunks; an embedding is a pure function of its
text. Every request is kept in `server.requests` for the test to inspect.

Run as a program (`python tests/llm_server.py`), it serves until its standard input closes and prints its
base URL as its first line; tests in other languages script it over HTTP: `POST /_fake/config` with
`{"faults": [{"status": 429, "retry_after": 0.1}, ...], "reply": ..., "chunks": ..., "chunk_delay": ...}`
sets the knobs (and clears the recorded requests), `GET /_fake/requests` returns them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CREATED = 1_700_000_000


@dataclass
class Fault:
    """What one request meets instead of (or on the way to) a normal reply."""

    status: int | None = None  # answer with this HTTP status and the error shape
    message: str = "the fake provider refused the request"
    retry_after: float | None = None  # seconds, sent as `Retry-After` (with a 429 or 503)
    delay: float = 0.0  # seconds before the response starts (a read timeout on the client)
    disconnect_after: int | None = None  # chunks sent before the connection is cut (streams)
    malformed_at: int | None = None  # index of the chunk sent as invalid JSON (streams)
    reply: str | None = None  # this request's reply instead of the server's


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeLLMServer:
    """The fake provider; `with FakeLLMServer() as server:` serves on `server.base_url` until the block ends."""

    reply: str = "Hello from the fake model."
    chunks: int | None = None  # number of content chunks of a stream (default: one per word)
    chunk_delay: float = 0.0  # seconds between two chunks of a stream
    models: tuple[str, ...] = ("fake-model", "fake-embedder")
    dimensions: int = 8  # length of an embedding
    api_key: str | None = None  # when set, any other bearer token gets a 401
    tool_call: dict[str, Any] | None = None  # when set and the request has tools: call it instead of replying
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    fault_rate: float = 0.0  # with no fault queued, the share of requests that meet a random one
    fault_seed: int = 0
    disconnects: int = 0  # streams whose client went away before the end

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.fault_seed)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        """Starts serving on a free port of 127.0.0.1."""
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and closes the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The provider's base URL, `http://127.0.0.1:<port>/v1`."""
        assert self._httpd is not None, "the server is not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # -- what a request gets ---------------------------------------------------------------------------

    def _next_fault(self, request: Request) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            if self.faults:
                return self.faults.pop(0)
            if self.fault_rate and self._random.random() < self.fault_rate:
                return self.random_fault()
            return None

    def random_fault(self) -> Fault:
        """One of: a 429 with a short `Retry-After`, a 500, a delay of 0.5 s (a client waiting less times
        out), a stream cut after a few chunks."""
        kind = self._random.randrange(4)
        if kind == 0:
            return Fault(status=429, retry_after=0.01)
        if kind == 1:
            return Fault(status=500)
        if kind == 2:
            return Fault(delay=0.5)
        return Fault(disconnect_after=self._random.randrange(1, 4))

    def content(self, body: dict[str, Any], reply: str | None = None) -> tuple[str, str]:
        """The reply's text and finish reason for a chat request `body`."""
        text, finish = (reply if reply is not None else self.reply), "stop"
        stops = body.get("stop") or []
        for stop in [stops] if isinstance(stops, str) else stops:
            if stop in text:
                text = text[: text.index(stop)]
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        words = text.split(" ")
        if limit is not None and len(words) > limit:
            text, finish = " ".join(words[:limit]), "length"
        return text, finish

    def pieces(self, text: str) -> list[str]:
        """`text` cut into the content chunks of a stream (joined, they give `text` back)."""
        if self.chunks is None:
            words = text.split(" ")
            return [w if i == 0 else " " + w for i, w in enumerate(words)]
        n = max(1, self.chunks)
        size = -(-len(text) // n) or 1
        parts = [text[i : i + size] for i in range(0, len(text), size)]
        return parts + [""] * (n - len(parts))

    def embedding(self, text: str) -> list[float]:
        """The vector of `text`: `dimensions` floats in [-1, 1), a pure function of the text."""
        digest = hashlib.sha256(text.encode()).digest()
        while len(digest) < 2 * self.dimensions:
            digest += hashlib.sha256(digest).digest()
        return [struct.unpack_from(">h", digest, 2 * i)[0] / 32768 for i in range(self.dimensions)]


def tokens(text: str) -> int:
    """The fake tokenizer: one token per word."""
    return len(text.split())


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(tokens(m.get("content") or "") for m in messages if isinstance(m.get("content"), str))


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test, a cancelled stream) is not a server error."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeLLMServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: the tests read `server.requests`

    # -- plumbing --------------------------------------------------------------------------------------

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        kinds = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                 429: "rate_limit_error"}
        error = {"message": message, "type": kinds.get(status, "server_error"), "code": str(status), "param": None}
        self._send_json(status, {"error": error}, headers)

    def _request(self) -> Request | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError as e:
            self._error(400, f"the body is not JSON: {e}")
            return None
        return Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)

    def _fault_answered(self, request: Request, fault: Fault | None) -> bool:
        """Sends the fault's answer, if it replaces the reply; True when it did."""
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        key = self.fake.api_key
        if key is not None and request.headers.get("authorization") != f"Bearer {key}":
            self._error(401, "Incorrect API key provided.")
            return True
        if fault is not None and fault.status is not None:
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            self._error(fault.status, fault.message, headers)
            return True
        return False

    # -- routes ----------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        request = self._request()
        if request is not None and self.path == "/_fake/disconnects":
            self._send_json(200, {"disconnects": self.fake.disconnects})
            return
        if request is not None and self.path == "/_fake/requests":
            with self.fake._lock:
                seen = [vars(r) for r in self.fake.requests]
            self._send_json(200, seen)
            return
        if request is None or self._fault_answered(request, self.fake._next_fault(request)):
            return
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": CREATED, "owned_by": "fake"} for m in self.fake.models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        request = self._request()
        if request is None:
            return
        if self.path == "/_fake/config":
            self._configure(request.body if isinstance(request.body, dict) else {})
            return
        fault = self.fake._next_fault(request)
        if self._fault_answered(request, fault):
            return
        body = request.body if isinstance(request.body, dict) else {}
        if fault is not None and fault.disconnect_after is not None and not body.get("stream"):
            self._cut_reply()
            return
        if self.path == "/v1/chat/completions":
            self._chat(body, fault)
        elif self.path == "/v1/embeddings":
            self._embeddings(body)
        else:
            self._error(404, f"no route {self.path}")

    def _configure(self, body: dict[str, Any]) -> None:
        knobs = {"reply", "chunks", "chunk_delay", "dimensions", "api_key", "tool_call", "fault_rate"}
        unknown = set(body) - knobs - {"faults", "fault_seed"}
        if unknown:
            self._error(400, f"unknown knobs {sorted(unknown)}")
            return
        with self.fake._lock:
            self.fake.faults = [Fault(**f) for f in body.get("faults", [])]
            self.fake.requests = []
            for knob in knobs & set(body):
                setattr(self.fake, knob, body[knob])
            if "fault_seed" in body:
                self.fake._random = random.Random(body["fault_seed"])
        self._send_json(200, {"ok": True})

    def _chat(self, body: dict[str, Any], fault: Fault | None) -> None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            self._error(400, "'messages' must be a non-empty list")
            return
        model = body.get("model") or self.fake.models[0]
        usage = {"prompt_tokens": prompt_tokens(messages)}
        call = self.fake.tool_call if body.get("tools") else None
        text, finish = ("", "tool_calls") if call else self.fake.content(body, fault.reply if fault else None)
        usage["completion_tokens"] = tokens(text)
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        calls = None
        if call:
            args = json.dumps(call.get("arguments", {}))
            calls = [{"id": "call_0", "type": "function", "function": {"name": call["name"], "arguments": args}}]
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(model, text, finish, calls, usage if include_usage else None, fault)
            return
        message = {"role": "assistant", "content": None if call else text}
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
        payload = {"id": "chatcmpl-fake", "object": "chat.completion", "created": CREATED, "model": model,
                   "choices": [choice], "usage": usage}
        self._send_json(200, payload)

    def _stream(self, model: str, text: str, finish: str, calls: list[dict[str, Any]] | None,
                usage: dict[str, int] | None, fault: Fault | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED, "model": model,
                    "choices": [choice]}

        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"tool_calls": [dict(c, index=i)]} for i, c in enumerate(calls or [])]
        deltas += [{"content": piece} for piece in ([] if calls else self.fake.pieces(text))]
        events: list[Any] = [chunk(d) for d in deltas] + [chunk({}, finish)]
        if usage is not None:
            events.append({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED,
                           "model": model, "choices": [], "usage": usage})
        for i, event in enumerate(events):
            if fault is not None and fault.disconnect_after is not None and i >= fault.disconnect_after:
                self._cut()
                return
            data = "{not json" if fault is not None and fault.malformed_at == i else json.dumps(event)
            try:
                self._write_chunk(f"data: {data}\n\n")
            except OSError:  # the client went away
                with self.fake._lock:
                    self.fake.disconnects += 1
                self.close_connection = True
                return
            if self.fake.chunk_delay and i + 1 < len(events):
                time.sleep(self.fake.chunk_delay)
        self._write_chunk("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _cut_reply(self) -> None:
        """A JSON reply cut after its first bytes."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b'{"id": "chatcmpl-')
        self._cut()

    def _cut(self) -> None:
        """Ends the connection mid-body, as a provider that dies would."""
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            self._error(400, "'input' must be a string or a non-empty list of strings")
            return
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(texts):
            vector: Any = self.fake.embedding(text)
            if as_base64:
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vector})
        used = sum(tokens(t) for t in texts)
        payload = {"object": "list", "data": data, "model": body.get("model") or self.fake.models[-1],
                   "usage": {"prompt_tokens": used, "total_tokens": used}}
        self._send_json(200, payload)


def main() -> None:
    """Serves until standard input closes; the first line printed is the base URL."""
    with FakeLLMServer() as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
