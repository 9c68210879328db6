"""Fixtures for end-to-end tests: real `tandem serve` processes in front of fake upstreams (C++ fake_upstream),
driven by the official openai client and by raw HTTP. Every server binds port 0 and reports its port."""
import json
import re
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that failed while a server of its still runs (a timeout: the server stopped answering) gets every
    such server's thread stacks in its report, from gdb where it is installed: a hang seen once in CI is then
    diagnosed from that run alone."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    _STARTED[:] = [p for p in _STARTED if p.poll() is None]
    for proc in _STARTED:
        if not os.path.basename(proc.args[0]).startswith("tandem") or not shutil.which("gdb"):
            continue
        try:
            bt = subprocess.run(["gdb", "-p", str(proc.pid), "-batch", "-ex", "thread apply all bt"],
                                capture_output=True, text=True, timeout=60).stdout
        except subprocess.TimeoutExpired:
            bt = "(gdb timed out)"
        stacks = "\n".join(line for line in bt.splitlines() if line.startswith(("Thread ", "#")))
        # Its listening sockets with their accept queues (Recv-Q: connections no worker has accepted).
        listen = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout if shutil.which("ss") else ""
        queues = "\n".join(line for line in listen.splitlines() if f"pid={proc.pid}," in line)
        report.sections.append((f"stacks of {' '.join(proc.args[:3])} (pid {proc.pid})", queues + "\n" + stacks))


def pytest_addoption(parser):
    parser.addoption("--tandem-bin", default=str(ROOT / "build/release/src/tandem"))
    parser.addoption("--fake-bin", default=str(ROOT / "build/release/tools/fake_upstream/fake_upstream"))


# Every server and fake this session started, for the hang report below.
_STARTED = []


def _start(args, env=None):
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _STARTED.append(proc)
    line = proc.stdout.readline()
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"{args[0]} did not start: {line!r} {proc.stderr.read()}")
    return proc, int(line.split()[1])


class Fake:
    """One fake_upstream process (OpenAI and Anthropic dialects on the same port)."""

    def __init__(self, binary, name, *extra):
        self.proc, self.port = _start([binary, "--port", "0", "--name", name, *extra])
        self.url = f"http://127.0.0.1:{self.port}"

    def _post(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=5).read())

    def control(self, **kw):
        return self._post("/_control", kw)

    def stats(self):
        return json.loads(urllib.request.urlopen(self.url + "/_stats", timeout=20).read())

    def stop(self):
        self.proc.kill()
        self.proc.wait()


CONFIG = """
server:
  listen: 127.0.0.1:0
  workers: 2
  max_body_bytes: {max_body}
ledger:
  path: {ledger}
{auth}
models:
  - name: local-slm
    provider: openai
    base_url: {slm_url}/v1
    model: smollm2-135m
    tier: slm
    locality: local
    price: {{input: 0.02, output: 0.04}}
    timeouts: {{connect_ms: 500, first_token_ms: {first_token_ms}, total_ms: 20000}}
    retry: {{max_attempts: 2, base_backoff_ms: 5}}
    fallbacks: [{slm_fallbacks}]
  - name: cloud-gpt
    provider: openai
    base_url: {cloud_url}/v1
    model: gpt-4o
    api_key_env: TANDEM_TEST_OPENAI_KEY
    tier: llm
    locality: cloud
    price: {{input: 2.5, output: 10}}
    timeouts: {{connect_ms: 500, first_token_ms: {first_token_ms}, total_ms: 20000}}
    retry: {{max_attempts: 3, base_backoff_ms: 5}}
    breaker: {{failure_threshold: 50, cooldown_ms: 1000}}
    fallbacks: [cloud-claude]
  - name: cloud-claude
    provider: anthropic
    base_url: {cloud_url}/v1
    model: claude-sonnet
    api_key_env: TANDEM_TEST_ANTHROPIC_KEY
    tier: llm
    locality: cloud
    price: {{input: 3, output: 15}}
    timeouts: {{connect_ms: 500, first_token_ms: {first_token_ms}, total_ms: 20000}}
    retry: {{max_attempts: 1}}
routing:
  default: slm
  llm: cloud-gpt
  privacy: {privacy}
  aliases: {{fast: slm, smart: llm}}
{learned}  rules:
    - name: code-and-math
      if: {{task: [code, math]}}
      then: llm
    - name: long
      if: {{min_tokens: 400}}
      then: llm
"""


