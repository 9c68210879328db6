"""Code Agency end to end: `tandem run` / `approve` / `trace`, the HTTP API for runs, and durable runs that resume
after a SIGKILL (of the CLI or of the server) without calling the model again for a finished step."""
import json
import os
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import _start

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/workflows/ticket-enrichment.yaml"
HIGH = "I was charged twice for my order and it is urgent, high priority please"


def tandem(stack, *args, timeout=60):
    return subprocess.run([stack.tandem_bin, *args, "-c", str(stack.config_path)], capture_output=True, text=True,
                          env=stack.env, timeout=timeout)


def run_id_of(out):
    return out.split("run ", 1)[1].split(":", 1)[0]


def steps_of(ledger, run_id):
    db = sqlite3.connect(ledger)
    try:
        return {r[0]: {"status": r[1], "model": r[2], "reasons": r[3]} for r in
                db.execute("SELECT key, status, model, reasons FROM run_steps WHERE run_id = ?", (run_id,))}
    finally:
        db.close()


def prompts(*fakes):
    """The last user message of every request the fakes received."""
    out = []
    for f in fakes:
        for b in f.stats()["bodies"]:
            out.append([m for m in json.loads(b)["messages"] if m["role"] == "user"][-1]["content"])
    return out


def test_ticket_enrichment_runs_pauses_for_approval_and_resumes(stack):
    r = tandem(stack, "run", str(EXAMPLE), "-i", f"ticket={HIGH}", "-i", "customer=ACME")
    assert r.returncode == 4, r.stdout + r.stderr  # waiting for approval: the ticket is high priority
    run_id = run_id_of(r.stdout)
    assert "waits for approval: High-priority billing ticket from ACME: send the drafted reply?" in r.stdout
    steps = steps_of(stack.ledger, run_id)
    assert steps["classify"]["status"] == "ok" and steps["sign_off"]["status"] == "waiting"
    assert steps["playbook"]["model"] == "read_file"
    assert steps["reply"]["reasons"] == "the step asks for slm; requested model local-slm"
    assert steps["summary"]["reasons"].startswith("default: slm")  # routed like any request
    calls_before = len(prompts(stack.slm, stack.cloud))
    assert calls_before == 3  # classify, reply, summary

    r = tandem(stack, "approve", run_id, "--by", "alice", "--note", "fine")
    assert r.returncode == 0, r.stderr
    r = tandem(stack, "run", "--resume", run_id)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.split("output: ", 1)[1])
    assert out["category"] == "billing" and out["priority"] == "high"
    assert out["reply"].startswith("slm says: Draft a short")
    assert len(prompts(stack.slm, stack.cloud)) == calls_before  # nothing ran twice

    # One trace: the step tree with model, route reasons, tokens and cost; the ledger has each model call.
    r = tandem(stack, "trace", run_id)
    assert r.returncode == 0, r.stderr
    assert f"workflow ticket-enrichment {run_id}: done" in r.stdout
    assert "why: approved by alice" in r.stdout and "\n    reply " in r.stdout
    rows = stack.rows(f"request_id LIKE '{run_id}/%'")
    assert sorted(x["request_id"].split("/", 1)[1] for x in rows) == ["classify", "reply", "summary"]
    assert all(x["reasons"] and x["model"] == "local-slm" and x["cost_usd"] > 0 for x in rows)
    otel = json.loads(tandem(stack, "trace", run_id, "--format", "otel").stdout)
    spans = otel["resourceSpans"][0]["scopeSpans"][0]["spans"]
    root = [s for s in spans if s["parentSpanId"] == ""]
    assert len(root) == 1 and root[0]["name"] == "invoke_workflow ticket-enrichment"
    chats = [s for s in spans if s["name"].startswith("chat ")]
    assert len(chats) == 3 and all(len(s["traceId"]) == 32 and len(s["spanId"]) == 16 for s in spans)
    attrs = {a["key"]: a["value"] for a in chats[0]["attributes"]}
    assert attrs["gen_ai.operation.name"] == {"stringValue": "chat"}
    assert int(attrs["gen_ai.usage.input_tokens"]["intValue"]) > 0


