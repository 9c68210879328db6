// The per-ISA versions of route_simd's kernels (scan_simd.h has their contracts): scan_avx2.cpp (built with
// -mavx2) and scan_avx512.cpp (-mavx512f -mavx512bw). Only scan_simd.cpp calls them, after checking the CPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem {

namespace route_avx2 {
size_t PiiCandidates(const uint8_t* t, size_t n, uint64_t* digits, uint64_t* triggers);
uint32_t KeywordsFound(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count);
size_t FourGramSlots(const uint8_t* b, size_t count, uint32_t shift, uint32_t* out);
size_t FilterProbes(const uint8_t* b, size_t count, const uint64_t* filter, uint64_t* hits);
}  // namespace route_avx2

namespace route_avx512 {  // only where it measured faster than AVX2 (scan_simd.h)
uint32_t KeywordsFound(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count);
}  // namespace route_avx512

}  // namespace tandem
