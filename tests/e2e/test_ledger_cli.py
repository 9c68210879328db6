"""The ledger survives SIGKILL; the CLI's check-config, route --explain, report; SIGHUP reload."""
import os
import signal
import subprocess
import threading
import time

import openai
import pytest
from conftest import _start


def test_no_answered_request_is_lost_on_sigkill(stack):
    stack.slm.control(latency_ms=2)
    answered, stop = [], threading.Event()
    lock = threading.Lock()

    def worker(i):
        c = stack.client()
        while not stop.is_set():
            try:
                raw = c.chat.completions.with_raw_response.create(
                    model="auto", stream=(i % 2 == 0), messages=[{"role": "user", "content": f"load {i}"}])
                if i % 2 == 0:
                    list(raw.parse())  # the whole stream, [DONE] included
                else:
                    raw.parse()
                with lock:
                    answered.append(raw.headers["x-request-id"])
            except (openai.APIError, openai.APIConnectionError):
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    os.kill(stack.proc.pid, signal.SIGKILL)
    stack.proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(answered) > 50, "the load did not run"
    # The next start recovers what the killed process had journaled but not yet committed to SQLite.
    restarted, _ = _start([stack.tandem_bin, "serve", "-c", str(stack.config_path)], env=stack.env)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=15) == 0
    ids = {r["request_id"] for r in stack.rows()}
    missing = [a for a in answered if a not in ids]
    assert not missing, f"{len(missing)} of {len(answered)} answered requests missing from the ledger"


def run(stack, *args, env=None):
    return subprocess.run([stack.tandem_bin, *args], capture_output=True, text=True, timeout=30,
                          env=env or stack.env)


def test_check_config_names_file_and_line(stack, tmp_path):
    ok = run(stack, "check-config", str(stack.config_path))
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(stack.config_path.read_text().replace("tier: llm", "tier: large", 1))
    r = run(stack, "check-config", str(bad))
    assert r.returncode == 1
    line = next(i + 1 for i, l in enumerate(bad.read_text().splitlines()) if "tier: large" in l)
    assert f"{bad}:{line}: models[1].tier" in r.stderr


def test_route_explain(stack):
    r = run(stack, "route", "--explain", "Write python code to email jane@example.com", "-c", str(stack.config_path))
    assert r.returncode == 0
    assert "model:     local-slm" in r.stdout and "personal data: email" in r.stdout and "local only" in r.stdout
    r = run(stack, "route", "--explain", "Write python code to sort a list", "-c", str(stack.config_path))
    assert "model:     cloud-gpt" in r.stdout and "rule code-and-math" in r.stdout


def test_report(stack):
    c = stack.client()
    for _ in range(3):
        c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hello"}])
    c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "write python code"}])
    stack.wait_rows(4)
    r = run(stack, "report", "--since", "7d", "-c", str(stack.config_path))
    assert r.returncode == 0, r.stderr
    assert "requests            4" in r.stdout
    assert "slm" in r.stdout and "75.0%" in r.stdout and "25.0%" in r.stdout
    assert "savings" in r.stdout and "projected monthly" in r.stdout
    assert run(stack, "report", "--since", "soon", "-c", str(stack.config_path)).returncode == 2


def test_sighup_reloads_without_dropping_streams(stack):
    stack.slm.control(chunk_delay_ms=50, words=20)  # a one-second stream
    c = stack.client()
    result = {}

    def slow():
        chunks = list(c.chat.completions.create(model="local-slm", stream=True,
                                                messages=[{"role": "user", "content": "slow"}]))
        result["text"] = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.2)
    stack.write_config(privacy="off")
    text = stack.config_path.read_text().replace("default: slm", "default: llm")
    stack.config_path.write_text(text)
    os.kill(stack.proc.pid, signal.SIGHUP)
    time.sleep(0.3)
    raw = c.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hello"}])
    assert raw.headers["x-tandem-model"] == "cloud-gpt"  # the new default applies
    t.join(timeout=10)
    assert result["text"].startswith("slm says: slow") and len(result["text"].split()) == 21

    stack.config_path.write_text("models: [")  # a broken config is refused; the running one stays
    os.kill(stack.proc.pid, signal.SIGHUP)
    time.sleep(0.3)
    raw = c.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hello"}])
    assert raw.headers["x-tandem-model"] == "cloud-gpt"
    assert stack.proc.poll() is None


def test_without_a_cloud_key_the_slm_answers_and_says_so(make_stack):
    stack = make_stack(env_keys=False)
    raw = stack.client().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Write python code to sort a list"}])
    assert raw.headers["x-tandem-model"] == "local-slm"
    assert "TANDEM_TEST_OPENAI_KEY" in raw.headers["x-tandem-escalation"]
    assert stack.cloud.stats()["requests"] == 0
    stack.proc.send_signal(signal.SIGTERM)
    stack.proc.wait(timeout=10)
    err = stack.proc.stderr.read()
    assert "LLM tier is missing" in err
    assert "sk-cloud-secret" not in err
