#!/usr/bin/env python3
"""Seed corpora for the fuzzers: small valid GGUF files (BPE and SentencePiece vocabularies, a few tensors of
several formats) and texts in several scripts. Run once; libFuzzer grows the corpus from there.
  .venv/bin/python tests/fuzz/make_seeds.py"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "engine"))
import gguf  # noqa: E402
import gguf_tools  # noqa: E402


def small(path, arch, spm):
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(1)
    w.add_embedding_length(32)
    w.add_head_count(2)
    if spm:
        tokens, types, scores = gguf_tools._spm_vocab()
        w.add_tokenizer_model("llama")
        w.add_token_scores(scores)
    else:
        tokens, types, merges = gguf_tools._bpe_vocab()
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm")
        w.add_token_merges(merges)
    w.add_token_list(tokens)
    w.add_token_types(types)
    rng = np.random.default_rng(0)
    w.add_tensor("a", rng.standard_normal((2, 32)).astype(np.float32))
    w.add_tensor("b", gguf_tools.random_rows(gguf.GGMLQuantizationType.Q8_0, 2, 32, rng), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("c", gguf_tools.random_rows(gguf.GGMLQuantizationType.Q4_K, 1, 256, rng), raw_dtype=gguf.GGMLQuantizationType.Q4_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    small(os.path.join(HERE, "corpus/gguf/bpe.gguf"), "llama", False)
    small(os.path.join(HERE, "corpus/gguf/spm.gguf"), "gemma3", True)
    texts = ["Hello world", "the hello   world\n\n", "日本語 テキスト", "12345 + 678 = ?", "<|im_start|>user\nhi",
             "emoji 😀👍🏽", "def f(x):\n\treturn x", "Ünïcödé", "'s 're 've", "▁the ▁a"]
    for i, t in enumerate(texts):
        with open(os.path.join(HERE, f"corpus/tokenizer/seed{i}.txt"), "w") as f:
            f.write(t)


if __name__ == "__main__":
    main()
