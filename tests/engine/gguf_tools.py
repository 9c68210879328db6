"""Helpers shared by the engine test scripts: random quantized blocks with sane scales, and tiny GGUF models
of each architecture Tandem runs, written with the `gguf` package (llama.cpp's own GGUF writer)."""
import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import quants

# Offsets of the fp16 scale fields inside one block, and the block size in bytes.
SCALES = {
    Q.Q4_0: ([0], 18), Q.Q4_1: ([0, 2], 20), Q.Q5_0: ([0], 22), Q.Q5_1: ([0, 2], 24), Q.Q8_0: ([0], 34),
    Q.Q4_K: ([0, 2], 144), Q.Q5_K: ([0, 2], 176), Q.Q6_K: ([208], 210),
}
BLOCK_ELEMS = {Q.Q4_0: 32, Q.Q4_1: 32, Q.Q5_0: 32, Q.Q5_1: 32, Q.Q8_0: 32, Q.Q4_K: 256, Q.Q5_K: 256, Q.Q6_K: 256}


def random_rows(qtype, rows, cols, rng, scale=0.05):
    """Raw bytes (rows x row_bytes) of random blocks whose scales are small finite fp16 values."""
    if qtype == Q.F32:
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
    if qtype == Q.F16:
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float16)
    if qtype == Q.BF16:
        f = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        return (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8).reshape(rows, cols * 2)
    offs, size = SCALES[qtype]
    nb = cols // BLOCK_ELEMS[qtype]
    raw = rng.integers(0, 256, size=(rows, nb, size), dtype=np.uint8)
    for o in offs:
        d = (rng.uniform(-1, 1, size=(rows, nb)) * scale / 8).astype(np.float16)
        raw[:, :, o:o + 2] = d.view(np.uint8).reshape(rows, nb, 2)
    return raw.reshape(rows, nb * size)


def dequantize(raw, qtype):
    if qtype == Q.F32:
        return raw.astype(np.float32)
    if qtype == Q.F16:
        return raw.astype(np.float32)
    return quants.dequantize(raw, qtype).astype(np.float32)


