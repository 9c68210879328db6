"""Shadow learning: a judge grades sampled SLM answers in the background; its verdicts are ledger rows, /metrics
shows the live accuracy and the cascade router's AUROC, `tandem train --from-ledger` refits the router on them,
and the refit moves the live AUROC. A request that privacy keeps local is never judged."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

from test_cascade import _outcomes


def metrics(url):
    return urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()


def gauge(text, name):
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def wait_shadow_rows(stack, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = stack.rows("shadow_of != ''")
        if len(rows) >= n:
            return rows
        time.sleep(0.05)
    return stack.rows("shadow_of != ''")


def shadow_config(tcr):
    # min_confidence 0: every draft stands, so every SLM answer carries its signals and P(right) to the judge.
    return (f"  cascade:\n    router: {tcr}\n    min_confidence: 0\n    ttft_budget_ms: 5000\n"
            f"  shadow: {{sample: 1.0, judge: cloud-gpt}}\n")


def send(stack, rounds):
    c = stack.client()
    for i in range(rounds):
        for kind in ("easy", "hard"):
            content = f"{kind} question about the sky, variant {'abcdefgh'[i]}"
            if i % 2:
                chunks = c.chat.completions.create(model="auto", stream=True,
                                                   messages=[{"role": "user", "content": content}])
                assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices).startswith("slm says")
            else:
                body = c.chat.completions.create(model="auto", messages=[{"role": "user", "content": content}])
                assert body.choices[0].message.content.startswith("slm says")


def test_shadow_verdicts_retrain_the_router_and_move_its_live_auroc(make_stack, request, tmp_path):
    tandem = request.config.getoption("--tandem-bin")
    outcomes, tcr = tmp_path / "outcomes.jsonl", tmp_path / "initial.tcr"
    _outcomes(outcomes)  # the initial router: a likely first token means a right answer
    subprocess.run([tandem, "train", "--data", str(outcomes), "--signals", "first_prob", "--out", str(tcr)],
                   check=True, capture_output=True)
    stack = make_stack(learned=shadow_config(tcr))
    # On this traffic the SLM is unsure of the easy questions (which it gets right) and sure of the hard ones
    # (which it gets wrong): the initial router ranks them backwards.
    stack.slm.control(replies=[{"contains": "easy", "logprob": -1.5}, {"contains": "hard", "logprob": -0.05}])
    stack.cloud.control(replies=[{"contains": "easy question", "reply": "Yes."},
                                 {"contains": "hard question", "reply": "no"}])
    send(stack, 6)
    judged = wait_shadow_rows(stack, 12)
    assert len(judged) == 12
    for r in judged:
        assert r["model"] == "cloud-gpt" and r["rule"] == "shadow" and r["verdict"] in (0, 1)
        assert r["requested_model"] == "local-slm" and r["cost_usd"] > 0 and 0 <= r["p_right"] <= 1
        assert json.loads(r["signals"])["first_prob"] > 0
    traffic = stack.rows("shadow_of = ''")
    assert {r["request_id"] + "-shadow" for r in traffic} == {r["request_id"] for r in judged}
    assert all(r["model"] == "local-slm" for r in traffic)
    text = metrics(stack.url)
    assert re.search(r'^tandem_shadow_judgments_total\{verdict="right"\} 6$', text, re.M)
    assert re.search(r'^tandem_shadow_judgments_total\{verdict="wrong"\} 6$', text, re.M)
    assert gauge(text, "tandem_shadow_slm_accuracy") == 0.5
    assert gauge(text, "tandem_shadow_router_auroc") == 0
    assert gauge(text, "tandem_shadow_cost_usd_total") > 0
    assert 'tandem_cost_usd_total{model="cloud-gpt"}' not in text  # the judge's spend is not the traffic's

    # Privacy: a request with personal data stays local and is never sent to the judge.
    c = stack.client()
    c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "easy: mail jane.doe@example.com"}])
    time.sleep(0.5)
    assert len(stack.rows("shadow_of != ''")) == 12
    assert not any("jane.doe" in b for b in stack.cloud.stats()["bodies"])

    # The verdicts retrain the router; after a reload the live AUROC is the refit's.
    refit = tmp_path / "refit.tcr"
    out = subprocess.run([tandem, "train", "--from-ledger", stack.ledger, "--signals", "first_prob", "--out",
                          str(refit)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "12 on answers of local-slm (50.0% right)" in out.stdout
    assert "router in force:   AUROC 0.000" in out.stdout
    stack.write_config(learned=shadow_config(refit))
    os.kill(stack.proc.pid, signal.SIGHUP)
    time.sleep(0.5)
    send(stack, 6)
    assert len(wait_shadow_rows(stack, 24)) == 24
    text = metrics(stack.url)
    assert gauge(text, "tandem_shadow_router_auroc") == 1
    assert gauge(text, "tandem_shadow_window") == 12  # the estimates cover the router now in force

    report = subprocess.run([tandem, "report", "--since", "1d", "-c", str(stack.config_path)], capture_output=True,
                            text=True)
    assert report.returncode == 0, report.stderr
    assert re.search(r"requests\s+25 ", report.stdout), report.stdout  # 24 + the private one; no judgments
    assert re.search(r"shadow judge\s+24 answers judged: SLM right on 50.0% of what it kept, router AUROC 0\.750; "
                     r"spend \$0\.\d+ \(not in the figures above\)", report.stdout), report.stdout


def test_a_failing_judge_is_counted_and_loses_nothing(make_stack, request, tmp_path):
    stack = make_stack(learned="  shadow: {sample: 1.0, judge: cloud-gpt}\n")
    stack.cloud.control(script=[{"status": 500}] * 3 + [{"status": 400}])
    stack.cloud.control(replies=[{"contains": "question", "reply": "perhaps"}])
    c = stack.client()
    c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "a question"}])
    c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "another question"}])
    rows = wait_shadow_rows(stack, 2)
    assert len(rows) == 2 and all(r["verdict"] == -1 for r in rows)
    assert any(r["status"] != "ok" for r in rows) or any("perhaps" in r["reasons"] for r in rows)
    text = metrics(stack.url)
    assert re.search(r'^tandem_shadow_judgments_total\{verdict="failed"\} 2$', text, re.M)
    assert gauge(text, "tandem_shadow_slm_accuracy") is None  # no verdict, no estimate
    assert len(stack.rows("shadow_of = ''")) == 2


def test_shadow_config_errors(make_stack):
    stack = make_stack()
    for bad, msg in [("  shadow: {sample: 0.1}\n", "routing.shadow: 'judge'"),
                     ("  shadow: {judge: nope}\n", "routing.shadow.judge: no model named 'nope'"),
                     ("  shadow: {judge: cloud-gpt, sample: 2}\n", "routing.shadow.sample: must be in [0, 1]")]:
        stack.assert_config_error(bad, msg)


def test_workflow_steps_are_judged_like_chat_completions(make_stack, tmp_path):
    from test_workflows import http, serve_with_workflows
    # Five steps can finish faster than their judgments: room for all five at once (the default, 4, would skip
    # the fifth and count it as skipped).
    stack = make_stack(learned="  shadow: {sample: 1.0, judge: cloud-gpt, max_in_flight: 8}\n")
    serve_with_workflows(stack, tmp_path)
    stack.cloud.control(replies=[{"contains": "step", "reply": "yes"}])
    code, run = http("POST", stack.url + "/v1/workflows/chain/runs", {})
    assert code == 200 and run["status"] == "done", run
    judged = wait_shadow_rows(stack, 5)
    steps = stack.rows(f"request_id LIKE '{run['id']}/%' AND shadow_of = ''")
    assert len(steps) == 5 and all(r["model"] == "local-slm" for r in steps)
    # Each judgment refers to its step's row as committed, under the step's own request id.
    assert sorted(r["shadow_of"] for r in judged) == sorted(r["request_id"] for r in steps)
    assert all(r["verdict"] == 1 and r["model"] == "cloud-gpt" for r in judged)
    assert re.search(r'^tandem_shadow_judgments_total\{verdict="right"\} 5$', metrics(stack.url), re.M)
