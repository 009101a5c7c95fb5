"""operonx.llm over HTTPS: the provider's certificate is checked against the built-in roots and the platform's
trust store, which ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` replace (as for curl, pip and the ``openai`` client), so
a provider behind a private certificate authority (a corporate proxy, a local vLLM with its own certificate)
is reached by trusting that authority; an unknown one is refused with an error that says so."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import textwrap

import pytest

from operonx.llm.testing import FakeLLMServer

trustme = pytest.importorskip("trustme")

T = 60

SCRIPT = textwrap.dedent("""
    import pathlib, sys, tempfile
    from operonx import END, START, GraphOp, Operon
    from operonx.errors import OpError
    from operonx.llm import chat

    d = pathlib.Path(tempfile.mkdtemp())
    (d / "r.yaml").write_text(f"llm:\\n  base_url: {sys.argv[1]}\\n  api_key: sk-tls\\n  model: m\\n")
    with GraphOp(name="g") as g:
        answer = chat(messages="hi")
        tokens = chat(messages="hi", stream=True)
        START >> [answer, tokens] >> END
    try:
        out = Operon(g, resources=d / "r.yaml").run_sync({})
        print("ok", out["content"], "".join(out["delta"]))
    except OpError as e:
        print("error", e.__cause__.kind, e.__cause__)
""")


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    ca = trustme.CA()
    pem = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return ca, pem


@pytest.fixture
def https_server(authority):
    ca, _ = authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with FakeLLMServer(reply="over tls", tls=context) as server:
        yield server


def run(base_url: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    out = subprocess.run([sys.executable, "-c", SCRIPT, base_url], env={**clean, **env}, capture_output=True,
                         text=True, timeout=T)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_a_provider_signed_by_a_trusted_authority(https_server, authority):
    assert https_server.base_url.startswith("https://")
    assert run(https_server.base_url, SSL_CERT_FILE=str(authority[1])) == "ok over tls over tls"
    assert https_server.requests[0].headers["authorization"] == "Bearer sk-tls"


def test_an_unknown_authority_is_refused_saying_why(https_server, tmp_path):
    empty = tmp_path / "certs"
    empty.mkdir()
    got = run(https_server.base_url, SSL_CERT_DIR=str(empty), SSL_CERT_FILE=str(tmp_path / "none.pem"))
    assert got.startswith("error connect") and "certificate" in got, got
    assert "sk-tls" not in got
    assert not https_server.requests
