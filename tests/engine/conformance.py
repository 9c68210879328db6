#!/usr/bin/env python3
"""Conformance of Tandem's engine against llama.cpp (llama-cpp-python), on real GGUF models.

For each model and each prompt of prompts.json (rendered with the model's chat format), llama.cpp generates 64
tokens greedily, token by token, and reports the logits at the last prompt position (prompt evaluated as one
batch). Tandem does the same in one process (`tandem generate --prompts-jsonl`). The script prints, per model:
tokenization agreement, the share of prompts whose 64 generated tokens are identical, the first divergence of the
others, and logit differences; with --write-fixtures it stores llama.cpp's side under fixtures/ so the test suite
can compare against it without building llama.cpp (tests/e2e/test_engine_conformance.py).

It also compares tokenization on a golden set and on random text (--random N: contractions after marks and
non-Latin scripts, unassigned code points, control-token text), and --tiny checks the tiny random model of every
architecture (tests/engine/gguf_tools.py) bit for bit.

The reference is llama.cpp built for AVX2 only (scripts/setup.sh --with-llama-ref), the order of float operations
Tandem's kernels follow; llama-cpp-python's Python side runs over it from the sdist:
  scripts/setup.sh --with-llama-ref
  PYTHONPATH=build/llama-src/llama_cpp_python-0.3.36 LLAMA_CPP_LIB_PATH=$PWD/build/llama-avx2/bin \
    .venv/bin/python tests/engine/conformance.py [--tiny] [--tokenize-only] [--write-fixtures]
llama.cpp built with AVX-512 (build/llama-server/bin) sums some Q4_0 dot products in another order: on this
suite's tiny models, 7 of 8 (qwen2) and 6 of 8 (qwen3) Q4_0 last-position logits are bit-identical against it, all
of them against the AVX2 build; greedy tokens agree on all of them either way.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
N_GEN = 64
TOP = 20

MODELS = {
    "smollm2-135m": {
        "file": "models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "format": "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                  "<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n",
    },
    "gemma3-270m": {
        "file": "models/gemma-3-270m-q4_k_m.gguf",
        "format": "<start_of_turn>user\n{p}<end_of_turn>\n<start_of_turn>model\n",
    },
    "qwen2.5-coder-0.5b": {
        "file": "models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "format": "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                  "<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n",
    },
    "qwen2.5-coder-1.5b": {
        "file": "models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "format": "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                  "<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n",
    },
}

# Random text for the tokenizers: words, contractions after letters, marks and non-Latin scripts, digits,
# punctuation, whitespace runs, control-token text and code points from anywhere (unassigned ones included).
_PIECES = ["hello", "World", " the", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'RE", "'", "''", " '",
           "don't", "日本語", "中文", "Привет", "مرحبا", "नमस्ते", "ภาษาไทย", "한국어", "é", "e\u0301", "\u0301",
           "\u0653", "\u093f", "😀", "👍🏽", "123", "4567", "3.14", "1,000", "!", "?!", "...", "--", "(", ")", "{",
           "}", "<", ">", "/", "#", "@", "$", "%", "&&", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n",
           "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<start_of_turn>", "<end_of_turn>", "<pad>",
           "ß", "ǅ", "Ⅻ", "½", "²", "٣", "߀", "\u200b", "\u00a0", "\u3000", "\u2028", "\ufeff"]


def random_texts(n, seed=1234):
    import random
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.75:
                parts.append(rng.choice(_PIECES))
            else:  # any code point but surrogates and the ones JSON lines cannot carry raw
                while True:
                    cp = rng.choice([rng.randint(0x20, 0x2FF), rng.randint(0x300, 0xFFFF), rng.randint(0x10000, 0x10FFFF)])
                    if not 0xD800 <= cp <= 0xDFFF:
                        break
                parts.append(chr(cp))
        out.append("".join(parts))
    return out


# Tokenization golden set: unicode, digits, code, runs of whitespace, control-token text.
TOKENIZE_TEXTS = [
    "Hello world", "  leading spaces", "trailing spaces   ", "tabs\tand\nnewlines\r\n", "multiple\n\n\nlines",
    "12345 67890 3.14159 1,000,000", "Ünïcödé ñoño façade", "日本語のテキスト", "한국어 텍스트", "Привет, мир!",
    "emoji 😀🎉👍🏽", "def f(x):\n    return x ** 2  # square", "if (a && b) { c++; }", "<html><body>Hi</body></html>",
    "it's don't we'll they've I'm you'd", "CAPS and MiXeD CaSe", "a   b    c     d", "x=1;y=2;z=x+y",
    "https://example.com/path?q=1&r=2", "email@example.com", "$100.00 €50 ¥1000", "\u00e9 vs e\u0301",
    "<|im_start|>user\nhi<|im_end|>", "<start_of_turn>user\nhi<end_of_turn>", "", " ", "\n",
]


def llama_tokenize(path, texts):
    from llama_cpp import Llama
    m = Llama(path, n_ctx=256, vocab_only=True, verbose=False)
    return [[int(t) for t in m.tokenize(t.encode(), add_bos=False, special=True)] for t in texts]


def llama_side(path, prompts, n_gen=N_GEN):
    from llama_cpp import Llama
    m = Llama(path, n_ctx=2048, n_threads=2, n_batch=512, logits_all=True, verbose=False)
    add_bos = m.metadata.get("tokenizer.ggml.add_bos_token", "false") == "true"
    eog = {m.token_eos()}
    for name in ("<|im_end|>", "<end_of_turn>", "<|endoftext|>", "<|end|>", "<|eot_id|>", "<|eom_id|>", "</s>", "<eos>"):
        ids = m.tokenize(name.encode(), add_bos=False, special=True)
        if len(ids) == 1:
            eog.add(ids[0])
    out = []
    for text in prompts:
        toks = m.tokenize(text.encode(), add_bos=add_bos, special=True)
        m.reset()
        m.eval(toks)
        logits = np.array(m.scores[len(toks) - 1], dtype=np.float64)
        top = np.argsort(-logits)[:TOP]
        gen = []
        m.reset()
        for t in m.generate(toks, temp=0, top_k=1, repeat_penalty=1.0):
            if t in eog or len(gen) >= n_gen:
                break
            gen.append(int(t))
        out.append({"prompt": text, "prompt_tokens": [int(t) for t in toks], "generated": gen,
                    "top_ids": [int(i) for i in top], "top_logits": [float(logits[i]) for i in top],
                    "logits": logits})
    return out


def tandem_side(tandem, path, prompts, n_gen=N_GEN):
    lines = "\n".join(json.dumps({"prompt": p}) for p in prompts) + "\n"
    r = subprocess.run([tandem, "generate", "-m", path, "--special", "--prompts-jsonl", "-", "-n", str(n_gen),
                        "--logits", "--json"], input=lines, capture_output=True, text=True, check=True)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def tandem_tokenize(tandem, path, texts):
    r = subprocess.run([tandem, "tokenize", "-m", path, "--special", "--jsonl", "-"],
                       input="\n".join(json.dumps({"text": t}) for t in texts) + "\n",
                       capture_output=True, text=True, check=True)
    return [json.loads(l) for l in r.stdout.splitlines()]


def compare(ref, ours):
    n = len(ref)
    same_tok = sum(r["prompt_tokens"] == o["prompt_tokens"] for r, o in zip(ref, ours))
    identical, diverge, rms, maxd, top1, exact = 0, [], [], [], 0, 0
    for r, o in zip(ref, ours):
        if r["generated"] == o["tokens"]:
            identical += 1
        else:
            k = next((i for i, (a, b) in enumerate(zip(r["generated"], o["tokens"])) if a != b),
                     min(len(r["generated"]), len(o["tokens"])))
            diverge.append(k)
        if "logits" in r and o.get("logits"):
            d = np.array(o["logits"]) - r["logits"]
            rms.append(float(np.sqrt(np.mean(d * d))))
            maxd.append(float(np.max(np.abs(d))))
            # Tandem prints 9 significant digits, which round-trip a float32: compare as float32, bit for bit.
            exact += bool(np.array_equal(np.array(o["logits"], dtype=np.float32), np.array(r["logits"], dtype=np.float32)))
        top1 += int(np.argmax(o["logits"])) == r["top_ids"][0]
    return {"prompts": n, "tokenization_identical": same_tok, "generation_identical": identical,
            "share_identical": identical / n, "first_divergence": sorted(diverge), "top1_agree": top1,
            "logit_rms_median": float(np.median(rms)) if rms else None, "logit_max": max(maxd) if maxd else None,
            "last_logits_bit_identical": exact}


TINY_PROMPTS = ["the", "hello world", "the hello world the hell " * 2, "world " * 9 + "hello", "the hello " * 12,
                "hell" * 20, "hello world the " * 20, "the world " * 40]
TINY_GEN = 16


ARCHS = ("llama", "llama3", "qwen2", "qwen3", "phi3", "gemma2", "gemma3")


def tiny_fixtures(tandem, archs=ARCHS):
    """The tiny random models of the test suite (every weight format in one model, and Q4_0 everywhere; gemma3's
    sliding window is 8 tokens) against llama.cpp: greedy tokens and the last prompt position's top logits, which Tandem must
    reproduce bit for bit (tests/e2e/test_engine.py::test_tiny_models_match_llama_cpp_bit_for_bit)."""
    import tempfile
    import gguf_tools
    for arch in archs:
        for label, types in (("quant", gguf_tools.ALL_TYPES), ("q4_0", gguf_tools.Q4_0_TYPES)):
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, f"tiny-{arch}.gguf")
                gguf_tools.write_tiny_model(path, arch, types)
                # Phi-3 drops the whitespace after its control tokens: a rendered chat prompt shows it.
                prompts = TINY_PROMPTS + (["<|user|>\nthe hello world<|end|>\n<|assistant|>\n"] if arch == "phi3" else [])
                ref = llama_side(path, prompts, n_gen=TINY_GEN)
                ours = tandem_side(tandem, path, prompts, n_gen=TINY_GEN)
                print(f"tiny-{arch}-{label}", json.dumps(compare(ref, ours)))
                cases = [{"prompt": r["prompt"], "prompt_tokens": r["prompt_tokens"], "generated": r["generated"],
                          "top_ids": r["top_ids"], "top_logits": r["top_logits"]} for r in ref]
                with open(os.path.join(HERE, "fixtures", f"tiny-{arch}-{label}.json"), "w") as f:
                    json.dump({"arch": arch, "types": label, "n_gen": TINY_GEN, "cases": cases}, f, indent=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", default=os.path.join(ROOT, "build/release/src/tandem"))
    ap.add_argument("--write-fixtures", action="store_true")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--tiny", action="store_true", help="only the tiny random models: write fixtures/tiny-<arch>.json")
    ap.add_argument("--archs", default=",".join(ARCHS), help="with --tiny: which architectures")
    ap.add_argument("--random", type=int, default=400, help="random texts whose tokenization is compared (0: none; "
                    "with --write-fixtures, N > 0 rewrites fixtures/<model>-tokenize.json)")
    ap.add_argument("--tokenize-only", action="store_true", help="compare tokenization only (no generation)")
    ap.add_argument("--set", default="", choices=["", "heldout"],
                    help="heldout: prompts_heldout.json (written after the engine work, never tuned against; long "
                         "prompts cross the 512-token batch and Gemma's sliding window), fixtures/<model>-heldout.json")
    a = ap.parse_args()
    if a.tiny:
        return tiny_fixtures(a.tandem, a.archs.split(","))
    suffix = f"-{a.set}" if a.set else ""
    prompts = json.load(open(os.path.join(HERE, f"prompts{'_' + a.set if a.set else ''}.json")))
    for name in a.models.split(","):
        spec = MODELS[name]
        path = os.path.join(ROOT, spec["file"])
        if not os.path.exists(path):
            print(f"{name}: {path} missing; run scripts/setup.sh --with-models", file=sys.stderr)
            continue
        texts = [spec["format"].format(p=p) for p in prompts]
        ref_tok = llama_tokenize(path, TOKENIZE_TEXTS)
        if not a.tokenize_only:
            ref = llama_side(path, texts)
            ours = tandem_side(a.tandem, path, texts)
            print(name, json.dumps(compare(ref, ours)), flush=True)
            if a.write_fixtures:  # llama.cpp's side, for test_greedy_generation_matches_llama_cpp
                fix = [{k: v for k, v in r.items() if k != "logits"} for r in ref]
                tok = [{"text": t, "tokens": ids} for t, ids in zip(TOKENIZE_TEXTS, ref_tok)]
                with open(os.path.join(HERE, "fixtures", f"{name}{suffix}.json"), "w") as f:
                    json.dump({"model": spec["file"], "n_gen": N_GEN, "cases": fix, "tokenize": tok}, f, indent=0)
        our_tok = tandem_tokenize(a.tandem, path, TOKENIZE_TEXTS)
        same = sum(x == y for x, y in zip(ref_tok, our_tok))
        print(name, f"tokenization golden set: {same}/{len(TOKENIZE_TEXTS)} identical")
        for t, x, y in zip(TOKENIZE_TEXTS, ref_tok, our_tok):
            if x != y:
                print("  differs:", repr(t), x, y)
        if a.random <= 0:
            continue
        texts_r = random_texts(a.random)
        ref_r = llama_tokenize(path, texts_r)
        our_r = tandem_tokenize(a.tandem, path, texts_r)
        same_r = sum(x == y for x, y in zip(ref_r, our_r))
        print(name, f"tokenization of {len(texts_r)} random texts: {same_r} identical")
        for t, x, y in list((t, x, y) for t, x, y in zip(texts_r, ref_r, our_r) if x != y)[:10]:
            print("  differs:", ascii(t), x, y)
        if a.write_fixtures:  # the golden set and the random texts, for test_tokenization_matches_llama_cpp
            tok = [{"text": t, "tokens": ids} for t, ids in zip(TOKENIZE_TEXTS + texts_r, ref_tok + ref_r)]
            with open(os.path.join(HERE, "fixtures", f"{name}-tokenize.json"), "w") as f:
                json.dump({"model": spec["file"], "tokenize": tok}, f, indent=0, ensure_ascii=True)

if __name__ == "__main__":
    main()
