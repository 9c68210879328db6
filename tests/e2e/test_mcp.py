"""The MCP client against real MCP servers: one written with the official Python SDK (PyPI `mcp`) over stdio and
Streamable HTTP, in both protocol generations, and the reference filesystem server from npm; their tools listed,
called, and used from an agent and from a workflow."""
import json
import pathlib
import socket
import subprocess
import sys
import time

import pytest

from conftest import TWO_FAKES_CONFIG, Fake

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests/e2e/mcp_servers/ticket_server.py"
STDIO = f"mcp={sys.executable} {SERVER}"
FS_SERVER = ROOT / "build/npm/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"


def tools(request, spec, *args):
    return subprocess.run([request.config.getoption("--tandem-bin"), "tools", "--tools", spec, *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def http_server():
    servers = []

    def start(stateless):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.Popen([sys.executable, str(SERVER), "http", str(port), *(["stateless"] if stateless else [])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        servers.append(p)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return f"http://127.0.0.1:{port}/mcp", p
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the MCP server did not start: " + p.stderr.read())

    yield start
    for p in servers:
        p.kill()
        p.wait()


def test_stdio_tools_are_listed_and_called(request):
    r = tools(request, STDIO)
    assert r.returncode == 0, r.stderr
    assert "lookup_customer" in r.stdout and '"required":["a","b"]' in r.stdout
    r = tools(request, STDIO, "--call", "add", "--args", '{"a": 2, "b": 40}')
    assert r.returncode == 0 and r.stdout.strip() == "42", r.stdout + r.stderr
    # A failing tool is an isError result the model reads, not a crash.
    r = tools(request, STDIO, "--call", "lookup_customer", "--args", '{"name": "Nobody"}')
    assert r.returncode == 3 and r.stdout.startswith("error: ") and "lookup_customer" in r.stdout
    # Arguments are checked against the tool's schema before the server sees them.
    r = tools(request, STDIO, "--call", "add", "--args", '{"a": "two", "b": 1}')
    assert r.returncode == 3 and "$.a: expected an integer" in r.stdout, r.stdout


@pytest.mark.parametrize("stateless", [True, False])
@pytest.mark.parametrize("protocol", ["", "@2026-07-28", "@2025-06-18"])
def test_streamable_http_in_both_protocol_generations(request, http_server, stateless, protocol):
    url, _ = http_server(stateless)
    r = tools(request, f"mcp-http{protocol}={url}", "--call", "add", "--args", '{"a": 5, "b": 6}')
    assert r.returncode == 0 and r.stdout.strip() == "11", r.stdout + r.stderr
    r = tools(request, f"mcp-http{protocol}={url}", "--call", "lookup_customer", "--args", '{"name": "ACME"}')
    assert r.stdout.strip() == "ACME: plan enterprise, 2 open tickets"


def test_unreachable_or_broken_servers_are_clear_errors(request, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = tools(request, f"mcp-http=http://127.0.0.1:{port}/mcp")
    assert r.returncode == 2 and "mcp: http://127.0.0.1" in r.stderr
    r = tools(request, "mcp=/nonexistent/server --flag")
    assert r.returncode == 2 and "cannot start '/nonexistent/server'" in r.stderr
    dead = tmp_path / "dead.py"
    dead.write_text("import sys\nsys.stdin.readline()\n")  # reads one request, exits without answering
    r = tools(request, f"mcp={sys.executable} {dead}")
    assert r.returncode == 2 and f"mcp: server '{sys.executable} {dead}' has exited" in r.stderr, r.stderr
    # A server that is gone before the first request: writing to it is an error, not a SIGPIPE.
    r = tools(request, f"mcp={sys.executable} -c pass")
    assert r.returncode == 2 and "mcp: server" in r.stderr and "-c pass" in r.stderr, (r.returncode, r.stderr)


@pytest.mark.skipif(not FS_SERVER.exists(), reason="npm server-filesystem not installed (scripts/setup.sh)")
def test_the_npm_filesystem_server(request, tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "policy.md").write_text("Refunds within 14 days.\n")
    spec = f"mcp=node {FS_SERVER} {root}"
    r = tools(request, spec)
    assert r.returncode == 0, r.stderr
    assert "read_text_file" in r.stdout and "list_directory" in r.stdout
    r = tools(request, spec, "--call", "read_text_file", "--args", json.dumps({"path": str(root / "policy.md")}))
    assert r.returncode == 0 and r.stdout.strip() == "Refunds within 14 days.", r.stdout + r.stderr
    r = tools(request, spec, "--call", "read_text_file", "--args", json.dumps({"path": "/etc/passwd"}))
    assert r.returncode == 3 and "Access denied" in r.stdout, r.stdout




def test_an_agent_and_a_workflow_call_an_mcp_servers_tools(request, tmp_path):
    task = "What plan is ACME on?"
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"prompt": task, "tools": ["lookup_customer", "add", "final_answer"],
                                   "tool_calls": [{"name": "lookup_customer", "arguments": {"name": "ACME"}}]}) + "\n")
    fake_bin = request.config.getoption("--fake-bin")
    slm, llm = Fake(fake_bin, "slm", "--answers", str(answers)), Fake(fake_bin, "llm")
    try:
        cfg = tmp_path / "tandem.yaml"
        cfg.write_text(TWO_FAKES_CONFIG.format(ledger=tmp_path / "l.db", slm=slm.url, llm=llm.url))
        tandem = request.config.getoption("--tandem-bin")
        r = subprocess.run([tandem, "agent", task, "-c", str(cfg), "--tools", STDIO], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'call   lookup_customer {"name":"ACME"}\n  result ACME: plan enterprise, 2 open tickets' in r.stdout
        assert "answer: slm says: tool said ACME: plan enterprise" in r.stdout

        wf = tmp_path / "enrich.yaml"
        wf.write_text(f"""name: enrich
inputs: {{customer: string}}
tools: ["{STDIO}"]
steps:
  - id: account
    tool: lookup_customer
    args: {{name: "{{{{ inputs.customer }}}}"}}
  - id: note
    prompt: "Write a note about {{{{ steps.account.output }}}}"
output: "{{{{ steps.note.output }}}}"
""")
        r = subprocess.run([tandem, "run", str(wf), "-c", str(cfg), "-i", "customer=ACME"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'output: "slm says: Write a note about ACME: plan enterprise,' in r.stdout
    finally:
        slm.stop()
        llm.stop()


def test_a_workflow_run_starts_its_mcp_server_once(request, tmp_path):
    starts = tmp_path / "starts"
    wf = tmp_path / "once.yaml"
    wf.write_text(f"""name: once
tools: ["mcp=sh -c 'echo start >> {starts}; exec {sys.executable} {SERVER}'"]
steps:
  - {{id: a, tool: add, args: {{a: 1, b: 2}}}}
  - {{id: b, tool: add, args: {{a: "{{{{ steps.a.output }}}}", b: 3}}}}
""")
    cfg = tmp_path / "tandem.yaml"
    cfg.write_text(f"ledger: {{path: {tmp_path / 'l.db'}}}\nmodels:\n  - {{name: m, provider: openai, "
                   f"base_url: 'http://127.0.0.1:9/v1', tier: slm}}\nrouting: {{default: slm}}\n")
    r = subprocess.run([request.config.getoption("--tandem-bin"), "run", str(wf), "-c", str(cfg)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("output: 6"), r.stdout + r.stderr
    # Validated and run with one set of tools: the server started once, not once per check.
    assert starts.read_text().count("start") == 1
