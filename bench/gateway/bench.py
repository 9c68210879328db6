#!/usr/bin/env python3
"""Gateway benchmark: the fake upstream called directly, through Tandem (routing and ledger on), and through
LiteLLM's proxy, in one run, at fixed rates with an open-loop generator (loadgen). Prints the latency each
gateway adds over the direct call, the highest rate each sustains, Tandem's peak RSS, and a run of 2,000
concurrent slow streams through Tandem. Absolute figures are only meaningful with the machine line printed
first; the ratios are measured in the same run."""
import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build/release"
BODY = json.dumps({"model": "auto", "messages": [
    {"role": "user", "content": "Summarize in two sentences why routing easy prompts to a small local model "
                                "and hard ones to a large cloud model saves money."}]})


def start(args, env=None, wait_port=None):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    if wait_port is None:
        line = p.stdout.readline()
        assert line.startswith("listening "), f"{args[0]} failed to start: {line!r}"
        return p, int(line.split()[1])
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{wait_port}/health/liveliness", timeout=1)
            return p, wait_port
        except Exception:
            if p.poll() is not None:
                raise RuntimeError("LiteLLM exited at start-up")
            time.sleep(0.2)
    raise RuntimeError("LiteLLM did not become ready")


KEY = "sk-bench-0123456789abcdef"  # both gateways authenticate clients, as in production


def load(port, rate, duration, body=BODY, concurrent=0):
    args = [str(BUILD / "bench/gateway/loadgen"), "--target", f"127.0.0.1:{port}", "--body", body,
            "--header", f"authorization: Bearer {KEY}"]
    args += ["--concurrent", str(concurrent)] if concurrent else ["--rate", str(rate), "--duration", str(duration)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 120).stdout
    return json.loads(out)


