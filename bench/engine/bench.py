#!/usr/bin/env python3
"""Tandem's engine against llama.cpp (llama-cpp-python) on the same GGUF files, same thread count, same run.

Each round runs `tandem bench-engine` and llama_cpp_bench.py one after the other (each in its own process, so
peak RSS is per engine), alternating which goes first; medians over rounds are reported with their ratios.
Metrics: prompt processing tok/s at 128 and 512 tokens, generation tok/s over 128 tokens, time to first token
for a 64-token prompt, peak RSS. Bars from the engine issue are checked at the end.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = {
    "SmolLM2-135M Q4_1": "models/SmolLM2-135M-Instruct.Q4_1.gguf",
    "Gemma3-270M Q4_K_M": "models/gemma-3-270m-q4_k_m.gguf",
    "Qwen2.5-Coder-0.5B Q4_K_M": "models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "Qwen2.5-Coder-1.5B Q4_K_M": "models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
}
# llama.cpp's side: llama-cpp-python's Python package from its sdist over the llama.cpp that
# scripts/setup.sh --with-llama-server builds (every SIMD extension of this CPU but AMX), unless --python names
# a venv that has llama_cpp installed.
LLAMA_ENV = {"PYTHONPATH": os.path.join(ROOT, "build/llama-src/llama_cpp_python-0.3.36"),
             "LLAMA_CPP_LIB_PATH": os.path.join(ROOT, "build/llama-server/bin")}
METRICS = [("pp128_tok_s", "prompt 128 tok/s", True), ("pp512_tok_s", "prompt 512 tok/s", True),
           ("tg128_tok_s", "generate 128 tok/s", True), ("ttft64_ms", "first token, 64-token prompt (ms)", False),
           ("peak_rss_mib", "peak RSS (MiB)", False)]


def run_json(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT, env={**os.environ, **(env or {})})
    return json.loads(r.stdout.strip().splitlines()[-1])


def decode_bytes(path):
    """Weight bytes one decode step reads: every tensor but the token embedding, which is read one row per token,
    unless the model has no output matrix and multiplies by the embedding instead (tied weights)."""
    from gguf import GGUFReader  # the gguf package the tiny-model tests use
    sizes = {t.name: int(t.n_bytes) for t in GGUFReader(path).tensors}
    tied = "output.weight" not in sizes
    return sum(n for name, n in sizes.items() if name != "token_embd.weight" or tied)


def read_bandwidth_gbs(threads, mib=1024, reps=5):
    """This machine's memory read bandwidth with `threads` threads: each sums its part of a 1 GiB array (numpy
    releases the GIL); the best of `reps`. Decode reads every weight once per token, so this is its ceiling."""
    data = np.ones(mib * 1024 * 1024 // 8)
    parts = np.array_split(data, threads)
    best = 0.0
    for _ in range(reps):
        workers = [threading.Thread(target=p.sum) for p in parts]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        best = max(best, data.nbytes / (time.perf_counter() - t0) / 1e9)
    return best


def machine():
    name = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", default=os.path.join(ROOT, "build/release/src/tandem"))
    ap.add_argument("--python", default="", help="a venv's python with llama_cpp installed (default: .venv over "
                    "build/llama-server's llama.cpp)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/engine/RESULTS.txt"))
    a = ap.parse_args()
    llama_env = None if a.python else LLAMA_ENV
    a.python = a.python or os.path.join(ROOT, ".venv/bin/python")
    lines = [f"bench/engine — {time.strftime('%Y-%m-%d %H:%M')} — {machine()}",
             f"threads {a.threads}, {a.rounds} rounds x {a.reps} repetitions, medians; ratio = Tandem / llama.cpp "
             "for speeds, llama.cpp / Tandem for time and memory (above 1: Tandem better)", ""]
    verdicts = []
    bandwidth = read_bandwidth_gbs(a.threads)
    lines[1:1] = [f"memory read bandwidth, {a.threads} threads: {bandwidth:.1f} GB/s (numpy sums over 1 GiB, best of 5)"]
    for label in a.models.split(","):
        path = os.path.join(ROOT, MODELS[label])
        if not os.path.exists(path):
            lines.append(f"{label}: {path} missing (scripts/setup.sh --with-models)")
            continue
        ours, theirs = [], []
        for r in range(a.rounds):
            t_cmd = [a.tandem, "bench-engine", "-m", path, "-t", str(a.threads), "--reps", str(a.reps)]
            l_cmd = [a.python, "bench/engine/llama_cpp_bench.py", "--model", path, "--threads", str(a.threads),
                     "--reps", str(a.reps)]
            for cmd, sink in ((t_cmd, ours), (l_cmd, theirs)) if r % 2 == 0 else ((l_cmd, theirs), (t_cmd, ours)):
                sink.append(run_json(cmd, llama_env if cmd is l_cmd else None))
        lines.append(f"{label}")
        lines.append(f"  {'metric':38s} {'Tandem':>10s} {'llama.cpp':>10s} {'ratio':>7s}")
        ratio = {}
        for key, name, higher_better in METRICS:
            t = statistics.median(x[key] for x in ours)
            l = statistics.median(x[key] for x in theirs)
            ratio[key] = t / l if higher_better else l / t
            lines.append(f"  {name:38s} {t:10.1f} {l:10.1f} {ratio[key]:7.2f}")
        step = decode_bytes(path)
        for who, runs in (("Tandem", ours), ("llama.cpp", theirs)):
            gbs = step * statistics.median(x["tg128_tok_s"] for x in runs) / 1e9
            lines.append(f"  {who} decode weight reads: {gbs:.1f} GB/s ({step / 1e6:.0f} MB per token), "
                         f"{100 * gbs / bandwidth:.0f}% of the measured bandwidth")
        lines.append(f"  Tandem kernels: {ours[0]['isa']}")
        lines.append("")
        if label.startswith("SmolLM2"):
            ttft = statistics.median(x["ttft64_ms"] for x in ours)
            verdicts += [("SmolLM2 generation >= 1.0x llama.cpp", ratio["tg128_tok_s"] >= 1.0),
                         ("SmolLM2 prompt processing >= 0.8x (128 and 512)",
                          min(ratio["pp128_tok_s"], ratio["pp512_tok_s"]) >= 0.8),
                         (f"SmolLM2 first token <= 50 ms for 64 tokens (measured {ttft:.0f} ms)", ttft <= 50),
                         ("SmolLM2 peak RSS <= llama.cpp's", ratio["peak_rss_mib"] >= 1.0)]
        elif label.startswith("Qwen"):
            short = label.split(" ")[0]
            verdicts += [(f"{short} generation >= 1.0x llama.cpp", ratio["tg128_tok_s"] >= 1.0),
                         (f"{short} prompt processing >= 1.0x (128 and 512)",
                          min(ratio["pp128_tok_s"], ratio["pp512_tok_s"]) >= 1.0),
                         (f"{short} peak RSS <= llama.cpp's", ratio["peak_rss_mib"] >= 1.0)]
        else:
            verdicts += [("Gemma3 generation >= 0.8x llama.cpp", ratio["tg128_tok_s"] >= 0.8),
                         ("Gemma3 prompt processing >= 0.8x (128 and 512)",
                          min(ratio["pp128_tok_s"], ratio["pp512_tok_s"]) >= 0.8),
                         ("Gemma3 peak RSS <= llama.cpp's", ratio["peak_rss_mib"] >= 1.0)]
    lines.append("bars:")
    lines += [f"  {'met    ' if ok else 'NOT MET'} {name}" for name, ok in verdicts]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
