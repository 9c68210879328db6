#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

#include "engine/kernels/dequant.h"
#include "engine/kernels/fp16.h"
#include "engine/kernels/vec_dot.h"

namespace tandem::engine {
namespace {

struct Fixture {
  TensorType type;
  int64_t n;
  std::vector<uint8_t> raw;
  std::vector<float> expected;
};

// fixtures/quant_blocks.bin, written by tests/engine/make_quant_fixtures.py from gguf-py's decoders.
std::vector<Fixture> LoadFixtures() {
  std::ifstream in(std::string(TANDEM_SOURCE_DIR) + "/tests/engine/fixtures/quant_blocks.bin", std::ios::binary);
  std::vector<Fixture> out;
  uint32_t hdr[3];
  while (in.read(reinterpret_cast<char*>(hdr), sizeof hdr)) {
    Fixture f{static_cast<TensorType>(hdr[0]), hdr[1], std::vector<uint8_t>(hdr[2]), std::vector<float>(hdr[1])};
    in.read(reinterpret_cast<char*>(f.raw.data()), hdr[2]);
    in.read(reinterpret_cast<char*>(f.expected.data()), static_cast<std::streamsize>(hdr[1] * 4));
    out.push_back(std::move(f));
  }
  return out;
}

TEST(Fp16Test, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = Fp16ToFp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(Fp16ToFp32(Fp32ToFp16(f))));
      continue;
    }
    ASSERT_EQ(Fp32ToFp16(f), h) << h;
    ASSERT_EQ(Fp16Table()[h], f);
  }
}

// The row converter (F16C under AVX2) rounds exactly as the portable Fp32ToFp16: a sweep over float bit patterns
// (every 4099th, NaNs aside) covers normals, subnormals, ties, overflow to infinity and infinities.
TEST(Fp16Test, RowConverterEqualsScalarOnEveryIsa) {
  std::vector<float> x;
  for (uint64_t u = 0; u <= 0xffffffffull; u += 4099) {
    const float f = BitsToFloat(static_cast<uint32_t>(u));
    if (!std::isnan(f)) x.push_back(f);
  }
  x.insert(x.end(), {65504.f, 65519.f, 65520.f, -65520.f, std::ldexp(1.f, -25), std::ldexp(1.5f, -25), -0.f});
  std::vector<uint16_t> got(x.size());
  for (bool scalar : {true, false}) {
    ForceScalarKernels(scalar);
    Fp32ToFp16Row(static_cast<int>(x.size()), x.data(), got.data());
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(got[i], Fp32ToFp16(x[i])) << x[i] << (scalar ? " scalar" : " isa");
  }
  ForceScalarKernels(false);
}

TEST(Fp16Test, RoundsToNearestEven) {
  EXPECT_EQ(Fp32ToFp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie, even is 1.0
  EXPECT_EQ(Fp32ToFp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie, even is up
  EXPECT_EQ(Fp32ToFp16(65520.f), 0x7C00);                           // overflows to infinity
  EXPECT_EQ(Fp32ToFp16(65519.f), 0x7BFF);
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -25)), 0x0000);             // half the smallest subnormal: tie to 0
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(Fp32ToFp16(-0.0f), 0x8000);
}

TEST(DequantTest, MatchesGgufPyBitForBit) {
  const auto fixtures = LoadFixtures();
  ASSERT_EQ(fixtures.size(), 10u);
  for (const Fixture& f : fixtures) {
    std::vector<float> got(static_cast<size_t>(f.n));
    DequantizeRow(f.type, f.raw.data(), got.data(), f.n);
    ASSERT_EQ(std::memcmp(got.data(), f.expected.data(), got.size() * 4), 0) << TypeName(f.type);
  }
}

std::vector<float> RandomActs(int n, std::mt19937& rng) {
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> a(static_cast<size_t>(n));
  for (float& x : a) x = d(rng);
  return a;
}