def rss_kib(pid, field="VmHWM"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def sustained(r, rate):
    return r["errors"] == 0 and r["ok"] >= 0.99 * r["sent"] and r["achieved_rate"] >= 0.97 * rate and \
        r["p99_us"] < 100_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="250,500,1000,2000,4000")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--streams", type=int, default=2000)
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--busy-poll-us", type=int, default=0, help="Tandem's server.busy_poll_us")
    ap.add_argument("--json", help="write all results here")
    a = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rates = [int(x) for x in a.rates.split(",")]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"machine: {platform.machine()} {cpu}, {os.cpu_count()} cores; loadgen, fake, gateways share them")
    tmp = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    procs = []
    try:
        fake, fake_port = start([str(BUILD / "tools/fake_upstream/fake_upstream"), "--port", "0", "--threads", "1"])
        procs.append(fake)
        cfg = tmp / "tandem.yaml"
        cfg.write_text(f"""
server: {{listen: "127.0.0.1:0", workers: 1, busy_poll_us: {a.busy_poll_us}}}
ledger: {{path: {tmp}/ledger.db}}
auth: {{keys: [{{id: bench, key_env: TANDEM_BENCH_KEY}}]}}
models:
  - {{name: slm, base_url: "http://127.0.0.1:{fake_port}/v1", tier: slm, price: {{input: 0.02, output: 0.04}}}}
  - {{name: llm, base_url: "http://127.0.0.1:{fake_port}/v1", tier: llm, price: {{input: 2.5, output: 10}}}}
routing:
  privacy: local_only
  rules:
    - {{name: code, if: {{task: [code, math]}}, then: llm}}
    - {{name: long, if: {{min_tokens: 1500}}, then: llm}}
""")
        tandem, tandem_port = start([str(BUILD / "src/tandem"), "serve", "-c", str(cfg)],
                                    env=dict(os.environ, TANDEM_BENCH_KEY=KEY))
        procs.append(tandem)
        targets = {"direct": fake_port, "tandem": tandem_port}
        if shutil.which("socat"):  # a null proxy: the floor any extra hop costs on this machine
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                nport = probe.getsockname()[1]
            procs.append(subprocess.Popen(["socat", f"TCP-LISTEN:{nport},bind=127.0.0.1,reuseaddr,fork",
                                           f"TCP:127.0.0.1:{fake_port},nodelay"], stderr=subprocess.DEVNULL))
            time.sleep(0.3)
            targets["null-proxy"] = nport
        if not a.no_litellm:
            litellm_bin = ROOT / ".venv-bench/bin/litellm"
            lcfg = tmp / "litellm.yaml"
            lcfg.write_text(f"""
model_list:
  - model_name: auto
    litellm_params: {{model: openai/gpt-4o, api_base: "http://127.0.0.1:{fake_port}/v1", api_key: sk-fake}}
litellm_settings: {{telemetry: false, turn_off_message_logging: true}}
general_settings: {{master_key: {KEY}}}
""")
            env = dict(os.environ, LITELLM_LOG="ERROR", LITELLM_TELEMETRY="False")
            lport = 19400
            litellm, _ = start([str(litellm_bin), "--config", str(lcfg), "--port", str(lport), "--num_workers", "1"],
                               env=env, wait_port=lport)
            procs.append(litellm)
            targets["litellm"] = lport
        for name, port in targets.items():  # warm-up: connections, caches, the Python interpreter
            load(port, 100, 1)
        results = {name: {} for name in targets}
        alive = set(targets)
        for rate in rates:
            for name in targets:
                if name not in alive:
                    continue
                r = load(targets[name], rate, a.duration)
                results[name][rate] = r
                if not sustained(r, rate):
                    alive.discard(name)  # it fell behind; higher rates only get worse
        tandem_rss = rss_kib(tandem.pid)
        peers = [n for n in ("null-proxy", "tandem", "litellm") if n in targets]
        print(f"\n{'rate':>6} | {'direct p50/p99 us':>18} | " +
              " | ".join(f"{n + ' adds p50/p99':>22}" for n in peers))
        for rate in rates:
            d = results["direct"].get(rate)
            if not d:
                continue
            row = f"{rate:>6} | {d['p50_us']:>8}/{d['p99_us']:<9} |"
            for name in peers:
                r = results.get(name, {}).get(rate)
                cell = f"{r['p50_us'] - d['p50_us']:>9}/{r['p99_us'] - d['p99_us']:<9}" if r else "-"
                if r and not sustained(r, rate):
                    cell += " (fell behind)"
                row += f" {cell:>22} |"
            print(row)
        best = {n: max([rt for rt, r in res.items() if sustained(r, rt)], default=0) for n, res in results.items()}
        print("\nhighest sustained rate (req/s, of those tried): " + ", ".join(f"{n} {v}" for n, v in best.items()))
        if "litellm" in results and best["litellm"]:
            rt = best["litellm"]
            d, t, l = results["direct"][rt], results["tandem"][rt], results["litellm"][rt]
            tp99 = max(t["p99_us"] - d["p99_us"], 1)
            lp99 = l["p99_us"] - d["p99_us"]
            print(f"at {rt} req/s (LiteLLM's highest): LiteLLM adds p99 {lp99} us, Tandem {tp99} us: "
                  f"ratio {lp99 / tp99:.1f}x")
        print(f"tandem peak RSS after the rate runs: {tandem_rss / 1024:.1f} MiB")

        # 2,000 concurrent slow streams: each answer is 20 chunks 100 ms apart (~2 s).
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{fake_port}/_control", data=b'{"chunk_delay_ms":100,"words":20}', method="POST"))
        stream_body = json.dumps({**json.loads(BODY), "stream": True})
        before = rss_kib(tandem.pid, "VmRSS")
        s = load(tandem_port, 0, 0, body=stream_body, concurrent=a.streams)
        print(f"\n{a.streams} concurrent slow streams through tandem: ok {s['ok']}, errors {s['errors']} "
              f"{s['first_error']}, p50 {s['p50_us'] / 1e6:.2f} s, max {s['max_us'] / 1e6:.2f} s; "
              f"RSS {before / 1024:.1f} -> peak {rss_kib(tandem.pid) / 1024:.1f} MiB, "
              f"after {rss_kib(tandem.pid, 'VmRSS') / 1024:.1f} MiB")
        if a.json:
            Path(a.json).write_text(json.dumps({"rates": results, "best": best, "tandem_rss_kib": tandem_rss,
                                                "streams": s}, indent=1))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
