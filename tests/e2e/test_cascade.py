"""The cascade: the SLM drafts first; a confident draft stands, an unconfident or slow one escalates to the LLM,
and the client never receives bytes from both."""
import json
import re
import time
import urllib.request

import openai
import pytest

CASCADE = "  cascade: {{min_confidence: 0.5, measure: mean, ttft_budget_ms: {budget}}}\n"


def metric_lines(url, name):
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(rf"^{name}{{(.*)}} (\S+)$", text, re.M)}


@pytest.fixture
def cascade_stack(make_stack):
    stack = make_stack(learned=CASCADE.format(budget=5000))
    stack.slm.control(logprob=-0.05)  # confident: exp(-0.05) = 0.95
    return stack


def test_a_confident_draft_stands_and_the_llm_is_never_called(cascade_stack):
    stack = cascade_stack
    c = stack.client()
    raw = c.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hi there"}])
    body = raw.parse()
    assert raw.headers["x-tandem-model"] == "local-slm"
    assert raw.headers["x-tandem-cascade"].startswith("accepted: confidence 0.951 >= 0.500 (mean of 8 tokens)")
    assert body.choices[0].message.content.startswith("slm says: hi there")
    assert body.choices[0].logprobs is None and body.usage.completion_tokens == 8
    # Streaming: the buffered draft is replayed as the client asked (no logprobs, no usage chunk).
    chunks = list(c.chat.completions.create(model="auto", stream=True,
                                            messages=[{"role": "user", "content": "hi again"}]))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices).startswith("slm says: hi again")
    assert all(ch.choices and ch.choices[0].logprobs is None for ch in chunks) and all(ch.usage is None for ch in chunks)
    # A client that asks for logprobs and usage gets them.
    chunks = list(c.chat.completions.create(model="auto", stream=True, logprobs=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "hi thrice"}]))
    assert chunks[-1].usage.completion_tokens == 8 and not chunks[-1].choices
    assert sum(len(ch.choices[0].logprobs.content) for ch in chunks if ch.choices and ch.choices[0].logprobs) == 8
    assert stack.cloud.stats()["requests"] == 0
    slm_bodies = [json.loads(b) for b in stack.slm.stats()["bodies"]]
    assert all(b["logprobs"] is True and b["stream"] is True for b in slm_bodies)
    rows = stack.wait_rows(3)
    assert all("cascade accepted: confidence 0.951" in r["reasons"] and r["model"] == "local-slm" for r in rows)
    assert metric_lines(stack.url, "tandem_cascade_total") == {'outcome="accepted"': 3}


def test_an_unconfident_draft_escalates_and_the_client_sees_only_the_llm(cascade_stack):
    stack = cascade_stack
    stack.slm.control(logprob=-2.0)  # exp(-2) = 0.135 < 0.5
    c = stack.client()
    stream = c.chat.completions.with_raw_response.create(model="auto", stream=True,
                                                         messages=[{"role": "user", "content": "tell me a story"}])
    assert stream.headers["x-tandem-cascade"].startswith("escalated: confidence 0.135 < 0.500")
    text = "".join(ch.choices[0].delta.content or "" for ch in stream.parse() if ch.choices)
    assert text.startswith("cloud says: tell me a story") and "slm says" not in text
    body = c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "and another"}])
    assert body.model == "gpt-4o" and body.choices[0].message.content.startswith("cloud says")
    assert stack.slm.stats()["requests"] == 2 and stack.cloud.stats()["requests"] == 2
    rows = stack.wait_rows(2)
    for r in rows:
        assert r["model"] == "cloud-gpt" and r["escalation"].startswith("cascade: confidence 0.135")
        # The row's cost includes the discarded draft: 8 SLM tokens out at $0.04/M on top of the LLM's answer.
        llm_cost = (r["prompt_tokens"] * 2.5 + r["completion_tokens"] * 10) / 1e6
        assert r["cost_usd"] > llm_cost
    assert metric_lines(stack.url, "tandem_cascade_total") == {'outcome="escalated"': 2}
    share = urllib.request.urlopen(stack.url + "/metrics", timeout=5).read().decode()
    assert re.search(r"^tandem_llm_share 1$", share, re.M)