def test_the_same_workflow_costs_the_same_every_run(stack):
    costs, calls = [], []
    for _ in range(2):
        before = len(prompts(stack.slm, stack.cloud))
        r = tandem(stack, "run", str(EXAMPLE), "-i", "ticket=the app crashes with a bug on start")
        assert r.returncode == 0, r.stdout + r.stderr
        calls.append(len(prompts(stack.slm, stack.cloud)) - before)
        costs.append(r.stdout.split("done ($", 1)[1].split(")", 1)[0])
    assert calls == [3, 3] and costs[0] == costs[1]


def test_a_broken_workflow_is_refused_with_file_and_line(stack, tmp_path):
    wf = tmp_path / "bad.yaml"
    wf.write_text("name: bad\nsteps:\n  - id: a\n    prompt: '{{ steps.b.output }}'\n  - id: b\n    tool: teleport\n")
    r = tandem(stack, "run", str(wf))
    assert r.returncode == 2
    assert f"{wf}:4: step 'a'.prompt: 'steps.b.output' reads step 'b', which has not run at this point" in r.stderr
    assert f"{wf}:6: step 'b'.tool: no tool 'teleport'" in r.stderr
    assert tandem(stack, "run", str(EXAMPLE), "--check").returncode == 0
    r = tandem(stack, "run", str(EXAMPLE))
    assert r.returncode == 2 and "needs the input 'ticket'" in r.stderr


CHAIN = """name: chain
steps:
  - {id: s1, prompt: "first step"}
  - {id: s2, prompt: "second step after {{ steps.s1.output }}"}
  - {id: s3, prompt: "third step after {{ steps.s2.output }}"}
  - {id: s4, prompt: "fourth step after {{ steps.s3.output }}"}
  - {id: s5, prompt: "fifth step after {{ steps.s4.output }}"}
"""


def wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out")


def ok_steps(ledger, run_id=None):
    try:
        db = sqlite3.connect(ledger)
        q = "SELECT run_id, key FROM run_steps WHERE status = 'ok'"
        rows = db.execute(q).fetchall()
        db.close()
    except sqlite3.OperationalError:
        return []
    return [k for r, k in rows if run_id in (None, r)]


def check_no_step_ran_twice(stack, done_before_kill):
    asked = [p for p in prompts(stack.slm, stack.cloud) if " step" in p]  # the chain's prompts only
    firsts = [p.split(" after")[0].split(" step")[0] for p in asked]
    for word in ("first", "second", "third", "fourth", "fifth"):
        n = firsts.count(word)
        # A step finished before the kill was never asked again; the one in flight at the kill may be asked twice.
        assert n == 1 or (n == 2 and f"s{['first', 'second', 'third', 'fourth', 'fifth'].index(word) + 1}"
                          not in done_before_kill), (word, asked)
    assert len(asked) <= 6