CHATML_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
PHI3_SPECIALS = ["<unk>", "<s>", "</s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def _bpe_vocab(specials=CHATML_SPECIALS):
    """A byte-level BPE vocabulary: the 256 byte symbols, a few merges, and control tokens (ChatML's)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_tokens = [chr(c) for _, c in sorted(zip(bs, cs))]
    merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ w", "r e", "Ġ s", "Ġ h", "Ġ c", "e n", "l l"]
    tokens = list(byte_tokens)
    for m in merges:
        a, b = m.split(" ")
        if a + b not in tokens:
            tokens.append(a + b)
    types = [1] * len(tokens)
    for special in specials:
        tokens.append(special)
        types.append(3)
    return tokens, types, merges


def _spm_vocab():
    """A SentencePiece-style vocabulary: control tokens, 256 byte tokens, and scored pieces."""
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"]
    types = [3, 3, 3, 2]
    scores = [0.0] * 4
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(6)
        scores.append(0.0)
    pieces = ["▁", "▁the", "▁a", "e", "t", "h", "he", "▁t", "o", "n", "l", "ll", "▁hello", "▁world", "r", "d", "w"]
    for i, p in enumerate(pieces):
        tokens.append(p)
        types.append(1)
        scores.append(-float(i))
    for special in ["<start_of_turn>", "<end_of_turn>"]:
        tokens.append(special)
        types.append(3)
        scores.append(0.0)
    return tokens, types, scores


def write_tiny_model(path, arch, types, seed=7, n_embd=256, n_ff=512, n_head=4, n_head_kv=2, n_layer=2):
    """Writes a random model of `arch`: llama, llama3 (a llama with Llama 3's rope_freqs factors and pre-tokenizer),
    qwen2, qwen3 (QK-norm, no biases, heads of 96 so that n_head * head_dim != n_embd), phi3 (fused QKV and
    gate/up, RoPE over 3/4 of each head, LongRoPE short/long factors and attention factor), gemma2 (soft caps low
    enough to bite on a random model, an 8-token window on even layers) or gemma3. `types` maps
    role -> GGMLQuantizationType for roles: embd, q, k, v, o, gate, up, down (missing roles are Q8_0)."""
    rng = np.random.default_rng(seed)
    head_dim = 96 if arch == "qwen3" else n_embd // n_head
    variant, arch = arch, {"llama3": "llama"}.get(arch, arch)
    w = gguf.GGUFWriter(path, arch)
    w.add_name(f"tiny-{variant}")
    w.add_block_count(n_layer)
    w.add_context_length(4096)
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_layer_norm_rms_eps(1e-6 if arch.startswith("gemma") else 1e-5)
    w.add_rope_freq_base(500000.0 if variant == "llama3" else 10000.0)
    if arch.startswith("gemma"):
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
        w.add_sliding_window(8)
        if arch == "gemma2":
            w.add_attn_logit_softcapping(3.0)
            w.add_final_logit_softcapping(200.0)
        tokens, ttypes, scores = _spm_vocab()
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_types(ttypes)
        w.add_token_scores(scores)
        w.add_bos_token_id(2)
        w.add_eos_token_id(1)
        w.add_unk_token_id(3)
        w.add_add_bos_token(True)
        w.add_add_space_prefix(False)
    else:
        w.add_rope_dimension_count(head_dim * 3 // 4 if arch == "phi3" else head_dim)
        if arch == "phi3":
            w.add_rope_scaling_attn_factors(1.1902380714238083)
            w.add_rope_scaling_orig_ctx_len(4096)
        if arch == "qwen3":
            w.add_key_length(head_dim)
            w.add_value_length(head_dim)
        tokens, ttypes, merges = _bpe_vocab(PHI3_SPECIALS if arch == "phi3" else CHATML_SPECIALS)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre({"llama": "smollm", "llama3": "llama-bpe"}.get(variant, "qwen2"))
        w.add_token_list(tokens)
        w.add_token_types(ttypes)
        w.add_token_merges(merges)
        if arch == "phi3":
            w.add_bos_token_id(tokens.index("<s>"))
            w.add_eos_token_id(tokens.index("<|endoftext|>"))
            w.add_unk_token_id(tokens.index("<unk>"))
        else:
            w.add_bos_token_id(len(tokens) - 3)
            w.add_eos_token_id(len(tokens) - 1)
        w.add_add_bos_token(False)
    n_vocab = len(tokens)

    def tensor(name, role, rows, cols, scale=0.05):
        qt = types.get(role, Q.Q8_0)
        raw = random_rows(qt, rows, cols, rng, scale)
        if qt in (Q.F32, Q.F16):
            w.add_tensor(name, raw)
        else:
            w.add_tensor(name, raw, raw_dtype=qt)

    def norm(name, n):
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32))

    tensor("token_embd.weight", "embd", n_vocab, n_embd, 0.5)
    norm("output_norm.weight", n_embd)
    if variant == "llama3":  # per-frequency divisors as Llama 3.x ship them: 1 at high frequencies, up to 8 at low
        w.add_tensor("rope_freqs.weight", np.linspace(1.0, 8.0, head_dim // 2).astype(np.float32) *
                     (1.0 + 0.05 * rng.standard_normal(head_dim // 2)).astype(np.float32))
    if arch == "phi3":  # short factors for contexts up to 4096 (the tests'), long ones beyond
        n_rot = head_dim * 3 // 4
        w.add_tensor("rope_factors_short.weight", (1.0 + 0.5 * rng.random(n_rot // 2)).astype(np.float32))
        w.add_tensor("rope_factors_long.weight", (4.0 + 20.0 * rng.random(n_rot // 2)).astype(np.float32))
    for l in range(n_layer):
        p = f"blk.{l}."
        norm(p + "attn_norm.weight", n_embd)
        if arch == "phi3":
            tensor(p + "attn_qkv.weight", "q", (n_head + 2 * n_head_kv) * head_dim, n_embd)
        else:
            tensor(p + "attn_q.weight", "q", n_head * head_dim, n_embd)
            tensor(p + "attn_k.weight", "k", n_head_kv * head_dim, n_embd)
            tensor(p + "attn_v.weight", "v", n_head_kv * head_dim, n_embd)
        tensor(p + "attn_output.weight", "o", n_embd, n_head * head_dim)
        norm(p + "ffn_norm.weight", n_embd)
        if arch == "phi3":
            tensor(p + "ffn_up.weight", "up", 2 * n_ff, n_embd)
        else:
            tensor(p + "ffn_gate.weight", "gate", n_ff, n_embd)
            tensor(p + "ffn_up.weight", "up", n_ff, n_embd)
        tensor(p + "ffn_down.weight", "down", n_embd, n_ff)
        if arch == "qwen2":
            for nm, n in (("attn_q.bias", n_head * head_dim), ("attn_k.bias", n_head_kv * head_dim),
                          ("attn_v.bias", n_head_kv * head_dim)):
                w.add_tensor(p + nm, (0.1 * rng.standard_normal(n)).astype(np.float32))
        if arch in ("gemma3", "qwen3"):
            norm(p + "attn_q_norm.weight", head_dim)
            norm(p + "attn_k_norm.weight", head_dim)
        if arch.startswith("gemma"):
            norm(p + "post_attention_norm.weight", n_embd)
            norm(p + "post_ffw_norm.weight", n_embd)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# Every weight format Tandem computes, spread over the matrices of one model.
ALL_TYPES = {"embd": Q.Q8_0, "q": Q.Q4_0, "k": Q.Q4_1, "v": Q.Q5_0, "o": Q.Q5_1, "gate": Q.Q4_K, "up": Q.Q5_K,
             "down": Q.Q6_K}
# Q4_0 everywhere: llama.cpp repacks the hidden matrices (row counts multiples of 8) but not the embedding/output
# matrix (273 or 279 rows), so both of its Q4_0 orders are exercised.
Q4_0_TYPES = {role: Q.Q4_0 for role in ("embd", "q", "k", "v", "o", "gate", "up", "down")}
FLOAT_TYPES = {"embd": Q.F16, "q": Q.F32, "k": Q.F16, "v": Q.BF16, "o": Q.F32, "gate": Q.F16, "up": Q.BF16,
               "down": Q.F32}