def test_a_slow_draft_escalates_at_the_ttft_budget(make_stack):
    stack = make_stack(learned=CASCADE.format(budget=150))
    stack.slm.control(latency_ms=3000)
    t0 = time.monotonic()
    raw = stack.client().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "quick question"}])
    elapsed = time.monotonic() - t0
    assert raw.headers["x-tandem-cascade"] == "escalated: no first token within 150 ms"
    assert raw.parse().choices[0].message.content.startswith("cloud says")
    assert elapsed < 2.5  # did not wait for the slow draft


def test_privacy_and_rules_bypass_the_cascade(make_stack):
    stack = make_stack(learned=CASCADE.format(budget=5000))
    stack.slm.control(logprob=-3.0)  # every draft would escalate
    c = stack.client()
    # Personal data under local_only: the SLM answers, however unsure; nothing reaches the cloud.
    raw = c.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "email jane.doe@example.com about the invoice"}])
    assert raw.headers["x-tandem-model"] == "local-slm" and "x-tandem-cascade" not in raw.headers
    # A rule that sends code to the LLM: no draft at all.
    raw = c.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Write python code to sort a list"}])
    assert raw.headers["x-tandem-model"] == "cloud-gpt" and "x-tandem-cascade" not in raw.headers
    # The client pinned the tier: its choice stands.
    raw = c.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "hello"}], extra_headers={"x-tandem-tier": "slm"})
    assert raw.headers["x-tandem-model"] == "local-slm" and "x-tandem-cascade" not in raw.headers
    assert stack.slm.stats()["requests"] == 2 and stack.cloud.stats()["requests"] == 1
    assert all("logprobs" not in json.loads(b) for b in stack.slm.stats()["bodies"])


def test_without_an_llm_a_doubtful_draft_is_still_the_answer(make_stack):
    stack = make_stack(learned=CASCADE.format(budget=5000), env_keys=False)
    stack.slm.control(logprob=-3.0)
    raw = stack.client().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "hello"}])
    assert raw.headers["x-tandem-model"] == "local-slm"
    assert "escalation unavailable" in raw.headers["x-tandem-cascade"]
    assert raw.parse().choices[0].message.content.startswith("slm says")


def test_cascade_config_errors(make_stack, tmp_path):
    stack = make_stack()
    for bad, msg in [("  cascade: {min_confidence: 2}\n", "routing.cascade.min_confidence: must be in [0, 1]"),
                     ("  cascade: {measure: median}\n", "routing.cascade.measure: expected 'mean' or 'min'"),
                     ("  cascade: {confidence: 0.5}\n", "routing.cascade")]:
        stack.assert_config_error(bad, msg)


def _outcomes(path, n=200):
    """Synthetic outcomes of the fake SLM: the likelier its first token, the likelier it is right."""
    import random
    rng = random.Random(7)
    with open(path, "w") as f:
        for i in range(n):
            p = 0.05 + 0.9 * i / (n - 1)
            f.write(json.dumps({"slm": "fake-slm", "prompt": f"question {i}", "weak": int(rng.random() < p),
                                "strong": 1, "signals": {"first_prob": p}}) + "\n")