def test_a_workflow_killed_mid_run_resumes_without_repeating_steps(stack, tmp_path):
    wf = tmp_path / "chain.yaml"
    wf.write_text(CHAIN)
    stack.slm.control(latency_ms=300)
    p = subprocess.Popen([stack.tandem_bin, "run", str(wf), "-c", str(stack.config_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=stack.env)
    wait_for(lambda: len(ok_steps(stack.ledger)) >= 2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done = ok_steps(stack.ledger)
    assert 2 <= len(done) < 5, done
    db = sqlite3.connect(stack.ledger)
    run_id, status = db.execute("SELECT id, status FROM runs").fetchone()
    db.close()
    assert status == "running"
    stack.slm.control(latency_ms=0)
    r = tandem(stack, "run", "--resume", run_id)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(" model ") == 5 - len(done)  # only the unfinished steps ran
    check_no_step_ran_twice(stack, done)
    assert 'output: "slm says: fifth step after' in r.stdout
    assert tandem(stack, "runs").stdout.count("done") == 1


def http(method, url, body=None, timeout=30, key=None):
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start_server(stack):
    stack.proc, stack.port = _start([stack.tandem_bin, "serve", "-c", str(stack.config_path)], env=stack.env)
    stack.url = f"http://127.0.0.1:{stack.port}"


def serve_with_workflows(stack, tmp_path, extra_tools=()):
    flows = tmp_path / "flows"
    shutil.copytree(EXAMPLE.parent, flows)
    (flows / "chain.yaml").write_text(CHAIN)
    tools = json.dumps(["calculator", *extra_tools])
    text = stack.config_path.read_text() + f"agency:\n  workflows: {flows}\n  tools: {tools}\n"
    stack.config_path.write_text(text)
    stack.proc.send_signal(signal.SIGTERM)
    stack.proc.wait(timeout=15)
    start_server(stack)


def test_workflows_and_approvals_over_http(stack, tmp_path):
    serve_with_workflows(stack, tmp_path)
    code, listing = http("GET", stack.url + "/v1/workflows")
    assert code == 200
    names = {w["name"]: w for w in listing["data"]}
    assert names["ticket-enrichment"]["valid"] and names["ticket-enrichment"]["inputs"][0]["name"] == "ticket"
    code, run = http("POST", stack.url + "/v1/workflows/ticket-enrichment/runs",
                     {"inputs": {"ticket": HIGH, "customer": "ACME"}})
    assert code == 200 and run["status"] == "waiting_approval", run
    assert [s["key"] for s in run["steps"] if s["status"] == "waiting"] == ["sign_off"]
    code, err = http("POST", stack.url + f"/v1/runs/{run['id']}/approve", {"step": "classify"})
    assert code == 404 and "waiting: sign_off" in err["error"]["message"]
    code, run = http("POST", stack.url + f"/v1/runs/{run['id']}/approve", {"by": "bob"})
    assert code == 200 and run["status"] == "done", run
    assert run["output"]["priority"] == "high"
    code, trace = http("GET", stack.url + f"/v1/runs/{run['id']}/trace")
    assert code == 200 and len(trace["resourceSpans"][0]["scopeSpans"][0]["spans"]) == len(run["steps"]) + 1
    text = urllib.request.urlopen(stack.url + f"/v1/runs/{run['id']}/trace?format=text", timeout=10).read().decode()
    assert text.startswith(f"workflow ticket-enrichment {run['id']}: done") and "why: approved by bob" in text
    code, listed = http("GET", stack.url + "/v1/runs?status=done")
    assert code == 200 and run["id"] in [r["id"] for r in listed["data"]]
    # Bad requests get clear errors.
    assert http("POST", stack.url + "/v1/workflows/nope/runs", {})[0] == 404
    assert http("POST", stack.url + "/v1/workflows/..%2Fetc/runs", {})[0] == 404
    code, err = http("POST", stack.url + "/v1/workflows/ticket-enrichment/runs", {"inputs": {}})
    assert code == 400 and "needs the input 'ticket'" in err["error"]["message"]
    assert http("GET", stack.url + "/v1/runs/run_nope")[0] == 404
    code, err = http("POST", stack.url + "/v1/workflows/chain/runs", {"wait": "yes"})
    assert code == 400 and "'wait' must be true or false" in err["error"]["message"]


# Runs hold prompts, tool results and answers: with client keys, each key sees, traces and approves only its own
# runs, and another key's run reads as missing.
def test_a_client_key_sees_only_its_own_runs(make_stack, tmp_path):
    stack = make_stack(keys={"alice": "key-alice", "bob": "key-bob"})
    serve_with_workflows(stack, tmp_path)
    code, run = http("POST", stack.url + "/v1/workflows/ticket-enrichment/runs",
                     {"inputs": {"ticket": HIGH, "customer": "ACME"}}, key="key-alice")
    assert code == 200 and run["status"] == "waiting_approval", run
    runs = stack.url + f"/v1/runs/{run['id']}"
    for path in (runs, runs + "/trace"):
        code, err = http("GET", path, key="key-bob")
        assert code == 404 and f"no run '{run['id']}'" in err["error"]["message"], (path, code, err)
    assert http("POST", runs + "/approve", {"by": "bob"}, key="key-bob")[0] == 404
    assert http("GET", stack.url + "/v1/runs", key="key-bob") == (200, {"object": "list", "data": []})
    assert http("GET", runs)[0] == 401  # no key at all
    code, mine = http("GET", stack.url + "/v1/runs", key="key-alice")
    assert code == 200 and [r["id"] for r in mine["data"]] == [run["id"]]
    assert http("GET", runs, key="key-alice")[1]["status"] == "waiting_approval"  # bob's approval did nothing
    code, done = http("POST", runs + "/approve", {"by": "alice"}, key="key-alice")
    assert code == 200 and done["status"] == "done", done


def test_agent_runs_over_http_use_only_allowed_tools(stack, tmp_path):
    serve_with_workflows(stack, tmp_path)
    code, run = http("POST", stack.url + "/v1/agent/runs", {"task": "What is 6*7?", "tools": ["calculator"],
                                                            "max_steps": 3})
    assert code == 200, run
    # The fake calls the first tool it is offered, then answers with what the tool said.
    assert run["kind"] == "agent" and run["status"] == "done", run
    assert run["output"].startswith("slm says: tool said"), run
    models = [s for s in run["steps"] if s["kind"] == "model"]
    assert models and all(s["reasons"] and s["tier"] == "slm" for s in models)
    assert any(s["kind"] == "tool" and s["model"] == "calculator" for s in run["steps"])
    rows = stack.rows(f"request_id LIKE '{run['id']}/%'")
    assert len(rows) == len(models)
    code, err = http("POST", stack.url + "/v1/agent/runs", {"task": "x", "tools": ["read_file"]})
    assert code == 400 and "not available here" in err["error"]["message"]
    assert http("POST", stack.url + "/v1/agent/runs", {"tools": []})[0] == 400
    code, err = http("POST", stack.url + "/v1/agent/runs", {"task": "x", "max_steps": "many"})
    assert code == 400 and "'max_steps' must be an integer" in err["error"]["message"]
    code, queued = http("POST", stack.url + "/v1/agent/runs", {"task": "hi", "tools": [], "wait": False})
    assert code == 202 and queued["id"].startswith("run_")
    done = wait_for(lambda: (lambda r: r if r[1]["status"] == "done" else None)(
        http("GET", stack.url + f"/v1/runs/{queued['id']}")))
    assert done[1]["output"] == "hi"  # the fake answers through final_answer, its only tool


def test_a_killed_server_resumes_its_workflow_runs_on_restart(stack, tmp_path):
    serve_with_workflows(stack, tmp_path)
    stack.slm.control(latency_ms=300)
    code, run = http("POST", stack.url + "/v1/workflows/chain/runs", {"wait": False})
    assert code == 202 and run["status"] == "running"
    wait_for(lambda: len(ok_steps(stack.ledger, run["id"])) >= 2)
    code, agent = http("POST", stack.url + "/v1/agent/runs", {"task": "hi", "tools": [], "wait": False})
    assert code == 202 and agent["status"] == "running"
    stack.proc.send_signal(signal.SIGKILL)
    stack.proc.wait()
    done = ok_steps(stack.ledger, run["id"])
    stack.slm.control(latency_ms=0)
    start_server(stack)
    final = wait_for(lambda: (lambda r: r[1] if r[1]["status"] == "done" else None)(
        http("GET", stack.url + f"/v1/runs/{run['id']}")))
    assert final["output"].startswith("slm says: fifth step after")
    check_no_step_ran_twice(stack, done)
    # The agent run it was executing is not durable, and says so.
    code, lost = http("GET", stack.url + f"/v1/runs/{agent['id']}")
    assert code == 200 and lost["status"] == "interrupted" and "server stopped" in lost["error"]


def test_personal_data_in_a_step_never_reaches_the_cloud(stack, tmp_path):
    wf = tmp_path / "pii.yaml"
    wf.write_text("""name: pii
inputs: {email: string}
steps:
  - id: draft
    model: llm
    prompt: "Write to {{ inputs.email }} about their refund"
""")
    r = tandem(stack, "run", str(wf), "-i", "email=jane.doe@example.com")
    assert r.returncode == 0, r.stdout + r.stderr
    assert stack.cloud.stats()["requests"] == 0 and stack.slm.stats()["requests"] == 1
    run_id = run_id_of(r.stdout)
    step = steps_of(stack.ledger, run_id)["draft"]
    assert step["model"] == "local-slm" and "privacy local_only: personal data (email)" in step["reasons"], step
    row = stack.rows(f"request_id = '{run_id}/draft'")[0]
    assert row["pii"] == "email" and row["local_only"] == 1
    # An agent's steps are held to the same policy.
    r = tandem(stack, "agent", "Email jane.doe@example.com the total of 6*7", "--tools", "calculator", "-m", "cloud-gpt")
    assert stack.cloud.stats()["requests"] == 0, r.stdout


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLE.parent.glob("*.yaml")))
def test_every_example_workflow_validates(stack, example):
    r = tandem(stack, "run", str(EXAMPLE.parent / example), "--check")
    assert r.returncode == 0, r.stderr


def test_document_extraction_recomputes_line_totals_with_a_tool(stack):
    r = tandem(stack, "run", str(EXAMPLE.parent / "document-extraction.yaml"), "-i",
               "document=Invoice from Acme GmbH to Initech, 2026-11-02: 3 x widget at 20 EUR")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.split("output: ", 1)[1])
    # The fake fills numbers with 1: one item, 1 x 1, recomputed by the calculator.
    assert out["line_totals"] == [1] and len(out["items"]) == 1
    assert r.stdout.count(" tool ") == 1 and r.stdout.count(" loop ") == 1