// Every dot kernel against float math on the decoded values, and AVX2 against scalar.
TEST(DotTest, KernelsAgreeWithDecodedMath) {
  std::mt19937 rng(3);
  for (const Fixture& f : LoadFixtures()) {
    const int n = 512;  // one row
    const auto acts = RandomActs(n, rng);
    for (Isa isa : {Isa::kScalar, Isa::kAvx2}) {
      if (isa == Isa::kAvx2 && !CpuHasAvx2()) continue;
      const DotKernel& k = GetDotKernel(f.type, isa);
      ASSERT_NE(k.dot, nullptr) << TypeName(f.type);
      std::vector<uint8_t> q(ActRowBytes(k, n));
      k.quantize(acts.data(), q.data(), n);
      std::vector<float> aq(static_cast<size_t>(n));
      DequantizeRow(k.act_type, q.data(), aq.data(), n);
      double ref = 0, mag = 0;
      for (int i = 0; i < n; ++i) {
        ref += static_cast<double>(f.expected[static_cast<size_t>(i)]) * aq[static_cast<size_t>(i)];
        mag += std::fabs(static_cast<double>(f.expected[static_cast<size_t>(i)]) * aq[static_cast<size_t>(i)]);
      }
      // Q4_1/Q5_1 carry the activation sum in fp16 (s = d * sum): allow that rounding, far below a wrong kernel.
      EXPECT_NEAR(k.dot(n, f.raw.data(), q.data()), ref, 1e-3 * mag) << TypeName(f.type) << " " << IsaName(isa);
      if (k.dot_batch) {
        EXPECT_NEAR(k.dot_batch(n, f.raw.data(), q.data()), ref, 1e-3 * mag) << TypeName(f.type) << " " << IsaName(isa);
      }
    }
  }
}

TEST(DotTest, MultiRowKernelsEqualSingleRowBitForBit) {
  if (!CpuHasAvx2()) GTEST_SKIP() << "no AVX2 here";
  std::mt19937 rng(5);
  std::vector<std::pair<const Fixture*, const DotKernel*>> cases;
  const auto fixtures = LoadFixtures();
  for (const Fixture& f : fixtures) {
    const DotKernel& k = GetDotKernel(f.type, Isa::kAvx2);
    cases.push_back({&f, &k});
    if (k.unrepacked) cases.push_back({&f, k.unrepacked});  // the other order (matrices llama.cpp does not repack)
  }
  for (const auto& [fp, kp] : cases) {
    const Fixture& f = *fp;
    const DotKernel& k = *kp;
    if (!k.dot4 && !k.tile24) continue;
    const int n = 512;
    const size_t rb = ActRowBytes(k, n), wb = RowBytes(f.type, n);
    std::vector<uint8_t> acts(rb * 4);
    for (int r = 0; r < 4; ++r) k.quantize(RandomActs(n, rng).data(), acts.data() + rb * r, n);
    float single[2][4];
    for (int w = 0; w < 2; ++w)
      for (int r = 0; r < 4; ++r) single[w][r] = k.dot(n, f.raw.data() + wb * w, acts.data() + rb * r);
    if (k.dot4) {
      float out[4];
      k.dot4(n, f.raw.data(), acts.data(), rb, out);
      for (int r = 0; r < 4; ++r) {
        if (f.type == TensorType::kQ4_K) {
          // Batched Q4_K folds per sub-block pair (llama.cpp's repacked GEMM), single rows per super-block
          // (its GEMV): the same integers, rounded at different points.
          EXPECT_NEAR(out[r], single[0][r], 1e-5 * std::fabs(single[0][r]) + 1e-4) << TypeName(f.type);
        } else {
          EXPECT_EQ(out[r], single[0][r]) << TypeName(f.type);
        }
      }
    }
    if (k.tile24) {
      float out[8];
      k.tile24(n, f.raw.data(), wb, acts.data(), rb, out, 4);
      for (int w = 0; w < 2; ++w) {
        float expected[4];
        if (f.type == TensorType::kQ4_K) {  // the batched order: the same as dot4's
          k.dot4(n, f.raw.data() + wb * w, acts.data(), rb, expected);
        } else {
          for (int r = 0; r < 4; ++r) expected[r] = single[w][r];
        }
        for (int r = 0; r < 4; ++r) EXPECT_EQ(out[w * 4 + r], expected[r]) << TypeName(f.type);
      }
    }
  }
}

