#include "engine/kernels/vec_dot.h"

#include <atomic>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "engine/kernels/dequant.h"
#include <cstdlib>
#include <cstring>

namespace tandem::engine {
namespace {

std::atomic<int> g_forced{-1};  // -1: not forced; 0: ISA choice; 1: scalar

Isa Detect() {
  const char* env = std::getenv("TANDEM_FORCE_SCALAR");
  if (env && std::strcmp(env, "1") == 0) return Isa::kScalar;
  return CpuHasAvx2() && detail::Avx2Table() ? Isa::kAvx2 : Isa::kScalar;
}

const detail::KernelTable& Table(Isa isa) {
  return isa == Isa::kAvx2 ? *detail::Avx2Table() : detail::ScalarTable();
}

}  // namespace

bool CpuHasAvx2() {
  static const bool has = [] {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), f16c = c & (1u << 29);
    if (!fma || !osxsave || !f16c) return false;
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return false;  // the OS saves XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b & (1u << 5)) != 0;  // AVX2
#else
    return false;
#endif
  }();
  return has;
}

bool CpuHasAvx512Vnni() {
  static const bool has = [] {
#if defined(__x86_64__)
    if (!CpuHasAvx2()) return false;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool f = b & (1u << 16), bw = b & (1u << 30), vnni = c & (1u << 11);
    if (!f || !bw || !vnni) return false;
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xE6u) == 0xE6u;  // the OS saves XMM, YMM, the opmasks and all 32 ZMM registers
#else
    return false;
#endif
  }();
  return has;
}

const char* ActiveKernelsName() {
  if (ActiveIsa() == Isa::kScalar) return "scalar";
  return GetDotKernel(TensorType::kQ4_K).panel16 ? "avx2+avx512vnni" : "avx2";
}

Isa ActiveIsa() {
  static const Isa detected = Detect();
  return g_forced.load(std::memory_order_relaxed) == 1 ? Isa::kScalar : detected;
}

void ForceScalarKernels(bool scalar) { g_forced.store(scalar ? 1 : 0); }

const char* IsaName(Isa isa) { return isa == Isa::kAvx2 ? "avx2" : "scalar"; }

const DotKernel& GetDotKernel(TensorType t, Isa isa) {
  static const DotKernel kNone{};
  const auto id = static_cast<uint32_t>(t);
  return id < 32 ? Table(isa).by_type[id] : kNone;
}
const DotKernel& GetDotKernel(TensorType t) { return GetDotKernel(t, ActiveIsa()); }

float DotF32(int n, const float* a, const float* b) { return Table(ActiveIsa()).dot_f32(n, a, b); }
float DotF16F32(int n, const uint16_t* a, const float* b) { return Table(ActiveIsa()).dot_f16_f32(n, a, b); }
void AxpyF16(int n, float a, const uint16_t* x, float* y) { Table(ActiveIsa()).axpy_f16(n, a, x, y); }
void Fp32ToFp16Row(int n, const float* x, uint16_t* y) { Table(ActiveIsa()).fp32_to_fp16(n, x, y); }

void SwiGlu(int n, float* g, const float* u) { Table(ActiveIsa()).swiglu(n, g, u); }

void AttendF16(int hd, int G, const float* q, const uint16_t* k, const uint16_t* v, size_t stride, int first,
               int n_pos, float scale, float softcap, bool batched, float* scratch, float* out) {
  Table(ActiveIsa()).attend(hd, G, q, k, v, stride, first, n_pos, scale, softcap, batched, scratch, out);
}

}  // namespace tandem::engine
