// Prompt-processing kernels on their own: each weight format's multi-row kernel as a prompt batch uses it (tile24:
// two weight rows by four activation rows; else dot4, or dot4_batch where the format has llama.cpp's batch order)
// over a 2,048-row weight matrix and a 512-token batch, beside its peer measured in the same run — the single-row
// dot kernel doing the same products one output at a time. Prints GMAC/s for both and the ratio (tile over single;
// above 1: the tile is faster). Single thread; timings are the median of the rounds, rounds interleaved so a noisy
// spell falls on both.
//
// Usage: kernels_bench [rounds]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/fp16.h"
#include "engine/kernels/vec_dot.h"

namespace {

using namespace tandem::engine;

// Random weight bytes with every block's fp16 scale fields set to small finite values, so the float paths run on
// ordinary numbers. Offsets of the scale fields per block: d (and dmin/m) as ggml lays them out.
std::vector<uint8_t> RandomWeights(TensorType t, int k, int rows, std::mt19937& rng) {
  const size_t rb = RowBytes(t, k);
  std::vector<uint8_t> w(rb * static_cast<size_t>(rows));
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const TypeInfo& info = Info(t);
  std::vector<int> half_offsets;
  switch (t) {
    case TensorType::kQ4_0: case TensorType::kQ5_0: case TensorType::kQ8_0: half_offsets = {0}; break;
    case TensorType::kQ4_1: case TensorType::kQ5_1: half_offsets = {0, 2}; break;
    case TensorType::kQ4_K: case TensorType::kQ5_K: half_offsets = {0, 2}; break;
    case TensorType::kQ6_K: half_offsets = {208}; break;
    default: break;
  }
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  for (size_t b = 0; b < w.size() / static_cast<size_t>(info.block_bytes); ++b)
    for (int off : half_offsets) {
      const uint16_t h = Fp32ToFp16(scale(rng));
      std::memcpy(&w[b * static_cast<size_t>(info.block_bytes) + static_cast<size_t>(off)], &h, 2);
    }
  return w;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const int kRows = 2048, kTokens = 512;
  struct Case {
    TensorType type;
    int k;
  };
  const Case cases[] = {{TensorType::kQ4_0, 640}, {TensorType::kQ4_1, 576}, {TensorType::kQ5_0, 640},
                        {TensorType::kQ8_0, 640}, {TensorType::kQ4_K, 1024}, {TensorType::kQ5_K, 1024},
                        {TensorType::kQ6_K, 2048}};
  std::mt19937 rng(1);
  std::printf("kernels_bench: %d weight rows x %d tokens, 1 thread, %s kernels, median of %d rounds\n", kRows, kTokens,
              ActiveKernelsName(), rounds);
  std::printf("  %-6s %6s %14s %14s %7s %15s\n", "format", "k", "tile GMAC/s", "single GMAC/s", "ratio",
              "panel16 GMAC/s");
  volatile float sink = 0;
  for (const Case& c : cases) {
    const DotKernel& kern = GetDotKernel(c.type);
    const VecDot4Fn dot4 = kern.dot_batch ? kern.dot4_batch : kern.dot4;
    const VecDotFn dot = kern.dot_batch ? kern.dot_batch : kern.dot;
    const bool use_tile = kern.tile24 && !kern.dot_batch;
    if (!use_tile && !dot4) continue;
    const auto w = RandomWeights(c.type, c.k, kRows, rng);
    std::normal_distribution<float> nd;
    std::vector<float> x(static_cast<size_t>(c.k));
    const size_t ab = ActRowBytes(kern, c.k), wb = RowBytes(c.type, c.k);
    std::vector<uint8_t> acts(ab * kTokens);
    for (int t = 0; t < kTokens; ++t) {
      for (float& v : x) v = nd(rng);
      kern.quantize(x.data(), acts.data() + ab * static_cast<size_t>(t), c.k);
    }
    std::vector<double> tile_s, single_s, panel_s;
    for (int r = 0; r < rounds; ++r) {
      float acc = 0;
      auto t0 = std::chrono::steady_clock::now();
      for (int row = 0; row + 2 <= kRows; row += 2)
        for (int t = 0; t + 4 <= kTokens; t += 4) {
          float o[8];
          const uint8_t* a = acts.data() + ab * static_cast<size_t>(t);
          if (use_tile) {
            kern.tile24(c.k, w.data() + wb * row, wb, a, ab, o, 4);
          } else {
            dot4(c.k, w.data() + wb * row, a, ab, o);
            dot4(c.k, w.data() + wb * (row + 1), a, ab, o + 4);
          }
          acc += o[0] + o[7];
        }
      auto t1 = std::chrono::steady_clock::now();
      for (int row = 0; row < kRows; ++row)
        for (int t = 0; t < kTokens; ++t) acc += dot(c.k, w.data() + wb * row, acts.data() + ab * static_cast<size_t>(t));
      auto t2 = std::chrono::steady_clock::now();
      const VecPanelFn panel = kern.dot_batch ? kern.panel16_batch : kern.panel16;
      if (panel) {  // 16 weight rows per pass, 64 tokens at a time (a batch step's chunk)
        std::vector<float> out(64 * 16);
        for (int row = 0; row + 16 <= kRows; row += 16)
          for (int t = 0; t + 64 <= kTokens; t += 64) {
            panel(c.k, w.data() + wb * row, wb, acts.data() + ab * static_cast<size_t>(t), ab, 64, out.data(), 16);
            acc += out[0] + out[out.size() - 1];
          }
        panel_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count());
      }
      tile_s.push_back(std::chrono::duration<double>(t1 - t0).count());
      single_s.push_back(std::chrono::duration<double>(t2 - t1).count());
      sink = sink + acc;
    }
    const double macs = static_cast<double>(c.k) * kRows * kTokens;
    const double tile = macs / Median(tile_s) / 1e9, single = macs / Median(single_s) / 1e9;
    std::printf("  %-6s %6d %14.2f %14.2f %7.2f", TypeName(c.type), c.k, tile, single, tile / single);
    if (panel_s.empty()) std::printf(" %15s\n", "-");
    else std::printf(" %15.2f\n", macs / Median(panel_s) / 1e9);
  }
  return sink == 12345.f ? 1 : 0;
}
