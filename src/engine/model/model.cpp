// Forward pass. Numerics follow llama.cpp's CPU backend where it is cheap to do so, so that greedy generation
// matches it token for token: activations are quantized to the weight type's partner format before each matmul,
// RMSNorm sums squares in double, RoPE angles are built by repeated multiplication, K/V are cached in fp16, q is
// rounded to fp16 before q.k, and attention probabilities are rounded to fp16 before weighting V.
#include "engine/model/model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/kernels/dequant.h"
#include "engine/kernels/fp16.h"
#include "engine/kernels/vec_dot.h"

namespace tandem::engine {
namespace {

// Tokens per forward batch (llama.cpp's n_ubatch). TANDEM_UBATCH overrides it for diagnostics (1 = token by
// token, which follows llama.cpp's decode arithmetic).
int MaxBatch() {
  static const int v = [] {
    const char* e = std::getenv("TANDEM_UBATCH");
    const int n = e ? std::atoi(e) : 512;
    return n >= 1 && n <= 512 ? n : 512;
  }();
  return v;
}

// Working memory of MatMul: the quantized activations.
struct MatMulScratch {
  std::vector<uint8_t> act;
};


Status Missing(const GgufFile& f, const std::string& name) {
  return Status(Code::kInvalidArgument, f.name() + ": tensor '" + name + "' is missing");
}

// Finds a tensor and checks its shape (ne0, ne1; ne1 = 0 means a vector).
Status Expect(const GgufFile& f, const std::string& name, int64_t ne0, int64_t ne1, bool required,
              const TensorInfo** out) {
  const TensorInfo* t = f.FindTensor(name);
  if (!t) {
    if (required) return Missing(f, name);
    *out = nullptr;
    return Status::Ok();
  }
  const bool ok = ne1 == 0 ? (t->ne[0] == ne0 && t->rows() == 1) : (t->ne[0] == ne0 && t->rows() == ne1);
  if (!ok)
    return Status(Code::kInvalidArgument, f.name() + ": tensor '" + name + "' has shape [" +
                                              std::to_string(t->ne[0]) + ", " + std::to_string(t->rows()) +
                                              "], expected [" + std::to_string(ne0) + ", " +
                                              std::to_string(ne1 == 0 ? 1 : ne1) + "]");
  if (!GetDotKernel(t->type).dot)
    return Status(Code::kInvalidArgument, f.name() + ": tensor '" + name + "' has a type Tandem cannot multiply");
  *out = t;
  return Status::Ok();
}

inline const uint8_t* Row(const TensorInfo* t, int64_t r) { return t->data + static_cast<size_t>(r) * t->row_bytes(); }

void RmsNorm(const float* x, const TensorInfo* w, int n, float eps, float* y) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  const float* g = reinterpret_cast<const float*>(w->data);
  for (int i = 0; i < n; ++i) y[i] = (x[i] * scale) * g[i];
}

// x[i] = x[i] rounded to half precision and back, 256 at a time through the vectorized converter.
void RoundToHalf(int n, float* x) {
  uint16_t h[256];
  for (int i0 = 0; i0 < n; i0 += 256) {
    const int m = std::min(256, n - i0);
    Fp32ToFp16Row(m, x + i0, h);
    for (int i = 0; i < m; ++i) x[i0 + i] = Fp16ToFp32Fast(h[i]);
  }
}

// As llama.cpp computes it: its build contracts 1 + A x x into one fma (FMA targets, GCC default contraction).
float GeluTanh(float x) {
  constexpr float kA = 0.044715f, kSqrt2OverPi = 0.79788456080286535587989211986876f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * std::fma(kA * x, x, 1.0f)));
}

// llama.cpp evaluates GELU through an fp16 table: input and output rounded to half precision.
const float* GeluTable() {
  static const float* table = [] {
    auto* t = new float[65536];
    for (uint32_t i = 0; i < 65536; ++i) t[i] = Fp16ToFp32(Fp32ToFp16(GeluTanh(Fp16ToFp32(static_cast<uint16_t>(i)))));
    return t;
  }();
  return table;
}

}  // namespace

Result<std::shared_ptr<Model>> Model::Load(const std::string& path) {
  auto file = GgufFile::Open(path);
  if (!file.ok()) return file.status();
  std::shared_ptr<Model> m(new Model());
  m->file_ = std::move(*file);
  auto cfg = ModelConfig::FromGguf(*m->file_);
  if (!cfg.ok()) return cfg.status();
  m->config_ = std::move(*cfg);
  auto tok = Tokenizer::FromGguf(*m->file_);
  if (!tok.ok()) return tok.status();
  m->tokenizer_ = std::move(*tok);
  if (m->tokenizer_->n_vocab() != m->config_.n_vocab)
    return Status(Code::kInvalidArgument, path + ": vocabulary has " + std::to_string(m->tokenizer_->n_vocab()) +
                                              " tokens but token_embd has " + std::to_string(m->config_.n_vocab) + " rows");
  if (Status s = m->Bind(); !s.ok()) return s;
  return m;
}