// The AVX-512 panels (16 weight rows per pass, one per lane) give tile24's outputs bit for bit: random rows (every
// scale, min and value pattern), activation rows in groups of four.
TEST(DotTest, PanelKernelsEqualTile24BitForBit) {
  if (!CpuHasAvx512Vnni()) GTEST_SKIP() << "no AVX-512 VNNI here";
  struct Case {
    TensorType type;
    VecPanelFn panel;
    bool batch_order;  // panel16_batch: against dot_batch, else panel16 against tile24
  };
  const Case panels[] = {{TensorType::kQ4_K, detail::Avx512PanelQ4_K(), false},
                         {TensorType::kQ5_0, detail::Avx512PanelQ5_0(), false},
                         {TensorType::kQ8_0, detail::Avx512PanelQ8_0(), false},
                         {TensorType::kQ6_K, detail::Avx512PanelQ6_KBatch(), true}};
  std::mt19937 rng(17);
  for (const auto& [type, panel, batch_order] : panels) {
    ASSERT_NE(panel, nullptr) << TypeName(type);
    const DotKernel& k = GetDotKernel(type, Isa::kAvx2);
    EXPECT_EQ(batch_order ? GetDotKernel(type).panel16_batch : GetDotKernel(type).panel16, panel) << TypeName(type);
    const int n = 1024, T = 12;
    const size_t wb = RowBytes(type, n), rb = ActRowBytes(k, n);
    std::vector<uint8_t> w(wb * 16);
    for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
    // Finite scales of either sign (0x1000..0x2fff and their negatives) where a block's fp16 scales sit.
    auto scale = [&] { return static_cast<uint16_t>(0x1000 + rng() % 0x2000) | static_cast<uint16_t>((rng() & 1) << 15); };
    for (int x = 0; x < 16; ++x) {
      uint8_t* row = w.data() + wb * static_cast<size_t>(x);
      if (type == TensorType::kQ4_K) {
        auto* blocks = reinterpret_cast<BlockQ4_K*>(row);
        for (int i = 0; i < n / kQK_K; ++i) blocks[i].d = scale(), blocks[i].dmin = scale() & 0x7fff;
      } else if (type == TensorType::kQ6_K) {
        auto* blocks = reinterpret_cast<BlockQ6_K*>(row);
        for (int i = 0; i < n / kQK_K; ++i) blocks[i].d = scale();
      } else if (type == TensorType::kQ5_0) {
        auto* blocks = reinterpret_cast<BlockQ5_0*>(row);
        for (int i = 0; i < n / kQK; ++i) blocks[i].d = scale();
      } else {
        auto* blocks = reinterpret_cast<BlockQ8_0*>(row);
        for (int i = 0; i < n / kQK; ++i) blocks[i].d = scale();
      }
    }
    std::vector<uint8_t> acts(rb * T);
    for (int t = 0; t < T; ++t) k.quantize(RandomActs(n, rng).data(), acts.data() + rb * static_cast<size_t>(t), n);
    std::vector<float> out(static_cast<size_t>(T) * 16);
    panel(n, w.data(), wb, acts.data(), rb, T, out.data(), 16);
    if (batch_order) {
      for (int x = 0; x < 16; ++x)
        for (int t = 0; t < T; ++t)
          EXPECT_EQ(out[static_cast<size_t>(t) * 16 + static_cast<size_t>(x)],
                    k.dot_batch(n, w.data() + wb * static_cast<size_t>(x), acts.data() + rb * static_cast<size_t>(t)))
              << TypeName(type) << " row " << x << " act " << t;
      continue;
    }
    for (int x = 0; x < 16; x += 2) {
      for (int t = 0; t < T; t += 4) {
        float tile[8];
        k.tile24(n, w.data() + wb * static_cast<size_t>(x), wb, acts.data() + rb * static_cast<size_t>(t), rb, tile, 4);
        for (int j = 0; j < 2; ++j)
          for (int c = 0; c < 4; ++c)
            EXPECT_EQ(out[static_cast<size_t>(t + c) * 16 + static_cast<size_t>(x + j)], tile[j * 4 + c])
                << TypeName(type) << " row " << x + j << " act " << t + c;
      }
    }
  }
}

