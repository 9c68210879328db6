#!/usr/bin/env python3
"""bench/slots: the local tier under concurrency. Tandem's in-process engine (continuous batching over slots)
against llama.cpp's own llama-server (parallel slots, continuous batching), same model, same threads, same run.

One streamed request alone, then N at once (greedy, 64 tokens each): aggregate generated tok/s, each stream's
time to first token, and the ratios the engine issue asks for. Usage: bench/slots/run.sh [--n 8] [--rounds 2]
"""
import argparse
import concurrent.futures as cf
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parents[2]
TOPICS = ["a lighthouse", "a lost key", "the first snow", "a robot chef", "an old map", "a night train",
          "a quiet library", "a desert well", "a paper boat", "a broken clock", "a red kite", "a mountain hut"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, timeout=300):
    deadline = time.time() + timeout
    c = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=30)
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited: {proc.returncode}")
        try:
            c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=1)
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.5)
    sys.exit("server did not come up")


def start_tandem(model, threads, n, ctx, tmp):
    port = free_port()
    cfg = Path(tmp) / "tandem.yaml"
    cfg.write_text(f"""server: {{listen: 127.0.0.1:{port}, workers: 2}}
ledger: {{path: {tmp}/ledger.db}}
models:
  - name: m
    provider: local
    gguf: {model}
    threads: {threads}
    context: {ctx}
    slots: {n}
    tier: slm
    timeouts: {{first_token_ms: 600000, total_ms: 600000}}
routing: {{default: slm}}
""")
    proc = subprocess.Popen([str(ROOT / "build/release/src/tandem"), "serve", "-c", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}/v1"


def start_llama(model, threads, n, ctx):
    port = free_port()
    proc = subprocess.Popen([str(ROOT / "build/llama-server/bin/llama-server"), "-m", str(model), "-t", str(threads),
                             "-tb", str(threads), "-np", str(n), "-c", str(ctx * n), "--cont-batching",
                             "--host", "127.0.0.1", "--port", str(port), "--no-webui"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}/v1"


def one(url, topic, max_tokens):
    c = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=600)
    t0 = time.perf_counter()
    ttft, tokens = None, 0
    for ch in c.chat.completions.create(model="m", stream=True, temperature=0, max_tokens=max_tokens,
                                        messages=[{"role": "user", "content": f"Write a short story about {topic}."}],
                                        stream_options={"include_usage": True}):
        if ch.choices and ch.choices[0].delta.content and ttft is None:
            ttft = time.perf_counter() - t0
        if ch.usage:
            tokens = ch.usage.completion_tokens
    return ttft or 0.0, tokens, time.perf_counter() - t0


def measure(url, n, max_tokens, round_no):
    ttft1, tok1, wall1 = one(url, TOPICS[round_no % len(TOPICS)], max_tokens)
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(n) as ex:
        res = list(ex.map(lambda i: one(url, TOPICS[(round_no + i) % len(TOPICS)], max_tokens), range(n)))
    wall = time.perf_counter() - t0
    return {"ttft_alone_s": ttft1, "tok_s_alone": tok1 / wall1, "tok_s_n": sum(r[1] for r in res) / wall,
            "ttft_max_s": max(r[0] for r in res), "ttft_mean_s": sum(r[0] for r in res) / n, "tokens_n": sum(r[1] for r in res)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", choices=["tandem", "llama"], default=None)
    a = ap.parse_args()
    results = {"tandem": [], "llama": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):  # alternate the servers so drift on the machine hits both alike
            for name in ("tandem", "llama"):
                if a.only and name != a.only:
                    continue
                proc, url = (start_tandem(a.model, a.threads, a.n, a.ctx, tmp) if name == "tandem"
                             else start_llama(a.model, a.threads, a.n, a.ctx))
                try:
                    wait_ready(url, proc)
                    results[name].append(measure(url, a.n, a.max_tokens, r))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
    best = {k: max(v, key=lambda m: m["tok_s_n"]) for k, v in results.items() if v}
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, threads {a.threads}, "
          f"{Path(a.model).name}, {a.n} streams x {a.max_tokens} tokens, best of {a.rounds}")
    for k, m in best.items():
        print(f"{k:7s} alone {m['tok_s_alone']:6.1f} tok/s (first token {m['ttft_alone_s']*1000:6.0f} ms) | "
              f"{a.n} at once {m['tok_s_n']:6.1f} tok/s aggregate ({m['tok_s_n']/m['tok_s_alone']:.2f}x alone), "
              f"first token mean {m['ttft_mean_s']*1000:6.0f} ms, max {m['ttft_max_s']*1000:6.0f} ms")
    if len(best) == 2:
        print(f"tandem / llama-server, {a.n} at once: {best['tandem']['tok_s_n'] / best['llama']['tok_s_n']:.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
