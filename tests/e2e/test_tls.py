"""HTTPS upstreams: TLS via OpenSSL with certificate and host-name verification, and a private CA."""
import asyncio
import ssl
import subprocess
import threading

import openai
import pytest

from conftest import Fake, _start


def make_certs(d):
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=d)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Tandem Test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "server.pem", "-days", "2", "-extfile", "san.cnf")


class TlsForwarder:
    """A TLS-terminating TCP forwarder in front of a plain-HTTP fake: a real HTTPS server for the client."""

    def __init__(self, cert, key, target_port):
        self.target_port = target_port
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(5)

    async def _pipe(self, r, w):
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            w.close()

    async def _handle(self, r, w):
        ur, uw = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(r, uw), self._pipe(ur, w))

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ctx))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()


@pytest.fixture
def tls_stack(request, tmp_path):
    make_certs(tmp_path)
    fake = Fake(request.config.getoption("--fake-bin"), "secure", "--require-key", "sk-tls")
    fwd = TlsForwarder(str(tmp_path / "server.pem"), str(tmp_path / "server.key"), fake.port)
    cfg = tmp_path / "tandem.yaml"
    cfg.write_text(f"""
server: {{listen: "127.0.0.1:0", workers: 1}}
ledger: {{path: {tmp_path}/ledger.db}}
models:
  - name: trusted
    base_url: https://localhost:{fwd.port}/v1
    tls_ca_file: ca.pem
    api_key_env: TLS_TEST_KEY
    tier: llm
    retry: {{max_attempts: 1}}
  - name: untrusted
    base_url: https://localhost:{fwd.port}/v1
    api_key_env: TLS_TEST_KEY
    tier: llm
    retry: {{max_attempts: 1}}
  - name: anthropic-tls
    provider: anthropic
    base_url: https://localhost:{fwd.port}/v1
    tls_ca_file: ca.pem
    api_key_env: TLS_TEST_KEY
    tier: llm
""")
    import os
    proc, port = _start([request.config.getoption("--tandem-bin"), "serve", "-c", str(cfg)],
                        env=dict(os.environ, TLS_TEST_KEY="sk-tls"))
    yield openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0), fake
    proc.kill()
    fake.stop()


def test_https_upstream_with_a_private_ca(tls_stack):
    client, fake = tls_stack
    for model in ("trusted", "anthropic-tls"):
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "over tls"}])
        assert r.choices[0].message.content.startswith("secure says: over tls")
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model=model, stream=True, messages=[{"role": "user", "content": "streamed"}]) if c.choices)
        assert text.startswith("secure says: streamed")


def test_an_unverifiable_certificate_is_refused(tls_stack):
    client, fake = tls_stack
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="untrusted", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 502 and "TLS handshake" in e.value.message
    assert fake.stats()["requests"] == 0
