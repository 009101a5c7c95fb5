"""The HTTP side of :class:`operonx.llm.testing.FakeLLMServer`: the faults a request can meet, and the request
handler that speaks the provider protocol."""

from __future__ import annotations

import base64
import json
import random
import socket
import struct
import sys
import time
from dataclasses import dataclass
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


def tokens(text: str) -> int:
    """The fake tokenizer: one token per word."""
    return len(text.split())


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(tokens(m.get("content") or "") for m in messages if isinstance(m.get("content"), str))


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # a thousand streams may connect at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test, a cancelled stream) is not a server error."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # each reply is written in pieces: no 40 ms delayed-ACK stalls
    protocol_version = "HTTP/1.1"
    fake: Any  # the FakeLLMServer it serves

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
            with self.fake.lock:
                seen = [vars(r) for r in self.fake.requests]
            self._send_json(200, seen)
            return
        if request is None or self._fault_answered(request, self.fake.next_fault(request)):
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
        fault = self.fake.next_fault(request)
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
        knobs = {"reply", "chunks", "chunk_delay", "dimensions", "api_key", "tool_call", "fault_rate", "timestamps"}
        unknown = set(body) - knobs - {"faults", "fault_seed"}
        if unknown:
            self._error(400, f"unknown knobs {sorted(unknown)}")
            return
        with self.fake.lock:
            self.fake.faults = [Fault(**f) for f in body.get("faults", [])]
            self.fake.requests = []
            for knob in knobs & set(body):
                setattr(self.fake, knob, body[knob])
            if "fault_seed" in body:
                self.fake.rng = random.Random(body["fault_seed"])
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
        message: dict[str, Any] = {"role": "assistant", "content": None if call else text}
        if calls:
            message["tool_calls"] = calls
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
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

        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"tool_calls": [dict(c, index=i)]} for i, c in enumerate(calls or [])]
        pieces = [] if calls else self.fake.pieces(text)
        deltas += [{"content": "\0ts" if self.fake.timestamps else p} for p in pieces]
        events: list[Any] = [chunk(d) for d in deltas] + [chunk({}, finish)]
        if usage is not None:
            events.append({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED,
                           "model": model, "choices": [], "usage": usage})
        for i, event in enumerate(events):
            if fault is not None and fault.disconnect_after is not None and i >= fault.disconnect_after:
                self._cut()
                return
            data = "{not json" if fault is not None and fault.malformed_at == i else json.dumps(event)
            if self.fake.timestamps:  # the send time, for latency benchmarks
                data = data.replace("\\u0000ts", str(time.monotonic_ns()))
            try:
                self._write_chunk(f"data: {data}\n\n")
            except OSError:  # the client went away
                with self.fake.lock:
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


