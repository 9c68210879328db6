#!/usr/bin/env python3
"""llama.cpp side of bench/engine: the same measurements as `tandem bench-engine`, through llama-cpp-python.

Same synthetic token ids, same context (1024), same thread count, batch 512; prints one JSON object of medians
including this process's peak RSS. Run by bench.py with the interpreter of the venv that has llama_cpp.
"""
import argparse
import json
import statistics
import time

import numpy as np
from llama_cpp import Llama


def vm_hwm_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tg", type=int, default=128)
    a = ap.parse_args()
    m = Llama(a.model, n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=a.threads, n_threads_batch=a.threads,
              verbose=False)
    n_vocab = m.n_vocab()

    def prompt(n):
        return [100 + (i * 7919) % (n_vocab - 200) for i in range(n)]

    def last_logits():
        return m.scores[m.n_tokens - 1]

    m.reset()
    m.eval(prompt(16))  # warm-up: touch the weights
    out = {"threads": a.threads}
    for n in (128, 512):
        v = []
        p = prompt(n)
        for _ in range(a.reps):
            m.reset()
            t0 = time.perf_counter()
            m.eval(p)
            v.append(n / (time.perf_counter() - t0))
        out[f"pp{n}_tok_s"] = statistics.median(v)
    v = []
    for _ in range(a.reps):
        m.reset()
        p = prompt(64)
        t0 = time.perf_counter()
        m.eval(p)
        int(np.argmax(last_logits()))
        v.append((time.perf_counter() - t0) * 1000)
    out["ttft64_ms"] = statistics.median(v)
    v = []
    for _ in range(a.reps):
        m.reset()
        m.eval(prompt(8))
        t0 = time.perf_counter()
        for _ in range(a.tg):
            tok = int(np.argmax(last_logits()))
            m.eval([tok])
        v.append(a.tg / (time.perf_counter() - t0))
    out[f"tg{a.tg}_tok_s"] = statistics.median(v)
    out["peak_rss_mib"] = vm_hwm_mib()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
