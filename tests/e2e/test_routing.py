"""Routing beyond the rules: calibration of the learned router's threshold, and the realised share."""
import json
import os
import random
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

ROUTER = Path(__file__).resolve().parents[2] / "routers/mmlu.tlr"

TOPICS = ["the French revolution", "photosynthesis", "a haiku about rain", "the capital of Peru", "supply and demand",
          "the causes of World War I", "how vaccines work", "a polite refusal email", "the rules of chess",
          "plate tectonics", "the moral status of animals", "a limerick about cats", "Kant's categorical imperative",
          "the difference between weather and climate", "a summary of Hamlet", "the history of jazz"]
FORMS = ["Explain {} briefly.", "Write two sentences on {}.", "What should a student know about {}?",
         "Give me three facts about {}.", "Which is the most surprising thing about {}?"]


def sample_prompts(n, seed):
    rng = random.Random(seed)
    return [rng.choice(FORMS).format(rng.choice(TOPICS)) + f" (#{i})" for i in range(n)]


def metric(url, name):
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_calibrated_threshold_sends_the_target_share_and_the_gateway_reports_it(make_stack, tmp_path):
    stack = make_stack(privacy="off",
                       learned=f"  learned: {{model: {ROUTER}, threshold: 0.5, target_llm_share: 0.9}}\n")
    prompts = sample_prompts(80, seed=3)
    sample = tmp_path / "sample.jsonl"
    # Both sample formats: a bare prompt and a chat request body.
    sample.write_text("".join(json.dumps({"prompt": p}) + "\n" if i % 2 else
                              json.dumps({"messages": [{"role": "user", "content": p}]}) + "\n"
                              for i, p in enumerate(prompts)))
    tandem = stack.tandem_bin
    r = subprocess.run([tandem, "calibrate", "-c", str(stack.config_path), "--target-llm-share", "0.25",
                        "--sample", str(sample), "--write"], capture_output=True, text=True, timeout=60, env=stack.env)
    assert r.returncode == 0, r.stderr
    achieved = float(re.search(r"LLM share:\s+([\d.]+)%", r.stdout).group(1))
    assert abs(achieved - 25.0) <= 2.5, r.stdout
    threshold = float(re.search(r"threshold:\s+([\d.e-]+)", r.stdout).group(1))
    config = stack.config_path.read_text()
    assert f"target_llm_share: 0.25" in config and re.search(r"learned:.*[{ ]threshold: ([\d.e-]+)", config).group(1) == \
        re.search(r"threshold:\s+(\S+)", r.stdout).group(1)
    assert 0 < threshold < 1

    os.kill(stack.proc.pid, signal.SIGHUP)
    time.sleep(0.3)
    c = stack.client()
    for p in prompts:
        c.chat.completions.create(model="auto", messages=[{"role": "user", "content": p}])
    # The same traffic the threshold was calibrated on: the gateway's realised share is what calibrate said.
    assert abs(100 * metric(stack.url, "tandem_llm_share") - achieved) < 1e-6
    assert metric(stack.url, "tandem_llm_share_target") == 0.25
    rows = stack.wait_rows(len(prompts))
    learned = [row for row in rows if row["rule"] == "learned"]
    assert learned and all("learned router: score" in row["reasons"] for row in learned)

    rep = subprocess.run([tandem, "report", "-c", str(stack.config_path)], capture_output=True, text=True,
                         timeout=30, env=stack.env)
    assert rep.returncode == 0, rep.stderr
    line = re.search(r"routed to the LLM\s+([\d.]+)% of (\d+) routed requests \(calibrated for 25.0%: drift ([-+\d.]+)",
                     rep.stdout)
    assert line, rep.stdout
    assert abs(float(line.group(1)) - achieved) < 0.05 and int(line.group(2)) == len(prompts)


def test_calibrate_errors(make_stack, tmp_path):
    stack = make_stack()  # no learned router configured
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"nope": 1}\n')
    tandem = stack.tandem_bin
    r = subprocess.run([tandem, "calibrate", "-c", str(stack.config_path), "--sample", str(bad)],
                       capture_output=True, text=True, timeout=30, env=stack.env)
    assert r.returncode == 1 and "neither routing.slm_scored nor routing.learned is configured" in r.stderr
    stack.write_config(learned=f"  learned: {{model: {ROUTER}}}\n")
    r = subprocess.run([tandem, "calibrate", "-c", str(stack.config_path), "--sample", str(bad)],
                       capture_output=True, text=True, timeout=30, env=stack.env)
    assert r.returncode == 1 and f"{bad}:2:" in r.stderr
    r = subprocess.run([tandem, "calibrate", "-c", str(stack.config_path), "--sample", str(bad),
                        "--target-llm-share", "1.5"], capture_output=True, text=True, timeout=30, env=stack.env)
    assert r.returncode == 2 and "[0, 1]" in r.stderr
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in sample_prompts(20, seed=5)))
    r = subprocess.run([tandem, "calibrate", "-c", str(stack.config_path), "--sample", str(good), "--write"],
                       capture_output=True, text=True, timeout=30, env=stack.env)
    assert r.returncode == 1 and "--write needs" in r.stderr  # no threshold/target lines to rewrite
    r = subprocess.run([tandem, "calibrate", "-c", str(stack.config_path), "--sample", str(good)],
                       capture_output=True, text=True, timeout=30, env=stack.env)
    assert r.returncode == 0 and "target_llm_share: 0.2" in r.stdout