Status Model::Bind() {
  const GgufFile& f = *file_;
  const ModelConfig& c = config_;
  const int E = c.n_embd;
  Status s;
  auto need = [&](const std::string& name, int64_t ne0, int64_t ne1, const TensorInfo** out) {
    if (s.ok()) s = Expect(f, name, ne0, ne1, true, out);
  };
  auto maybe = [&](const std::string& name, int64_t ne0, int64_t ne1, const TensorInfo** out) {
    if (s.ok()) s = Expect(f, name, ne0, ne1, false, out);
  };
  need("token_embd.weight", E, c.n_vocab, &tok_embd_);
  need("output_norm.weight", E, 0, &output_norm_);
  maybe("output.weight", E, c.n_vocab, &output_);
  if (!output_) output_ = tok_embd_;  // tied embeddings
  maybe("rope_freqs.weight", c.rope_dims / 2, 0, &rope_freqs_);
  if (c.arch == Arch::kPhi3) {
    maybe("rope_factors_short.weight", c.rope_dims / 2, 0, &rope_short_);
    maybe("rope_factors_long.weight", c.rope_dims / 2, 0, &rope_long_);
  }
  layers_.resize(static_cast<size_t>(c.n_layer));
  for (int l = 0; l < c.n_layer && s.ok(); ++l) {
    LayerWeights& w = layers_[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    need(p + "attn_norm.weight", E, 0, &w.attn_norm);
    if (c.arch == Arch::kPhi3) maybe(p + "attn_qkv.weight", E, c.q_dim() + 2 * c.kv_dim(), &w.wqkv);
    if (!w.wqkv) {
      need(p + "attn_q.weight", E, c.q_dim(), &w.wq);
      need(p + "attn_k.weight", E, c.kv_dim(), &w.wk);
      need(p + "attn_v.weight", E, c.kv_dim(), &w.wv);
    }
    need(p + "attn_output.weight", c.q_dim(), E, &w.wo);
    need(p + "ffn_norm.weight", E, 0, &w.ffn_norm);
    w.fused_up = c.arch == Arch::kPhi3;
    if (!w.fused_up) need(p + "ffn_gate.weight", E, c.n_ff, &w.gate);
    need(p + "ffn_up.weight", E, w.fused_up ? 2 * c.n_ff : c.n_ff, &w.up);
    need(p + "ffn_down.weight", c.n_ff, E, &w.down);
    if (c.arch == Arch::kQwen2) {
      need(p + "attn_q.bias", c.q_dim(), 0, &w.bq);
      need(p + "attn_k.bias", c.kv_dim(), 0, &w.bk);
      need(p + "attn_v.bias", c.kv_dim(), 0, &w.bv);
    }
    if (c.arch == Arch::kGemma3 || c.arch == Arch::kQwen3) {
      need(p + "attn_q_norm.weight", c.head_dim, 0, &w.q_norm);
      need(p + "attn_k_norm.weight", c.head_dim, 0, &w.k_norm);
    }
    if (c.gemma) {
      need(p + "post_attention_norm.weight", E, 0, &w.post_attn_norm);
      need(p + "post_ffw_norm.weight", E, 0, &w.post_ffn_norm);
    }
  }
  if (!s.ok()) return s;
  // Norm weights and biases are read as float32 directly.
  auto f32 = [&](const TensorInfo* t) {
    return !t || t->type == TensorType::kF32
               ? Status::Ok()
               : Status(Code::kInvalidArgument, f.name() + ": tensor '" + t->name + "' must be F32");
  };
  for (const TensorInfo* t : {output_norm_, rope_freqs_, rope_short_, rope_long_})
    if (Status e = f32(t); !e.ok()) return e;
  for (const LayerWeights& w : layers_)
    for (const TensorInfo* t : {w.attn_norm, w.ffn_norm, w.bq, w.bk, w.bv, w.q_norm, w.k_norm, w.post_attn_norm,
                                w.post_ffn_norm})
      if (Status e = f32(t); !e.ok()) return e;
  return Status::Ok();
}

// Per-batch working memory, grown to the largest batch seen (at most MaxBatch() tokens).
struct Session::Scratch {
  std::vector<float> x, h, q, k, v, att, g, u, o, cos, sin, cos_local, sin_local, logits;
  std::vector<float> fused;  // a fused matrix's output (phi3's qkv, gate-up) before it is split
  std::vector<int> segs, row_item, row_pos;  // a batched pass: rows per item; each row's item and position
  MatMulScratch mm;
  std::vector<std::vector<float>> scores;  // per thread: attention weights over the context
};

Session::Session(std::shared_ptr<const Model> model, int n_ctx, ThreadPool* pool)
    : model_(std::move(model)), n_ctx_(n_ctx), pool_(pool), s_(std::make_unique<Scratch>()) {
  const ModelConfig& c = model_->config();
  const size_t cache = static_cast<size_t>(c.n_layer) * static_cast<size_t>(n_ctx_) * static_cast<size_t>(c.kv_dim());
  k_cache_.reset(new uint16_t[cache]);
  v_cache_.reset(new uint16_t[cache]);
  logits_.assign(static_cast<size_t>(c.n_vocab), 0.f);
}

Session::~Session() = default;

Status Session::Check(const int32_t* tokens, int n) const {
  const ModelConfig& c = model_->config();
  if (n <= 0) return Status(Code::kInvalidArgument, "no tokens to process");
  if (pos_ + n > n_ctx_)
    return Status(Code::kInvalidArgument, "context full: " + std::to_string(pos_ + n) + " tokens exceed the context of " +
                                              std::to_string(n_ctx_));
  for (int i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= c.n_vocab)
      return Status(Code::kInvalidArgument, "token id " + std::to_string(tokens[i]) + " is outside the vocabulary");
  return Status::Ok();
}

int Session::MaxRows() { return MaxBatch(); }

int Session::ExactPrefix() const {
  int n = 0;
  while (n < pos_ && exact_[static_cast<size_t>(n)]) ++n;
  return n;
}

Status Session::Forward(const int32_t* tokens, int n, std::vector<float>* hidden) {
  if (Status s = Check(tokens, n); !s.ok()) return s;
  if (hidden) hidden->clear();
  for (int done = 0; done < n;) {
    const BatchItem item{this, tokens + done, std::min(MaxBatch(), n - done)};
    ForwardPass(&item, 1, hidden);
    done += item.n;
  }
  return Status::Ok();
}

void Session::CopyKv(int pos, int n, uint16_t* k, uint16_t* v) const {
  const ModelConfig& c = model_->config();
  const size_t kv = static_cast<size_t>(c.kv_dim()), stride = static_cast<size_t>(n_ctx_) * kv;
  const size_t run = static_cast<size_t>(n) * kv;
  for (int l = 0; l < c.n_layer; ++l) {
    const size_t from = static_cast<size_t>(l) * stride + static_cast<size_t>(pos) * kv;
    std::copy_n(&k_cache_[from], run, k + static_cast<size_t>(l) * run);
    std::copy_n(&v_cache_[from], run, v + static_cast<size_t>(l) * run);
  }
}

Status Session::AppendKv(const int32_t* tokens, int n, const uint16_t* k, const uint16_t* v) {
  if (Status s = Check(tokens, n); !s.ok()) return s;
  const ModelConfig& c = model_->config();
  const size_t kv = static_cast<size_t>(c.kv_dim()), stride = static_cast<size_t>(n_ctx_) * kv;
  const size_t run = static_cast<size_t>(n) * kv;
  for (int l = 0; l < c.n_layer; ++l) {
    const size_t to = static_cast<size_t>(l) * stride + static_cast<size_t>(pos_) * kv;
    std::copy_n(k + static_cast<size_t>(l) * run, run, &k_cache_[to]);
    std::copy_n(v + static_cast<size_t>(l) * run, run, &v_cache_[to]);
  }
  tokens_.insert(tokens_.end(), tokens, tokens + n);
  exact_.insert(exact_.end(), static_cast<size_t>(n), 1);
  pos_ += n;
  return Status::Ok();
}

Status Session::ForwardMany(const BatchItem* items, int n_items) {
  if (n_items <= 0) return Status(Code::kInvalidArgument, "no sequences to process");
  for (int i = 0; i < n_items; ++i) {
    const BatchItem& it = items[i];
    if (!it.session) return Status(Code::kInvalidArgument, "batch item without a session");
    if (it.session->model_ != items[0].session->model_)
      return Status(Code::kInvalidArgument, "a batch's sessions must share one model");
    for (int j = 0; j < i; ++j)
      if (items[j].session == it.session) return Status(Code::kInvalidArgument, "a session appears twice in a batch");
    if (Status s = it.session->Check(it.tokens, it.n); !s.ok()) return s;
  }
  // Each item in chunks of MaxBatch() tokens, as Forward would cut it; pass k runs every item's k-th chunk.
  std::vector<BatchItem> pass;
  for (int done = 0;; done += MaxBatch()) {
    pass.clear();
    for (int i = 0; i < n_items; ++i)
      if (items[i].n > done)
        pass.push_back({items[i].session, items[i].tokens + done, std::min(MaxBatch(), items[i].n - done)});
    if (pass.empty()) return Status::Ok();
    ForwardPass(pass.data(), static_cast<int>(pass.size()), nullptr);
  }
}

namespace {

struct MatOut {
  const TensorInfo* w;
  const TensorInfo* bias;  // may be null
  float* y;                // [T][w->rows()]
};

// Activation rows from which a matmul takes the AVX-512 panels (DotKernel::panel16); TANDEM_PANEL_MIN_ROWS
// overrides it (for measuring).
const int kPanelMinRows = [] {
  const char* env = std::getenv("TANDEM_PANEL_MIN_ROWS");
  return env ? std::max(4, std::atoi(env)) : 16;
}();

// y[t][r] = W[r] . act[t] (+ bias) for weight rows [lo, hi) and activation rows [0, T) — the kernels a matmul of
// T rows uses (llama.cpp's tiled order from kBatchOrderMinRows rows, tiles of four below that, single rows last).
void MatRows(const DotKernel& kern, const TensorInfo* w, const float* bias, int64_t lo, int64_t hi,
             const uint8_t* acts, size_t act_bytes, int T, int n_in, float* y, int64_t rows) {
  // Prompt batches of some formats sum in llama.cpp's tiled order (DotKernel::dot_batch).
  const bool batch_order = T >= kBatchOrderMinRows && kern.dot_batch;
  const VecDotFn dot = batch_order ? kern.dot_batch : kern.dot;
  const VecDot4Fn dot4 = batch_order ? kern.dot4_batch : kern.dot4;
  int64_t r0 = lo;
  // 16 weight rows at once, each output as the tile or the batch-order kernel has it; from kPanelMinRows rows,
  // below which transposing the panel costs more than it saves.
  const VecPanelFn panel = batch_order ? kern.panel16_batch : kern.panel16;
  if (panel && T >= kPanelMinRows) {
    const size_t wb = w->row_bytes();
    const int T4 = T / 4 * 4;
    for (; r0 + 16 <= hi; r0 += 16) {
      panel(n_in, Row(w, r0), wb, acts, act_bytes, T4, y + r0, static_cast<size_t>(rows));
      for (int t = T4; t < T; ++t)
        for (int j = 0; j < 16; ++j) y[static_cast<size_t>(t) * rows + r0 + j] = dot(n_in, Row(w, r0 + j), acts + act_bytes * t);
      if (bias)
        for (int t = 0; t < T; ++t)
          for (int j = 0; j < 16; ++j) y[static_cast<size_t>(t) * rows + r0 + j] += bias[r0 + j];
    }
  }
  if (kern.tile24 && !batch_order && T >= 4) {
    const size_t wb = w->row_bytes();
    float tile[8];
    for (; r0 + 2 <= hi; r0 += 2) {
      const float b0 = bias ? bias[r0] : 0.f, b1 = bias ? bias[r0 + 1] : 0.f;
      int t = 0;
      for (; t + 4 <= T; t += 4) {
        kern.tile24(n_in, Row(w, r0), wb, acts + act_bytes * t, act_bytes, tile, 4);
        for (int c = 0; c < 4; ++c) {
          y[static_cast<size_t>(t + c) * rows + r0] = tile[c] + b0;
          y[static_cast<size_t>(t + c) * rows + r0 + 1] = tile[4 + c] + b1;
        }
      }
      for (; t < T; ++t)
        for (int j = 0; j < 2; ++j)
          y[static_cast<size_t>(t) * rows + r0 + j] = kern.dot(n_in, Row(w, r0 + j), acts + act_bytes * t) + (j ? b1 : b0);
    }
  }
  for (int64_t r = r0; r < hi; ++r) {
    const uint8_t* wr = Row(w, r);
    const float bv = bias ? bias[r] : 0.f;
    int t = 0;
    if (dot4) {
      float v4[4];
      for (; t + 4 <= T; t += 4) {
        dot4(n_in, wr, acts + act_bytes * t, act_bytes, v4);
        for (int j = 0; j < 4; ++j) y[static_cast<size_t>(t + j) * rows + r] = v4[j] + bv;
      }
    }
    for (; t < T; ++t) y[static_cast<size_t>(t) * rows + r] = dot(n_in, wr, acts + act_bytes * t) + bv;
  }
}

// MatRows for T single-token rows of distinct sequences: each row gets dot()'s result, four at a time through
// dot4_decode where the format has it.
void MatRowsDecode(const DotKernel& kern, const TensorInfo* w, const float* bias, int64_t lo, int64_t hi,
                   const uint8_t* acts, size_t act_bytes, int T, int n_in, float* y, int64_t rows) {
  for (int64_t r = lo; r < hi; ++r) {
    const uint8_t* wr = Row(w, r);
    const float bv = bias ? bias[r] : 0.f;
    int t = 0;
    if (kern.dot4_decode) {
      float v4[4];
      for (; t + 4 <= T; t += 4) {
        kern.dot4_decode(n_in, wr, acts + act_bytes * t, act_bytes, v4);
        for (int j = 0; j < 4; ++j) y[static_cast<size_t>(t + j) * rows + r] = v4[j] + bv;
      }
    }
    for (; t < T; ++t) y[static_cast<size_t>(t) * rows + r] = kern.dot(n_in, wr, acts + act_bytes * t) + bv;
  }
}

// y_k[t][r] = W_k[r] . x[t] (+ bias) for every output k. Activations are quantized once per partner type (a
// layer's weights may mix, e.g., Q4_K and Q5_0), then every format runs on its int8 kernels, in the order
// llama.cpp's kernels accumulate (vec_dot, tinyBLAS, the repacked Q4_0/Q4_K GEMMs, the tiled K-quant matmul for
// batches): that exactness keeps greedy output identical to llama.cpp's. `segs`, when given, splits the T rows
// into consecutive groups (one per sequence of a batched step) that each get the kernels a matmul of that many
// rows alone would use; the weights are still read once, a block of rows at a time for every group.
void MatMul(ThreadPool& pool, const float* x, int T, int n_in, std::initializer_list<MatOut> outs, MatMulScratch& ms,
            const std::vector<int>* segs = nullptr) {
  struct Form {
    const DotKernel* k;
    size_t row_bytes, offset;
  };
  Form forms[4];
  int n_forms = 0;
  size_t bytes = 0;
  int form_of[8];
  int n_outs = 0;
  for (const MatOut& o : outs) {
    const DotKernel& k = GetDotKernel(o.w->type);
    int f = 0;
    while (f < n_forms && forms[f].k->act_type != k.act_type) ++f;
    if (f == n_forms) {
      forms[n_forms++] = {&k, ActRowBytes(k, n_in), bytes};
      bytes += forms[f].row_bytes * static_cast<size_t>(T);
    }
    form_of[n_outs++] = f;
  }
  if (ms.act.size() < bytes) ms.act.resize(bytes);
  uint8_t* a = ms.act.data();
  auto quantize = [&](int t0, int t1) {
    for (int f = 0; f < n_forms; ++f)
      for (int t = t0; t < t1; ++t) {
        forms[f].k->quantize(x + static_cast<size_t>(t) * n_in, a + forms[f].offset + forms[f].row_bytes * t, n_in);
      }
  };
  if (T < 8) {
    quantize(0, T);
  } else {
    pool.Run([&](int i, int n) {
      int64_t b, e;
      ThreadPool::Split(T, i, n, &b, &e);
      quantize(static_cast<int>(b), static_cast<int>(e));
    });
  }
  const MatOut* list = outs.begin();

  int64_t total = 0;
  for (const MatOut& o : outs) total += o.w->rows();
  pool.Run([&](int i, int n) {
    int64_t b, e;
    ThreadPool::Split(total, i, n, &b, &e, 4);
    int64_t base = 0;
    for (int k = 0; k < n_outs; ++k) {
      const MatOut& o = list[k];
      const int64_t rows = o.w->rows();
      const int64_t lo = std::max(b, base) - base, hi = std::min(e, base + rows) - base;
      base += rows;
      if (lo >= hi) continue;
      const DotKernel& kern = KernelFor(GetDotKernel(o.w->type), o.w->rows());
      const Form& fm = forms[form_of[k]];
      const float* bias = o.bias ? reinterpret_cast<const float*>(o.bias->data) : nullptr;
      if (!segs) {
        MatRows(kern, o.w, bias, lo, hi, a + fm.offset, fm.row_bytes, T, n_in, o.y, rows);
        continue;
      }
      constexpr int64_t kRowBlock = 16;  // weight rows that stay in L1 while every group reads them
      for (int64_t rb = lo; rb < hi; rb += kRowBlock) {
        const int64_t re = std::min(hi, rb + kRowBlock);
        for (size_t g = 0, t0 = 0; g < segs->size();) {
          const int sn = (*segs)[g];
          // A run of single-token sequences (decode rows) shares each weight row's unpacking.
          size_t run = 0;
          while (sn == 1 && g + run < segs->size() && (*segs)[g + run] == 1) ++run;
          const uint8_t* at = a + fm.offset + fm.row_bytes * t0;
          float* yt = o.y + t0 * static_cast<size_t>(rows);
          if (run > 0) {
            MatRowsDecode(kern, o.w, bias, rb, re, at, fm.row_bytes, static_cast<int>(run), n_in, yt, rows);
            g += run, t0 += run;
          } else {
            MatRows(kern, o.w, bias, rb, re, at, fm.row_bytes, sn, n_in, yt, rows);
            ++g, t0 += static_cast<size_t>(sn);
          }
        }
      }
    }
  });
}

// Runs fn(t) for every token; on the pool when the batch is big enough to be worth a hand-off.
template <class Fn>
void ForTokens(ThreadPool& pool, int T, const Fn& fn) {
  if (T < 4 || pool.size() == 1) {
    for (int t = 0; t < T; ++t) fn(t);
    return;
  }
  pool.Run([&](int i, int n) {
    for (int t = i; t < T; t += n) fn(t);
  });
}

// cos/sin for positions p0..p0+T-1, one row of rope_dims/2 per position (ggml's recurrence for the angles).
void RopeTables(int p0, int T, int dims, float base, float freq_scale, float mscale, const float* factors,
                float* cos_out, float* sin_out) {
  const float theta_scale = std::pow(base, -2.0f / static_cast<float>(dims));
  for (int t = 0; t < T; ++t) {
    float theta = static_cast<float>(p0 + t);
    for (int i = 0; i < dims / 2; ++i) {
      const float ff = factors ? factors[i] : 1.0f;
      const float th = freq_scale * (theta / ff);
      cos_out[t * (dims / 2) + i] = std::cos(th) * mscale;
      sin_out[t * (dims / 2) + i] = std::sin(th) * mscale;
      theta *= theta_scale;
    }
  }
}

// Rotation of each (x0, x1) pair. llama.cpp's scalar loop is compiled with FMA contraction, which fuses each
// product pair as fma(x0, c, -(x1 s)) and fma(x0, s, x1 c); we write those fused forms out so that the result is
// identical on every compiler and flag set.
void ApplyRope(float* v, int dims, bool neox, const float* cs, const float* sn) {
  const int half = dims / 2;
  for (int i = 0; i < half; ++i) {
    const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
    const float x0 = v[a], x1 = v[b];
    v[a] = std::fma(x0, cs[i], -(x1 * sn[i]));
    v[b] = std::fma(x0, sn[i], x1 * cs[i]);
  }
}

}  // namespace

void Session::ForwardPass(const BatchItem* items, int n_items, std::vector<float>* hidden) {
  Session& lead = *items[0].session;
  const Model& m = *lead.model_;
  const ModelConfig& c = m.config();
  ThreadPool& pool = *lead.pool_;
  Scratch& s = *lead.s_;
  const int E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim(), F = c.n_ff, hd = c.head_dim;
  // Rows: item 0's tokens, then item 1's, ...; each row's sequence and position.
  std::vector<int>& segs = s.segs;
  std::vector<int>& row_item = s.row_item;
  std::vector<int>& row_pos = s.row_pos;
  segs.clear(), row_item.clear(), row_pos.clear();
  int max_ctx = 0;
  for (int i = 0; i < n_items; ++i) {
    segs.push_back(items[i].n);
    for (int t = 0; t < items[i].n; ++t) row_item.push_back(i), row_pos.push_back(items[i].session->pos_ + t);
    max_ctx = std::max(max_ctx, items[i].session->n_ctx_);
  }
  const int T = static_cast<int>(row_item.size());
  const std::vector<int>* seg_arg = n_items > 1 ? &segs : nullptr;  // one item: plain matmuls
  const size_t uT = static_cast<size_t>(T);
  auto grow = [](std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
  };
  grow(s.x, uT * E), grow(s.h, uT * E), grow(s.o, uT * E), grow(s.q, uT * Q), grow(s.k, uT * KV);
  grow(s.v, uT * KV), grow(s.att, uT * Q), grow(s.g, uT * F), grow(s.u, uT * F);
  const int half = c.rope_dims / 2;
  grow(s.cos, uT * half), grow(s.sin, uT * half), grow(s.cos_local, uT * half), grow(s.sin_local, uT * half);
  s.scores.resize(static_cast<size_t>(pool.size()));
  const size_t group = static_cast<size_t>(c.n_head / c.n_head_kv);
  for (auto& sc : s.scores) grow(sc, group * (static_cast<size_t>(max_ctx) + 8) + group * 32 * static_cast<size_t>(hd));

  // Embeddings and rotary tables, per row.
  for (int t = 0; t < T; ++t) {
    const BatchItem& it = items[row_item[static_cast<size_t>(t)]];
    float* x = &s.x[static_cast<size_t>(t) * E];
    const int32_t id = it.tokens[row_pos[static_cast<size_t>(t)] - it.session->pos_];
    DequantizeRow(m.tok_embd()->type, Row(m.tok_embd(), id), x, E);
    if (c.embd_scale > 0)
      for (int i = 0; i < E; ++i) x[i] *= c.embd_scale;
  }
  for (int i = 0, t0 = 0; i < n_items; t0 += items[i].n, ++i) {
    const int p0 = items[i].session->pos_, n = items[i].n;
    const size_t at = static_cast<size_t>(t0) * half;
    const TensorInfo* ft = m.rope_factors(items[i].session->n_ctx_);
    const float* factors = ft ? reinterpret_cast<const float*>(ft->data) : nullptr;
    RopeTables(p0, n, c.rope_dims, c.rope_base, c.rope_freq_scale, c.rope_attn_factor, factors, &s.cos[at],
               &s.sin[at]);
    if (c.sliding_window > 0)
      RopeTables(p0, n, c.rope_dims, c.rope_base_local, 1.0f, 1.0f, nullptr, &s.cos_local[at], &s.sin_local[at]);
  }

  const bool gemma = c.gemma;
  // Rows that go on through the last layer's FFN: every row when hidden states are wanted, else each item's
  // last (llama.cpp's inp_out_ids), moved to rows 0..n_items-1.
  const int R = hidden ? T : n_items;
  std::vector<int> ones(static_cast<size_t>(n_items), 1);
  const std::vector<int>* last_segs = hidden ? seg_arg : (n_items > 1 ? &ones : nullptr);
  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& w = m.layers()[static_cast<size_t>(l)];
    const bool local = c.layer_is_local[static_cast<size_t>(l)];
    if (l == 0)  // later layers' input norm is fused into the previous layer's last step
      ForTokens(pool, T, [&](int t) {
        RmsNorm(&s.x[t * static_cast<size_t>(E)], w.attn_norm, E, c.norm_eps, &s.h[t * static_cast<size_t>(E)]);
      });
    if (w.wqkv) {  // one matrix: each row's q, k and v side by side, then apart
      const int QKV = Q + 2 * KV;
      grow(s.fused, uT * static_cast<size_t>(QKV));
      MatMul(pool, s.h.data(), T, E, {{w.wqkv, nullptr, s.fused.data()}}, s.mm, seg_arg);
      for (size_t t = 0; t < uT; ++t) {
        const float* r = &s.fused[t * static_cast<size_t>(QKV)];
        std::copy_n(r, Q, &s.q[t * Q]);
        std::copy_n(r + Q, KV, &s.k[t * KV]);
        std::copy_n(r + Q + KV, KV, &s.v[t * KV]);
      }
    } else {
      MatMul(pool, s.h.data(), T, E,
             {{w.wq, w.bq, s.q.data()}, {w.wk, w.bk, s.k.data()}, {w.wv, w.bv, s.v.data()}}, s.mm, seg_arg);
    }

    auto cache = [&](int t, bool values) {
      Session& se = *items[row_item[static_cast<size_t>(t)]].session;
      const size_t layer_stride = static_cast<size_t>(se.n_ctx_) * KV;
      return &(values ? se.v_cache_ : se.k_cache_)[static_cast<size_t>(l) * layer_stride];
    };
    const float* cs = local ? s.cos_local.data() : s.cos.data();
    const float* sn = local ? s.sin_local.data() : s.sin.data();
    ForTokens(pool, T, [&](int t) {
      float* q = &s.q[static_cast<size_t>(t) * Q];
      float* k = &s.k[static_cast<size_t>(t) * KV];
      if (w.q_norm) {  // QK-norm (gemma3, qwen3)
        for (int h = 0; h < c.n_head; ++h) RmsNorm(q + h * hd, w.q_norm, hd, c.norm_eps, q + h * hd);
        for (int h = 0; h < c.n_head_kv; ++h) RmsNorm(k + h * hd, w.k_norm, hd, c.norm_eps, k + h * hd);
      }
      for (int h = 0; h < c.n_head; ++h) ApplyRope(q + h * hd, c.rope_dims, c.rope_neox, cs + t * half, sn + t * half);
      for (int h = 0; h < c.n_head_kv; ++h) ApplyRope(k + h * hd, c.rope_dims, c.rope_neox, cs + t * half, sn + t * half);
      // Scale q where llama.cpp does (gemma, phi3: before attention, kq_scale 1), then round to fp16 for q.k.
      if (c.scale_q_first)
        for (int i = 0; i < Q; ++i) q[i] *= c.attn_scale;
      RoundToHalf(Q, q);
      const size_t at = static_cast<size_t>(row_pos[static_cast<size_t>(t)]) * KV;
      Fp32ToFp16Row(KV, k, cache(t, false) + at);
      Fp32ToFp16Row(KV, &s.v[static_cast<size_t>(t) * KV], cache(t, true) + at);
    });

    // Attention: one (row, KV head) pair per work item, the query heads that share the KV head together; each row
    // against its own sequence's cache, on the path its sequence's batch alone would take.
    const float kq_scale = c.scale_q_first ? 1.0f : c.attn_scale;
    const int gsize = c.n_head / c.n_head_kv;
    const int64_t work = static_cast<int64_t>(T) * c.n_head_kv;
    pool.Run([&](int ti, int tn) {
      // Items interleave across threads: later tokens attend to more positions, so contiguous ranges would
      // leave the first thread idle.
      float* sc = s.scores[static_cast<size_t>(ti)].data();
      for (int64_t item = ti; item < work; item += tn) {
        const int t = static_cast<int>(item / c.n_head_kv), g = static_cast<int>(item % c.n_head_kv);
        const int p = row_pos[static_cast<size_t>(t)];
        const int lo = local && c.sliding_window > 0 ? std::max(0, p - c.sliding_window + 1) : 0;
        const size_t qoff = static_cast<size_t>(t) * Q + static_cast<size_t>(g) * gsize * hd;
        const size_t koff = static_cast<size_t>(g) * hd;
        const bool batched = items[row_item[static_cast<size_t>(t)]].n > 1;
        AttendF16(hd, gsize, &s.q[qoff], cache(t, false) + koff, cache(t, true) + koff, static_cast<size_t>(KV), lo,
                  p + 1, kq_scale, c.attn_softcap, batched, sc, &s.att[qoff]);
      }
    });

    MatMul(pool, s.att.data(), T, Q, {{w.wo, nullptr, s.o.data()}}, s.mm, seg_arg);
    const bool last = l + 1 == c.n_layer;
    if (last && !hidden)
      for (int i = 0, t0 = 0; i < n_items; t0 += items[i].n, ++i) {
        const size_t from = static_cast<size_t>(t0 + items[i].n - 1) * E, to = static_cast<size_t>(i) * E;
        if (from == to) continue;
        std::copy_n(&s.x[from], E, &s.x[to]);
        std::copy_n(&s.o[from], E, &s.o[to]);
      }
    const int rows = last ? R : T;
    const std::vector<int>* rsegs = last ? last_segs : seg_arg;
    ForTokens(pool, rows, [&](int t) {
      float* o = &s.o[static_cast<size_t>(t) * E];
      float* x = &s.x[static_cast<size_t>(t) * E];
      if (gemma) RmsNorm(o, w.post_attn_norm, E, c.norm_eps, o);
      for (int i = 0; i < E; ++i) x[i] += o[i];
      RmsNorm(x, w.ffn_norm, E, c.norm_eps, &s.h[static_cast<size_t>(t) * E]);
    });
    if (w.fused_up) {  // one matrix: each row's gate then up, then apart
      grow(s.fused, static_cast<size_t>(rows) * 2 * F);
      MatMul(pool, s.h.data(), rows, E, {{w.up, nullptr, s.fused.data()}}, s.mm, rsegs);
      for (size_t t = 0; t < static_cast<size_t>(rows); ++t) {
        std::copy_n(&s.fused[t * 2 * F], F, &s.g[t * F]);
        std::copy_n(&s.fused[t * 2 * F + F], F, &s.u[t * F]);
      }
    } else {
      MatMul(pool, s.h.data(), rows, E, {{w.gate, nullptr, s.g.data()}, {w.up, nullptr, s.u.data()}}, s.mm, rsegs);
    }
    const float* gelu = gemma ? GeluTable() : nullptr;
    ForTokens(pool, rows, [&](int t) {
      float* g = &s.g[static_cast<size_t>(t) * F];
      const float* u = &s.u[static_cast<size_t>(t) * F];
      if (gelu) {
        uint16_t h[256];
        for (int i0 = 0; i0 < F; i0 += 256) {
          const int mm = std::min(256, F - i0);
          Fp32ToFp16Row(mm, g + i0, h);
          for (int i = 0; i < mm; ++i) {
            const float xg = g[i0 + i];
            g[i0 + i] = (xg <= -10.f ? 0.f : xg >= 10.f ? xg : gelu[h[i]]) * u[i0 + i];
          }
        }
      } else {
        SwiGlu(F, g, u);
      }
    });
    MatMul(pool, s.g.data(), rows, F, {{w.down, nullptr, s.o.data()}}, s.mm, rsegs);
    const LayerWeights* next = last ? nullptr : &m.layers()[static_cast<size_t>(l) + 1];
    ForTokens(pool, rows, [&](int t) {
      float* o = &s.o[static_cast<size_t>(t) * E];
      float* x = &s.x[static_cast<size_t>(t) * E];
      if (gemma) RmsNorm(o, w.post_ffn_norm, E, c.norm_eps, o);
      for (int i = 0; i < E; ++i) x[i] += o[i];
      if (next) RmsNorm(x, next->attn_norm, E, c.norm_eps, &s.h[static_cast<size_t>(t) * E]);
    });
  }

  // Final norm of the rows that went on; every item's logits from its last row.
  for (int t = 0; t < R; ++t)
    RmsNorm(&s.x[static_cast<size_t>(t) * E], m.output_norm(), E, c.norm_eps, &s.h[static_cast<size_t>(t) * E]);
  if (hidden) hidden->insert(hidden->end(), s.h.begin(), s.h.begin() + static_cast<std::ptrdiff_t>(uT * E));
  if (n_items == 1) {
    MatMul(pool, &s.h[static_cast<size_t>(R - 1) * E], 1, E, {{m.output(), nullptr, lead.logits_.data()}}, s.mm);
  } else {
    const size_t V = static_cast<size_t>(c.n_vocab);
    grow(s.logits, static_cast<size_t>(n_items) * V);
    MatMul(pool, s.h.data(), n_items, E, {{m.output(), nullptr, s.logits.data()}}, s.mm, &ones);
    for (int i = 0; i < n_items; ++i)
      std::copy_n(&s.logits[static_cast<size_t>(i) * V], V, items[i].session->logits_.data());
  }
  if (c.final_softcap > 0)  // gemma2
    for (int i = 0; i < n_items; ++i) SoftCap(c.n_vocab, c.final_softcap, items[i].session->logits_.data());
  for (int i = 0; i < n_items; ++i) {
    Session& se = *items[i].session;
    se.tokens_.insert(se.tokens_.end(), items[i].tokens, items[i].tokens + items[i].n);
    const int n = items[i].n, grouped = n >= kBatchOrderMinRows ? n / 4 * 4 : 0;
    se.exact_.insert(se.exact_.end(), static_cast<size_t>(grouped), 1);
    se.exact_.insert(se.exact_.end(), static_cast<size_t>(n - grouped), 0);
    se.pos_ += items[i].n;
  }
}

}  // namespace tandem::engine