def test_a_calibrated_router_decides_and_calibrate_sets_its_threshold(make_stack, request, tmp_path):
    import subprocess
    tandem = request.config.getoption("--tandem-bin")
    outcomes, tcr = tmp_path / "outcomes.jsonl", tmp_path / "fake.tcr"
    _outcomes(outcomes)
    subprocess.run([tandem, "train", "--data", str(outcomes), "--signals", "first_prob", "--out", str(tcr)],
                   check=True, capture_output=True)
    stack = make_stack(learned=f"  cascade:\n    router: {tcr}\n    min_confidence: 0.5\n"
                               f"    target_accuracy: 0.9\n    ttft_budget_ms: 5000\n")
    c = stack.client()
    stack.slm.control(logprob=-0.05)  # first token probability 0.95: most such answers were right
    raw = c.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    m = re.match(r"accepted: p\(right\) (0\.\d+) >= 0\.500 \(calibrated, 8 tokens\)", raw.headers["x-tandem-cascade"])
    assert m and float(m.group(1)) > 0.8, raw.headers["x-tandem-cascade"]
    stack.slm.control(logprob=-1.2)  # 0.30: most such answers were wrong
    raw = c.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hm"}])
    assert raw.headers["x-tandem-cascade"].startswith("escalated: p(right) 0.")
    assert raw.parse().choices[0].message.content.startswith("cloud says")
    # The ledger records each draft: its tokens, cost, signals and P(right); a discarded draft is in the cost.
    rows = stack.wait_rows(2)
    kept, escalated = rows
    assert kept["model"] == "local-slm" and kept["p_right"] > 0.8 and kept["draft_tokens"] > 8
    assert json.loads(kept["signals"])["first_prob"] == pytest.approx(0.951, abs=1e-3)
    assert escalated["model"] == "cloud-gpt" and 0 < escalated["p_right"] < 0.5
    assert escalated["draft_cost_usd"] > 0
    llm_cost = (escalated["prompt_tokens"] * 2.5 + escalated["completion_tokens"] * 10) / 1e6
    assert escalated["cost_usd"] == pytest.approx(llm_cost + escalated["draft_cost_usd"], rel=1e-6)
    # calibrate --cascade: the threshold for a target accuracy on labelled outcomes, written into the config.
    out = subprocess.run([tandem, "calibrate", "--cascade", "-c", str(stack.config_path), "--outcomes",
                          str(outcomes), "--target-accuracy", "0.9", "--write"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    acc = float(re.search(r"accuracy:\s+([\d.]+)%", out.stdout).group(1))
    share = float(re.search(r"LLM share:\s+([\d.]+)%", out.stdout).group(1))
    assert acc >= 90 and 0 < share < 100
    written = float(re.search(r"min_confidence: ([\d.]+)", stack.config_path.read_text()).group(1))
    assert written != 0.5 and "target_accuracy: 0.9" in stack.config_path.read_text()
    # The label-free path refuses a target accuracy; a config without a cascade router says what is missing.
    out = subprocess.run([tandem, "calibrate", "-c", str(stack.config_path), "--sample", str(outcomes),
                          "--target-accuracy", "0.9"], capture_output=True, text=True)
    assert out.returncode == 2 and "--cascade" in out.stderr
    plain = tmp_path / "plain.yaml"
    plain.write_text(stack.config_path.read_text().replace(f"    router: {tcr}\n", ""))
    out = subprocess.run([tandem, "calibrate", "--cascade", "-c", str(plain), "--outcomes", str(outcomes)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "routing.cascade.router" in out.stderr


def test_a_cascade_router_reading_a_signal_no_draft_carries_is_refused(make_stack, request, tmp_path):
    import subprocess
    tandem = request.config.getoption("--tandem-bin")
    outcomes, tcr = tmp_path / "outcomes.jsonl", tmp_path / "perm.tcr"
    with open(outcomes, "w") as f:  # outcomes with a signal only `tandem outcomes --permute` measures
        for i in range(40):
            f.write(json.dumps({"slm": "fake-slm", "prompt": f"q{i}", "weak": i % 2, "strong": 1,
                                "signals": {"first_prob": 0.5, "perm_prob": 0.2 + 0.6 * (i % 2)}}) + "\n")
    subprocess.run([tandem, "train", "--data", str(outcomes), "--signals", "first_prob,perm_prob", "--out", str(tcr)],
                   check=True, capture_output=True)
    stack = make_stack()
    stack.assert_config_error(f"  cascade:\n    router: {tcr}\n",
                              "it reads the signal 'perm_prob', which a draft does not carry")
