#!/usr/bin/env python3
"""What a durable workflow step costs beyond its model call.

Runs an N-step chain workflow (each step's prompt reads the previous output) with `tandem run` against the fake
upstream, then, in the same process lifetime of the fake, N plain requests through `tandem serve` with the same
prompts. Prints wall time per step for both and their ratio, and the runner's own time per step (wall time minus
the time the ledger says was spent waiting on the model). The peer is the plain request path, measured in the
same run; absolute figures depend on the machine.

    python3 bench/agency/run_bench.py [--steps 50] [--latency-ms 0]
"""
import argparse
import json
import pathlib
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/e2e"))
from conftest import Fake, _start  # noqa: E402

CONFIG = """
server: {{listen: 127.0.0.1:0, workers: 2}}
ledger: {{path: {ledger}}}
models:
  - name: slm
    provider: openai
    base_url: {url}/v1
    tier: slm
    price: {{input: 0.1, output: 0.2}}
routing:
  default: slm
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--tandem-bin", default=str(ROOT / "build/release/src/tandem"))
    ap.add_argument("--fake-bin", default=str(ROOT / "build/release/tools/fake_upstream/fake_upstream"))
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp())
    fake = Fake(a.fake_bin, "slm", "--latency-ms", str(a.latency_ms))
    try:
        cfg = tmp / "tandem.yaml"
        cfg.write_text(CONFIG.format(ledger=tmp / "ledger.db", url=fake.url))
        steps = ["  - {id: s0, prompt: \"step 0\"}"]
        steps += [f"  - {{id: s{i}, prompt: \"step {i} after {{{{ steps.s{i - 1}.output }}}}\"}}" for i in range(1, a.steps)]
        wf = tmp / "chain.yaml"
        wf.write_text("name: chain\nsteps:\n" + "\n".join(steps) + "\n")

        t0 = time.perf_counter()
        r = subprocess.run([a.tandem_bin, "run", str(wf), "-c", str(cfg)], capture_output=True, text=True)
        wf_s = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(r.stdout + r.stderr)
        run_id = r.stdout.split("run ", 1)[1].split(":", 1)[0]
        db = sqlite3.connect(tmp / "ledger.db")
        upstream_us = sum(row[0] - row[1] for row in db.execute(
            "SELECT total_us, overhead_us FROM requests WHERE request_id LIKE ?", (run_id + "/%",)))
        db.close()
        prompts = [json.loads(b)["messages"][-1]["content"] for b in fake.stats()["bodies"]][-a.steps:]

        proc, port = _start([a.tandem_bin, "serve", "-c", str(cfg)])
        try:
            t0 = time.perf_counter()
            for p in prompts:
                body = json.dumps({"model": "auto", "messages": [{"role": "user", "content": p}]}).encode()
                req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body,
                                             headers={"content-type": "application/json"})
                urllib.request.urlopen(req, timeout=30).read()
            plain_s = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait()
    finally:
        fake.stop()
    n = a.steps
    print(f"{n}-step chain workflow, fake upstream latency {a.latency_ms} ms")
    print(f"  tandem run (process start, validation, a checkpoint per step): {1000 * wf_s / n:8.2f} ms/step")
    print(f"  plain requests through tandem serve (same prompts):           {1000 * plain_s / n:8.2f} ms/step")
    print(f"  ratio workflow / plain: {wf_s / plain_s:.2f}x")
    print(f"  runner's own time (wall minus time waiting on the model):     "
          f"{(1e6 * wf_s - upstream_us) / n / 1000:8.2f} ms/step")


if __name__ == "__main__":
    main()