def write_routerbench_csv(path, rng):
    """A RouterBench-shaped CSV: three models, each the only one that answers its own topic well."""
    import csv
    models = ["tiny-7b", "mid-70b", "big-xl"]
    topics = {"tiny-7b": ["greet me warmly", "say hello to my team", "wish me a good morning"],
              "mid-70b": ["summarize the history of Rome", "describe the history of Egypt", "outline the history of Japan"],
              "big-xl": ["compose a sonnet about autumn", "write an ode to the sea", "craft a villanelle on loss"]}
    cost = {"tiny-7b": 0.00001, "mid-70b": 0.001, "big-xl": 0.01}
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "sample_id", "prompt", "eval_name"] + models + [m + "|total_cost" for m in models])
        for i in range(300):
            owner = models[i % 3]
            prompt = rng.choice(topics[owner]) + rng.choice(["", " please", " now", " today"])
            w.writerow([i, f"s{i}", prompt, "synthetic"] + [1.0 if m == owner else 0.0 for m in models]
                       + [cost[m] for m in models])
    return models


def test_tradeoff_router_among_three_models(make_stack, tmp_path):
    data = tmp_path / "three.csv"
    write_routerbench_csv(data, random.Random(11))
    router = tmp_path / "three.tmr"
    stack = make_stack(privacy="off")
    r = subprocess.run([stack.tandem_bin, "train", "--data", str(data), "--models", "all", "--out", str(router),
                        "--train-fraction", "0.5"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # On held-out prompts, lambda = 0 picks the model that knows: quality 100% where each single model has 33%.
    assert re.search(r"lambda=0\s+100\.00%", r.stdout), r.stdout
    assert re.search(r"^  big-xl\s+3\d\.\d\d%", r.stdout, re.M), r.stdout
    ev = subprocess.run([stack.tandem_bin, "eval", "--data", str(data), "--models", "all", "--router", f"model:{router}"],
                        capture_output=True, text=True, timeout=60)
    assert ev.returncode == 0 and "AIQ" in ev.stdout, ev.stderr

    stack.write_config(learned=f"  tradeoff:\n    router: {router}\n    lambda: 0\n"
                               "    models: {tiny-7b: local-slm, mid-70b: cloud-gpt, big-xl: cloud-claude}\n")
    os.kill(stack.proc.pid, signal.SIGHUP)
    time.sleep(0.3)
    c = stack.client()

    def served(prompt, **headers):
        raw = c.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": prompt}], extra_headers=headers)
        return raw.headers["x-tandem-model"], raw.headers["x-tandem-route"]

    model, why = served("compose a sonnet about autumn")
    assert model == "cloud-claude" and "trade-off router: lambda 0 -> cloud-claude" in why
    assert served("summarize the history of Rome")[0] == "cloud-gpt"
    assert served("say hello to my team")[0] == "local-slm"
    # Per request: a steep trade-off or a tight budget buys the cheap model; a generous budget the best one.
    assert served("compose a sonnet about autumn", **{"x-tandem-tradeoff": "50"})[0] == "local-slm"
    model, why = served("compose a sonnet about autumn", **{"x-tandem-max-cost-usd": "0.0000001"})
    assert model == "local-slm" and "budget" in why
    assert served("compose a sonnet about autumn", **{"x-tandem-max-cost-usd": "1"})[0] == "cloud-claude"
    import openai
    try:
        served("hello", **{"x-tandem-tradeoff": "lots"})
        raise AssertionError("a malformed x-tandem-tradeoff must be refused")
    except openai.BadRequestError as e:
        assert "x-tandem-tradeoff: expected a non-negative number" in str(e)
    rows = stack.wait_rows(7)
    assert sum(row["rule"] == "tradeoff" for row in rows) == 6

    # A mapping to a model the router does not know is a config error with file and line.
    stack.write_config(learned=f"  tradeoff:\n    router: {router}\n    models: {{nope: local-slm, big-xl: cloud-claude}}\n")
    chk = subprocess.run([stack.tandem_bin, "check-config", str(stack.config_path)], capture_output=True, text=True,
                         timeout=30, env=stack.env)
    assert chk.returncode == 1 and re.search(r"tandem.yaml:\d+: routing.tradeoff.router: the router has no model 'nope'",
                                             chk.stderr), chk.stderr