TEST(DotTest, DecodeKernelsEqualSingleRowBitForBitOnEveryIsa) {
  std::mt19937 rng(11);
  const auto fixtures = LoadFixtures();
  int checked = 0;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2}) {
    if (isa == Isa::kAvx2 && !CpuHasAvx2()) continue;
    for (const Fixture& f : fixtures) {
      for (const DotKernel* kp : {&GetDotKernel(f.type, isa), GetDotKernel(f.type, isa).unrepacked}) {
        if (!kp || !kp->dot4_decode) continue;
        const DotKernel& k = *kp;
        const int n = 512;
        const size_t rb = ActRowBytes(k, n);
        std::vector<uint8_t> acts(rb * 4);
        for (int r = 0; r < 4; ++r) k.quantize(RandomActs(n, rng).data(), acts.data() + rb * r, n);
        float out[4];
        k.dot4_decode(n, f.raw.data(), acts.data(), rb, out);
        for (int r = 0; r < 4; ++r) EXPECT_EQ(out[r], k.dot(n, f.raw.data(), acts.data() + rb * r)) << TypeName(f.type);
        ++checked;
      }
    }
  }
  if (CpuHasAvx2()) {
    EXPECT_GE(checked, 6);  // Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K
  }
}

TEST(DotTest, KernelForPicksTheUnrepackedOrderByRowCount) {
  const DotKernel& k = GetDotKernel(TensorType::kQ4_0);
  EXPECT_EQ(&KernelFor(k, 2048), &k);
  if (ActiveIsa() == Isa::kAvx2) {
    ASSERT_NE(k.unrepacked, nullptr);
    EXPECT_EQ(&KernelFor(k, 273), k.unrepacked);
  } else {
    EXPECT_EQ(&KernelFor(k, 273), &k);  // the portable kernels have one order
  }
  const DotKernel& q8 = GetDotKernel(TensorType::kQ8_0);
  EXPECT_EQ(&KernelFor(q8, 273), &q8);  // formats llama.cpp does not repack on x86 have one order
}

