// Model hyper-parameters read from GGUF metadata, for the architectures Tandem runs:
//   llama  (SmolLM2, Llama 3.x, Mistral): RMSNorm, RoPE (pairs of adjacent dims), GQA, SwiGLU, optional
//          rope_freqs factors, optional tied output.
//   qwen2  as llama with biases on q/k/v and NeoX-style RoPE (dims i and i + d/2 rotate together).
//   gemma3 embeddings scaled by sqrt(n_embd), per-head RMSNorm on q and k, post-attention and post-FFN norms,
//          GeGLU (tanh GELU), NeoX RoPE with a separate base for sliding-window layers (5 local : 1 global).
// A ModelConfig is a plain value.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_file.h"

namespace tandem::engine {

enum class Arch { kLlama, kQwen2, kGemma3 };

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
  std::string chat_template;          // tokenizer.chat_template, may be empty

  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_head_kv * head_dim; }

  static Result<ModelConfig> FromGguf(const GgufFile& f);
};

}  // namespace tandem::engine
