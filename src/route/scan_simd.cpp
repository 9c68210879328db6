// route_simd: picks the kernels of scan_kernels.h for this CPU (built for any target; no ISA flags here).
#include "route/scan_simd.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "route/scan_kernels.h"

namespace tandem::route_simd {
namespace {

Level CapFromEnvironment() {
  if (std::getenv("TANDEM_FORCE_SCALAR") != nullptr) return Level::kScalar;
  if (const char* s = std::getenv("TANDEM_SIMD")) {
    if (std::strcmp(s, "scalar") == 0) return Level::kScalar;
    if (std::strcmp(s, "avx2") == 0) return Level::kAvx2;
  }
  return Level::kAvx512;
}

std::atomic<Level> cap{CapFromEnvironment()};

}  // namespace

Level CpuLevel() {
#if defined(__x86_64__)
  static const Level level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                                 ? Level::kAvx512
                                 : __builtin_cpu_supports("avx2") ? Level::kAvx2 : Level::kScalar;
  return level;
#elif defined(__i386__)
  static const Level level = __builtin_cpu_supports("avx2") ? Level::kAvx2 : Level::kScalar;
  return level;
#else
  return Level::kScalar;
#endif
}

Level ActiveLevel() {
  const Level c = cap.load(std::memory_order_relaxed);
  return CpuLevel() < c ? CpuLevel() : c;
}

Level SimdCap() { return cap.load(std::memory_order_relaxed); }

void SetSimdCap(Level level) { cap.store(level, std::memory_order_relaxed); }

const char* LevelName(Level level) {
  switch (level) {
    case Level::kAvx512: return "avx512";
    case Level::kAvx2: return "avx2";
    default: return "scalar";
  }
}

size_t PiiCandidates(const uint8_t* t, size_t n, uint64_t* digits, uint64_t* triggers) {
  return ActiveLevel() >= Level::kAvx2 ? route_avx2::PiiCandidates(t, n, digits, triggers) : 0;
}

uint32_t KeywordsFound(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count) {
  switch (ActiveLevel()) {
    case Level::kAvx512: return route_avx512::KeywordsFound(t, n, keywords, lens, count);
    case Level::kAvx2: return route_avx2::KeywordsFound(t, n, keywords, lens, count);
    default: return 0;
  }
}

size_t FourGramSlots(const uint8_t* b, size_t count, uint32_t shift, uint32_t* out) {
  return ActiveLevel() >= Level::kAvx2 ? route_avx2::FourGramSlots(b, count, shift, out) : 0;
}

size_t FilterProbes(const uint8_t* b, size_t count, const uint64_t* filter, uint64_t* hits) {
  return ActiveLevel() >= Level::kAvx2 ? route_avx2::FilterProbes(b, count, filter, hits) : 0;
}

}  // namespace tandem::route_simd
