#include "engine/model/config.h"

#include <cmath>

namespace tandem::engine {

Result<ModelConfig> ModelConfig::FromGguf(const GgufFile& f) {
  ModelConfig c;
  auto arch = f.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  c.arch_name = *arch;
  if (c.arch_name == "llama") c.arch = Arch::kLlama;
  else if (c.arch_name == "qwen2") c.arch = Arch::kQwen2;
  else if (c.arch_name == "qwen3") c.arch = Arch::kQwen3;
  else if (c.arch_name == "phi3") c.arch = Arch::kPhi3;
  else if (c.arch_name == "gemma2") c.arch = Arch::kGemma2;
  else if (c.arch_name == "gemma3") c.arch = Arch::kGemma3;
  else
    return Status(Code::kInvalidArgument,
                  f.name() + ": architecture '" + c.arch_name + "' is not supported (llama, qwen2, qwen3, phi3, gemma2, gemma3 are)");
  auto name = f.GetString("general.name");
  c.name = name.ok() ? *name : c.arch_name;
  auto tmpl = f.GetString("tokenizer.chat_template");
  if (tmpl.ok()) c.chat_template = *tmpl;

  const std::string a = c.arch_name + ".";
  Status err;
  auto geti = [&](const std::string& key, int64_t fallback, int64_t lo, int64_t hi) -> int {
    if (!err.ok()) return 0;
    auto v = fallback < 0 ? f.GetInt(a + key) : f.GetInt(a + key, fallback);
    if (!v.ok()) {
      err = v.status();
      return 0;
    }
    if (*v < lo || *v > hi) {
      err = Status(Code::kInvalidArgument, f.name() + ": " + a + key + " = " + std::to_string(*v) + " is out of range");
      return 0;
    }
    return static_cast<int>(*v);
  };
  auto getf = [&](const std::string& key, double fallback) -> float {
    if (!err.ok()) return 0;
    auto v = f.GetFloat(a + key, fallback);
    if (!v.ok()) {
      err = v.status();
      return 0;
    }
    return static_cast<float>(*v);
  };
  c.n_layer = geti("block_count", -1, 1, 1024);
  c.n_embd = geti("embedding_length", -1, 1, 1 << 16);
  c.n_ff = geti("feed_forward_length", -1, 1, 1 << 18);
  c.n_head = geti("attention.head_count", -1, 1, 1024);
  c.n_head_kv = geti("attention.head_count_kv", c.n_head, 1, 1024);
  c.head_dim = geti("attention.key_length", c.n_head ? c.n_embd / c.n_head : 1, 1, 4096);
  const int v_dim = geti("attention.value_length", c.head_dim, 1, 4096);
  c.n_ctx_train = geti("context_length", 2048, 1, 1 << 24);
  c.rope_dims = geti("rope.dimension_count", c.head_dim, 2, 4096);
  c.norm_eps = getf("attention.layer_norm_rms_epsilon", 1e-5);
  c.rope_base = getf("rope.freq_base", c.arch == Arch::kGemma3 ? 1000000.0 : 10000.0);
  const float rope_factor = getf("rope.scaling.factor", 0.0);
  c.rope_attn_factor = getf("rope.scaling.attn_factor", 1.0);
  c.rope_ctx_orig = geti("rope.scaling.original_context_length", c.n_ctx_train, 1, 1 << 24);
  if (!err.ok()) return err;
  if (v_dim != c.head_dim)
    return Status(Code::kInvalidArgument, f.name() + ": key and value head sizes differ, which is not supported");
  if (c.n_head % c.n_head_kv != 0)
    return Status(Code::kInvalidArgument, f.name() + ": head_count is not a multiple of head_count_kv");
  if (c.rope_dims > c.head_dim || c.rope_dims % 2)
    return Status(Code::kInvalidArgument, f.name() + ": rope.dimension_count is invalid");
  if (rope_factor > 0) {
    auto type = f.GetString(a + "rope.scaling.type");
    if (type.ok() && *type != "linear" && *type != "none")
      return Status(Code::kInvalidArgument, f.name() + ": rope scaling '" + *type + "' is not supported");
    c.rope_freq_scale = 1.0f / rope_factor;
  }
  c.rope_neox = c.arch != Arch::kLlama;
  c.layer_is_local.assign(static_cast<size_t>(c.n_layer), false);
  c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  c.gemma = c.arch == Arch::kGemma2 || c.arch == Arch::kGemma3;
  c.scale_q_first = c.gemma || c.arch == Arch::kPhi3;
  if (c.arch == Arch::kGemma2) {
    c.sliding_window = geti("attention.sliding_window", 4096, 1, 1 << 24);
    c.attn_softcap = getf("attn_logit_softcapping", 50.0);
    c.final_softcap = getf("final_logit_softcapping", 30.0);
    if (!err.ok()) return err;
    for (int l = 0; l < c.n_layer; ++l) c.layer_is_local[static_cast<size_t>(l)] = l % 2 == 0;
    c.rope_base_local = getf("rope.freq_base_swa", c.rope_base);
    c.embd_scale = std::sqrt(static_cast<float>(c.n_embd));
    // llama.cpp's query scale: 1/sqrt(n_embd / n_head) for the 27B model (46 layers), 1/sqrt(head size) otherwise.
    if (c.n_layer == 46) c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.n_embd / c.n_head));
  }
  if (c.arch == Arch::kGemma3) {
    c.sliding_window = geti("attention.sliding_window", 512, 1, 1 << 24);
    if (!err.ok()) return err;
    for (int l = 0; l < c.n_layer; ++l) c.layer_is_local[static_cast<size_t>(l)] = (l % 6) < 5;
    c.rope_base_local = 10000.f;
    c.embd_scale = std::sqrt(static_cast<float>(c.n_embd));
  }
  const TensorInfo* emb = f.FindTensor("token_embd.weight");
  if (!emb) return Status(Code::kInvalidArgument, f.name() + ": tensor 'token_embd.weight' is missing");
  c.n_vocab = static_cast<int>(emb->ne[1]);
  return c;
}

}  // namespace tandem::engine