def test_compliance_check_asks_a_person_when_it_finds_something(stack):
    r = tandem(stack, "run", str(EXAMPLE.parent / "compliance-check.yaml"), "-i", "document=Refund of 900 EUR approved")
    # The fake answers booleans with true: personal data "found", so a person must look.
    assert r.returncode == 4, r.stdout + r.stderr
    run_id = run_id_of(r.stdout)
    assert tandem(stack, "approve", run_id, "--reject", "--note", "needs a manager").returncode == 0
    r = tandem(stack, "run", "--resume", run_id)
    assert r.returncode == 3 and "rejected: needs a manager" in r.stdout, r.stdout
    assert steps_of(stack.ledger, run_id)["personal_data"]["model"] == "local-slm"


def test_a_step_that_times_out_is_retried_then_handled(stack, tmp_path):
    wf = tmp_path / "slow.yaml"
    wf.write_text("""name: slow
tools: [calculator]
steps:
  - id: slow
    prompt: "take your time"
    model: slm
    timeout_ms: 300
    retry: {attempts: 2, backoff_ms: 10}
    on_error: skip
  - id: sum
    tool: calculator
    args: {expression: "1 + 1"}
  - id: after
    model: llm
    prompt: "after the slow step: {{ steps.sum.output }}"
""")
    stack.slm.control(latency_ms=3000)
    r = tandem(stack, "run", str(wf))
    assert r.returncode == 0, r.stdout + r.stderr
    db = sqlite3.connect(stack.ledger)
    status, error, attempts = db.execute("SELECT status, error, attempts FROM run_steps WHERE key = 'slow'").fetchone()
    db.close()
    assert status == "skipped" and "did not answer within 300 ms" in error, error
    # A timed-out step does not fail over behind its back; the next model call (same client) works.
    assert stack.cloud.stats()["requests"] == 1
    assert 'output: "cloud says: after the slow step: 2' in r.stdout, r.stdout