# Two models behind two fakes, "slm" and "llm", for tests that run one command against them (agents, tools).
TWO_FAKES_CONFIG = """
server: {{listen: 127.0.0.1:0}}
ledger: {{path: {ledger}}}
models:
  - name: slm
    provider: openai
    base_url: {slm}/v1
    tier: slm
    price: {{input: 0.1, output: 0.2}}
  - name: llm
    provider: openai
    base_url: {llm}/v1
    tier: llm
    price: {{input: 2.5, output: 10}}
routing:
  default: slm
"""


class Stack:
    """Two fakes (the local SLM server and the cloud API) and a tandem in front of them."""

    def __init__(self, request, tmp_path, privacy="local_only", keys=None, env_keys=True, max_body=65536,
                 first_token_ms=3000, slm_fallbacks="cloud-gpt", fake_args=(), learned=""):
        self.tandem_bin = request.config.getoption("--tandem-bin")
        fake_bin = request.config.getoption("--fake-bin")
        self.slm = Fake(fake_bin, "slm", *fake_args)
        self.cloud = Fake(fake_bin, "cloud", "--require-key", "sk-cloud-secret", *fake_args)
        self.ledger = str(tmp_path / "ledger.db")
        self.config_path = tmp_path / "tandem.yaml"
        self.env = dict(os.environ)
        auth = ""
        if keys:
            auth = "auth:\n  keys:\n" + "".join(
                f"    - id: {k}\n      key_env: TANDEM_TEST_CLIENT_{k.upper()}\n" for k in keys)
            for k, v in keys.items():
                self.env[f"TANDEM_TEST_CLIENT_{k.upper()}"] = v
        if env_keys:
            self.env["TANDEM_TEST_OPENAI_KEY"] = "sk-cloud-secret"
            self.env["TANDEM_TEST_ANTHROPIC_KEY"] = "sk-cloud-secret"
        else:
            self.env.pop("TANDEM_TEST_OPENAI_KEY", None)
            self.env.pop("TANDEM_TEST_ANTHROPIC_KEY", None)
        self.params = dict(max_body=max_body, ledger=self.ledger, auth=auth, slm_url=self.slm.url,
                           cloud_url=self.cloud.url, privacy=privacy, first_token_ms=first_token_ms,
                           slm_fallbacks=slm_fallbacks, learned=learned)
        self.write_config()
        self.proc, self.port = _start([self.tandem_bin, "serve", "-c", str(self.config_path)], env=self.env)
        self.url = f"http://127.0.0.1:{self.port}"

    def write_config(self, **changes):
        self.params.update(changes)
        text = CONFIG.format(**self.params)
        self.config_path.write_text(text)
        return text

    def assert_config_error(self, routing_snippet, msg):
        """`tandem check-config` refuses the config with `routing_snippet` in its routing section, naming the
        file and line and saying `msg`."""
        self.write_config(learned=routing_snippet)
        r = subprocess.run([self.tandem_bin, "check-config", str(self.config_path)], capture_output=True, text=True,
                           timeout=30, env=self.env)
        assert r.returncode == 1 and msg in r.stderr and re.search(r"tandem.yaml:\d+", r.stderr), r.stderr

    def client(self, key="unused", **kw):
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=20, **kw)

    def rows(self, where="1=1"):
        db = sqlite3.connect(self.ledger)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute(f"SELECT * FROM requests WHERE {where} ORDER BY id")]
        finally:
            db.close()

    def wait_rows(self, n, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rows = self.rows()
            if len(rows) >= n:
                return rows
            time.sleep(0.02)
        return self.rows()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.slm.stop()
        self.cloud.stop()

    def stderr(self):
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


@pytest.fixture
def make_stack(request, tmp_path):
    stacks = []

    def make(**kw):
        d = tmp_path / f"s{len(stacks)}"
        d.mkdir()
        s = Stack(request, d, **kw)
        stacks.append(s)
        return s

    yield make
    for s in stacks:
        s.stop()


@pytest.fixture
def stack(make_stack):
    return make_stack()
