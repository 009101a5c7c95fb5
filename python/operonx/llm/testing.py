"""A fake OpenAI-compatible provider on 127.0.0.1, for testing graphs that call a language model without one.

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

Run as a program (`python -m operonx.llm.testing`, or this file by its path: it needs only the standard
library), it serves until its standard input closes and prints its
base URL as its first line; tests in other languages script it over HTTP: `POST /_fake/config` with
`{"faults": [{"status": 429, "retry_after": 0.1}, ...], "reply": ..., "chunks": ..., "chunk_delay": ...}`
sets the knobs (and clears the recorded requests), `GET /_fake/requests` returns them.
"""

from __future__ import annotations

import hashlib
import random
import ssl
import struct
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

try:
    from operonx.llm._fake import Fault, Request, Handler, Server
except ImportError:  # run by its path, where operonx is not installed: the module beside it
    from _fake import Fault, Request, Handler, Server  # type: ignore[no-redef,import-not-found]  # noqa: PLC2701

__all__ = ["FakeLLMServer", "Fault", "Request"]


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
    timestamps: bool = False  # stream chunks carry their send time (time.monotonic_ns()) as their text
    tls: ssl.SSLContext | None = None  # when set, serves HTTPS with this server-side context

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(self.fault_seed)
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        """Starts serving on a free port of 127.0.0.1."""
        server = self

        class Bound(Handler):
            fake = server

        self._httpd = Server(("127.0.0.1", 0), Bound)
        if self.tls is not None:
            self._httpd.socket = self.tls.wrap_socket(self._httpd.socket, server_side=True)
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
        """The provider's base URL, `http://127.0.0.1:<port>/v1` (`https://` with `tls`)."""
        assert self._httpd is not None, "the server is not started"
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # -- what a request gets ---------------------------------------------------------------------------

    def next_fault(self, request: Request) -> Fault | None:
        with self.lock:
            self.requests.append(request)
            if self.faults:
                return self.faults.pop(0)
            if self.fault_rate and self.rng.random() < self.fault_rate:
                return self.random_fault()
            return None

    def random_fault(self) -> Fault:
        """One of: a 429 with a short `Retry-After`, a 500, a delay of 0.5 s (a client waiting less times
        out), a stream cut after a few chunks."""
        kind = self.rng.randrange(4)
        if kind == 0:
            return Fault(status=429, retry_after=0.01)
        if kind == 1:
            return Fault(status=500)
        if kind == 2:
            return Fault(delay=0.5)
        return Fault(disconnect_after=self.rng.randrange(1, 4))

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


def main() -> None:
    """Serves until standard input closes; the first line printed is the base URL."""
    with FakeLLMServer() as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
