#include "engine/kernels/vec_dot.h"

#include <atomic>

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
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  }();
  return has;
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
void GemmRows16(const float* W, int K, const float* A, size_t lda, int T, float* y, size_t ldy, int nr) {
  Table(ActiveIsa()).gemm_rows16(W, K, A, lda, T, y, ldy, nr);
}

void SwiGlu(int n, float* g, const float* u) { Table(ActiveIsa()).swiglu(n, g, u); }

void AttendF16(int hd, int G, const float* q, const uint16_t* k, const uint16_t* v, size_t stride, int first,
               int n_pos, float scale, bool batched, float* scratch, float* out) {
  Table(ActiveIsa()).attend(hd, G, q, k, v, stride, first, n_pos, scale, batched, scratch, out);
}

}  // namespace tandem::engine
