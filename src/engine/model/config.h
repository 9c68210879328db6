// Model hyper-parameters read from GGUF metadata, for the architectures Tandem runs:
//   llama  (SmolLM2, Llama 3.x, Mistral): RMSNorm, RoPE (pairs of adjacent dims), GQA, SwiGLU, optional
//          rope_freqs factors, optional tied output.
//   qwen2  as llama with biases on q/k/v and NeoX-style RoPE (dims i and i + d/2 rotate together).
//   qwen3  as qwen2 without the biases, with per-head RMSNorm on q and k before RoPE (QK-norm); its head size
//          need not be n_embd / n_head.
//   phi3   (Phi-3.5, Phi-4-mini) as llama with fused QKV (attn_qkv) and gate/up (ffn_up: gate rows, then up)
//          matrices, NeoX RoPE over a leading part of each head (partial rotary), q scaled before q.k, and
//          LongRoPE factors (rope_factors_short/long, by context length) with rope.scaling.attn_factor.
//   gemma2 embeddings scaled by sqrt(n_embd), post-attention and post-FFN norms, GeGLU, NeoX RoPE, q scaled before
//          q.k, attention scores and final logits soft-capped (cap * tanh(x / cap)), sliding-window attention on
//          every other layer (the even ones).
//   gemma3 embeddings scaled by sqrt(n_embd), per-head RMSNorm on q and k, post-attention and post-FFN norms,
//          GeGLU (tanh GELU), NeoX RoPE with a separate base for sliding-window layers (5 local : 1 global).
// A ModelConfig is a plain value.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_file.h"

namespace tandem::engine {

enum class Arch { kLlama, kQwen2, kQwen3, kPhi3, kGemma2, kGemma3 };

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string arch_name;
  std::string name;  // general.name
  int n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0, n_vocab = 0;
  int n_ctx_train = 0;
  float norm_eps = 1e-5f;
  float rope_base = 10000.f, rope_base_local = 10000.f, rope_freq_scale = 1.f;
  int rope_dims = 0;
  bool rope_neox = false;
  int sliding_window = 0;             // 0: none
  std::vector<bool> layer_is_local;   // per layer: sliding-window attention
  float embd_scale = 0.f;             // 0: embeddings are not scaled
  float attn_scale = 0.f;             // multiplies q.k
  float attn_softcap = 0.f, final_softcap = 0.f;  // gemma2's soft caps (0: none)
  bool gemma = false;                 // gemma2/3: post-attention and post-FFN norms, GeGLU
  bool scale_q_first = false;         // attn_scale multiplies q before q.k (llama.cpp's order for gemma, phi3)
  float rope_attn_factor = 1.f;       // multiplies RoPE's cos and sin (LongRoPE's attention factor)
  int rope_ctx_orig = 0;              // contexts above this take rope_factors_long, others rope_factors_short
  std::string chat_template;          // tokenizer.chat_template, may be empty

  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_head_kv * head_dim; }

  static Result<ModelConfig> FromGguf(const GgufFile& f);
};

}  // namespace tandem::engine
