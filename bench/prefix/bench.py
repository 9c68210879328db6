#!/usr/bin/env python3
"""bench/prefix: first token of a request that shares a long prefix (a ~1,000-token system prompt) with an
earlier one, against the same request cold. Tandem's in-process engine (PrefixCache over slots) and llama.cpp's
llama-server (cache_prompt), same model, same threads, same run.

Per server, freshly started: the prefix with question A (cold); with question B right after (warm, same slot);
then one unrelated request per slot, so every slot has moved on, and the prefix with question C (warm, after
other traffic). Prints each first-token time and its share of the cold one (the issue's bar: <= 15%).
Usage: bench/prefix/run.sh [--model ...] [--slots 8]
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slots"))
from bench import ROOT, start_llama, start_tandem, wait_ready  # noqa: E402

POLICY = ["Refunds are issued within {n} days of a written request.",
          "Orders above {n} euros ship free of charge to any address in the union.",
          "Support answers in the customer's language and never promises dates it cannot keep.",
          "A replacement part number {n} supersedes every earlier revision of that part.",
          "Escalate to a human when the customer mentions a lawyer, a safety issue or fraud.",
          "Quote prices with tax included and say which currency they are in."]


def system_prompt(lines):
    body = "\n".join(f"{i + 1}. " + POLICY[i % len(POLICY)].format(n=7 + 13 * i) for i in range(lines))
    return "You are the support assistant of ACME Parts. Follow these policies exactly:\n" + body


def first_token(url, messages):
    c = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=600)
    t0 = time.perf_counter()
    ttft, usage = None, None
    for ch in c.chat.completions.create(model="m", stream=True, temperature=0, max_tokens=4, messages=messages,
                                        stream_options={"include_usage": True}):
        if ch.choices and ch.choices[0].delta.content and ttft is None:
            ttft = time.perf_counter() - t0
        if ch.usage:
            usage = ch.usage
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details else None
    return ttft or (time.perf_counter() - t0), usage.prompt_tokens if usage else 0, cached


def measure(url, system, slots):
    ask = lambda q: first_token(url, [{"role": "system", "content": system}, {"role": "user", "content": q}])  # noqa
    cold = ask("Can I return a part after three weeks?")
    same = ask("Do you ship to Norway for free?")
    for i in range(slots):
        first_token(url, [{"role": "user", "content": f"Say the number {i} in words, and nothing else."}])
    after = ask("Which part number replaces revision two?")
    return {"cold": cold, "warm": same, "after_others": after}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--lines", type=int, default=62, help="policy lines in the system prompt (~16 tokens each)")
    ap.add_argument("--only", choices=["tandem", "llama"], default=None)
    a = ap.parse_args()
    system = system_prompt(a.lines)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("tandem", "llama"):
            if a.only and name != a.only:
                continue
            proc, url = (start_tandem(a.model, a.threads, a.slots, a.ctx, tmp) if name == "tandem"
                         else start_llama(a.model, a.threads, a.slots, a.ctx))
            try:
                wait_ready(url, proc)
                results[name] = measure(url, system, a.slots)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, threads {a.threads}, "
          f"{Path(a.model).name}, {a.slots} slots")
    for name, m in results.items():
        cold = m["cold"][0]
        print(f"{name:7s} prompt {m['cold'][1]} tokens: cold first token {cold * 1000:7.0f} ms | "
              f"warm {m['warm'][0] * 1000:6.0f} ms ({m['warm'][0] / cold:5.1%}, cached {m['warm'][2]}) | "
              f"after {a.slots} other requests {m['after_others'][0] * 1000:6.0f} ms "
              f"({m['after_others'][0] / cold:5.1%}, cached {m['after_others'][2]})")
    if len(results) == 2:
        print("tandem / llama-server first token: cold %.2fx, warm %.2fx, after others %.2fx (below 1: tandem faster)"
              % tuple(results["tandem"][k][0] / results["llama"][k][0] for k in ("cold", "warm", "after_others")))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