def test_check_config_validates_the_served_workflows(stack, tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(EXAMPLE, flows / "ok.yaml")
    (flows / "bad.yaml").write_text("name: bad\nsteps:\n  - id: x\n    tool: teleport\n")
    text = stack.config_path.read_text() + f"agency:\n  workflows: {flows}\n  tools: [calculator]\n"
    stack.config_path.write_text(text)
    r = subprocess.run([stack.tandem_bin, "check-config", str(stack.config_path)], capture_output=True, text=True,
                       env=stack.env)
    assert r.returncode == 1
    assert "workflow ticket-enrichment" in r.stdout and "agent tools: 1" in r.stdout
    assert f"{flows / 'bad.yaml'}:4: step 'x'.tool: no tool 'teleport'" in r.stderr


def test_sigterm_stops_workflow_runs_between_steps_and_the_next_start_finishes_them(stack, tmp_path):
    serve_with_workflows(stack, tmp_path)
    stack.slm.control(latency_ms=400)
    code, run = http("POST", stack.url + "/v1/workflows/chain/runs", {"wait": False})
    assert code == 202
    wait_for(lambda: len(ok_steps(stack.ledger, run["id"])) >= 1)
    stack.proc.send_signal(signal.SIGTERM)
    stack.proc.wait(timeout=15)  # the step in flight finishes; the rest wait for the next start
    done = ok_steps(stack.ledger, run["id"])
    assert len(done) < 5
    stack.slm.control(latency_ms=0)
    start_server(stack)
    final = wait_for(lambda: (lambda r: r[1] if r[1]["status"] == "done" else None)(
        http("GET", stack.url + f"/v1/runs/{run['id']}")))
    assert final["output"].startswith("slm says: fifth step after")
    asked = [p for p in prompts(stack.slm, stack.cloud) if " step" in p]
    assert len(asked) == 5  # a graceful stop repeats nothing


def test_draft_and_review_loops_between_the_tiers(stack):
    r = tandem(stack, "run", str(EXAMPLE.parent / "draft-and-review.yaml"), "-i", "request=Explain the refund policy")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.split("output: ", 1)[1])
    assert out["review"]["approved"] is True  # the fake approves at once: one round
    run_id = run_id_of(r.stdout)
    steps = steps_of(stack.ledger, run_id)
    assert steps["refine[0].draft"]["model"] == "local-slm" and steps["refine[0].review"]["model"] == "cloud-gpt"
    assert "refine[1].draft" not in steps
    assert "none yet" in [p for p in prompts(stack.slm) if p.startswith("Write a short")][0]