// The prompt-batch order (llama.cpp's tiled K-quant matmul) is a single float chain over exact integer block sums,
// so the AVX2 kernels, their four-row form and the portable loop must agree to the bit.
TEST(DotTest, BatchOrderKernelsAreExactAcrossIsasAndRowCounts) {
  if (!CpuHasAvx2()) GTEST_SKIP() << "no AVX2 here";
  std::mt19937 rng(7);
  int checked = 0;
  for (const Fixture& f : LoadFixtures()) {
    const DotKernel& k = GetDotKernel(f.type, Isa::kAvx2);
    const DotKernel& ks = GetDotKernel(f.type, Isa::kScalar);
    ASSERT_EQ(k.dot_batch == nullptr, ks.dot_batch == nullptr) << TypeName(f.type);
    if (!k.dot_batch) continue;
    const int n = 512;
    const size_t rb = ActRowBytes(k, n);
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<uint8_t> acts(rb * 4);
      for (int r = 0; r < 4; ++r) k.quantize(RandomActs(n, rng).data(), acts.data() + rb * r, n);
      float four[4];
      ASSERT_NE(k.dot4_batch, nullptr);
      k.dot4_batch(n, f.raw.data(), acts.data(), rb, four);
      for (int r = 0; r < 4; ++r) {
        const float one = k.dot_batch(n, f.raw.data(), acts.data() + rb * r);
        ASSERT_EQ(one, ks.dot_batch(n, f.raw.data(), acts.data() + rb * r)) << TypeName(f.type);
        ASSERT_EQ(four[r], one) << TypeName(f.type);
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 1);  // Q6_K
}

// The AVX2 activation quantizers must give the portable ones' bytes: every matmul's result depends on them.
// Inputs: Gaussian rows, rows of halves (products land on .5 ties), rows whose largest magnitude occurs
// with both signs (which one sets the Q8_K scale), zero rows and rows with a single nonzero.
TEST(QuantizeTest, Avx2QuantizersEqualScalarByteForByte) {
  if (!CpuHasAvx2()) GTEST_SKIP() << "no AVX2 here";
  std::mt19937 rng(11);
  const int n = 512;
  for (TensorType w : {TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ6_K}) {
    const DotKernel& k = GetDotKernel(w, Isa::kAvx2);
    const DotKernel& ks = GetDotKernel(w, Isa::kScalar);
    ASSERT_EQ(k.act_type, ks.act_type);
    for (int trial = 0; trial < 400; ++trial) {
      std::vector<float> x = RandomActs(n, rng);
      const int kind = trial % 5;
      if (kind == 1) {  // halves, with 127 leading each block: scale 1 (Q8_0/1) or -1 (Q8_K), every product a tie
        for (float& v : x) v = static_cast<float>(static_cast<int>(rng() % 253) - 126) + 0.5f;
        for (int j = 0; j < n; j += 32) x[static_cast<size_t>(j)] = 127.f;
      }
      if (kind == 2) {
        x[static_cast<size_t>(rng() % n)] = 9.f;
        x[static_cast<size_t>(rng() % n)] = -9.f;
      }
      if (kind == 3) std::fill(x.begin(), x.end(), 0.f);
      if (kind == 4) {
        std::fill(x.begin(), x.end(), 0.f);
        x[static_cast<size_t>(rng() % n)] = -0.5f;
      }
      std::vector<uint8_t> a(ActRowBytes(k, n)), b(ActRowBytes(k, n));
      k.quantize(x.data(), a.data(), n);
      ks.quantize(x.data(), b.data(), n);
      ASSERT_EQ(a, b) << TypeName(k.act_type) << " trial " << trial;
    }
  }
}

TEST(AttentionTest, AvxAndScalarAgreeAndWeightsSumToOne) {
  std::mt19937 rng(11);
  const int hd = 64, G = 3, n_pos = 37, stride = 2 * hd;
  std::vector<uint16_t> k(static_cast<size_t>(n_pos) * stride), v(k.size());
  std::normal_distribution<float> d(0.f, 1.f);
  for (auto& x : k) x = Fp32ToFp16(d(rng));
  for (auto& x : v) x = Fp32ToFp16(1.0f);  // every value 1: the output must be 1 (weights sum to one)
  auto q = RandomActs(G * hd, rng);
  for (float& x : q) x = Fp16ToFp32(Fp32ToFp16(x));
  std::vector<float> scratch(static_cast<size_t>(G) * (n_pos + 8) + static_cast<size_t>(G) * 32 * hd);
  for (bool batched : {false, true}) {
    for (int first : {0, 20}) {
      std::vector<float> out(static_cast<size_t>(G) * hd);
      ForceScalarKernels(false);
      AttendF16(hd, G, q.data(), k.data(), v.data(), stride, first, n_pos, 0.125f, 0.f, batched, scratch.data(), out.data());
      for (float o : out) EXPECT_NEAR(o, 1.0f, 2e-3);
    }
  }
  // With random V, scalar and AVX2 give the same result up to float ordering.
  for (auto& x : v) x = Fp32ToFp16(d(rng));
  std::vector<float> a(static_cast<size_t>(G) * hd), b(a.size());
  ForceScalarKernels(true);
  AttendF16(hd, G, q.data(), k.data(), v.data(), stride, 0, n_pos, 0.125f, 0.f, false, scratch.data(), a.data());
  ForceScalarKernels(false);
  AttendF16(hd, G, q.data(), k.data(), v.data(), stride, 0, n_pos, 0.125f, 0.f, false, scratch.data(), b.data());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-3);
}

TEST(ActivationTest, SwiGluMatchesTheFormula) {
  std::vector<float> g, u;
  for (int i = -400; i < 400; ++i) {
    g.push_back(static_cast<float>(i) * 0.25f);
    u.push_back(1.5f);
  }
  auto ref = g;
  SwiGlu(static_cast<int>(g.size()), g.data(), u.data());
  for (size_t i = 0; i < g.size(); ++i) {
    const double x = ref[i];
    const double want = x / (1.0 + std::exp(-x)) * 1.5;
    EXPECT_NEAR(g[i], want, 1e-6 * std::fabs(want) + 1e-30) << x;
  }
}

}  // namespace
}  // namespace tandem::engine
