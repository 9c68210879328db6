// ForEachSimdLevel: runs a test body once per SIMD level of route/ this CPU runs (scalar, AVX2, AVX-512),
// capping route_simd at each in turn (the first is kScalar), and restores the cap it found after (so a run under
// TANDEM_FORCE_SCALAR or TANDEM_SIMD stays so capped for the tests that follow). A level the CPU lacks is skipped,
// so a test is as strong as the machine allows and never fails for want of an instruction set.
#pragma once

#include <gtest/gtest.h>

#include "route/scan_simd.h"

namespace tandem {

template <class F>
void ForEachSimdLevel(F body) {
  using route_simd::Level;
  const Level before = route_simd::SimdCap();
  for (Level level : {Level::kScalar, Level::kAvx2, Level::kAvx512}) {
    if (level > route_simd::CpuLevel()) continue;
    route_simd::SetSimdCap(level);
    SCOPED_TRACE(route_simd::LevelName(level));
    body(level);
  }
  route_simd::SetSimdCap(before);
}

}  // namespace tandem