def test_runs_over_http_need_a_key_and_its_calls_carry_it(make_stack, tmp_path):
    stack = make_stack(keys={"team-a": "tk-team-a"})
    serve_with_workflows(stack, tmp_path)
    code, err = http("POST", stack.url + "/v1/workflows/chain/runs", {})
    assert code == 401
    req = urllib.request.Request(stack.url + "/v1/workflows/chain/runs", data=b"{}", method="POST",
                                 headers={"content-type": "application/json", "authorization": "Bearer tk-team-a"})
    run = json.loads(urllib.request.urlopen(req, timeout=30).read())
    assert run["status"] == "done"
    rows = stack.rows(f"request_id LIKE '{run['id']}/%'")
    assert len(rows) == 5 and {r["key_id"] for r in rows} == {"team-a"}


# A tool server the gateway starts holds none of the gateway's sockets: neither its listening sockets (which would
# keep the port taken, and connections queued, after the gateway stops) nor a client's connection.
def test_a_tool_server_inherits_none_of_the_gateways_sockets(stack, tmp_path):
    stdio = f"mcp={sys.executable} {ROOT / 'tests/e2e/mcp_servers/socket_server.py'}"
    serve_with_workflows(stack, tmp_path, extra_tools=(stdio,))
    (tmp_path / "flows" / "fds.yaml").write_text(f"""name: fds
tools: ["{stdio}"]
steps:
  - {{id: fds, tool: inherited_sockets, args: {{}}}}
output: "{{{{ steps.fds.output }}}}"
""")
    code, run = http("POST", stack.url + "/v1/workflows/fds/runs", {})
    assert code == 200 and run["status"] == "done", run
    assert run["output"] == "none", run["output"]
