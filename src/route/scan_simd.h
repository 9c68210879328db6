// The SIMD scans of route/, behind one dispatch: each kernel below runs the fastest version this CPU has and
// returns how much of its input it covered; the caller's portable loop does the rest (all of it when the level is
// kScalar, where every kernel returns 0). The versions give the same result, and the unit tests compare each level
// the CPU runs against the portable loops. Internal to route/.
//
// The keyword scan has an AVX-512 version (64 positions a step); the others run their AVX2 version on AVX-512
// CPUs too, since their AVX-512 versions measured no faster (bench/route, Zen 4, 2,000 tokens, p50: keywords
// 1.44 -> 1.02 us; PII anchors 1.98 vs 2.01 us, task-type probes 1.58 vs 1.69 us, 4-gram slots the same).
//
// The level is fixed at start: the CPU's best, capped by TANDEM_FORCE_SCALAR (any value: portable loops) or
// TANDEM_SIMD=avx2|scalar in the environment; SetSimdCap() changes the cap (tests and benchmarks). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::route_simd {

enum class Level { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

Level CpuLevel();         // the widest this CPU runs
Level ActiveLevel();      // min(CpuLevel(), cap)
Level SimdCap();          // the cap: from the environment at start, or the last SetSimdCap()
void SetSimdCap(Level);   // for tests and benchmarks
const char* LevelName(Level);

// PII anchor candidates (pii_windows.cpp): bits, one per byte of t[0, n), OR-ed into 64-bit words: `digits`,
// and `triggers` for the other anchor starts ('@', ':', '=', '-', '_', "KI", "Iz", "arer"). Returns how many
// leading bytes it covered (whole blocks that can read 3 bytes ahead); the caller scans the rest.
size_t PiiCandidates(const uint8_t* t, size_t n, uint64_t* digits, uint64_t* triggers);

// Rule keywords (keyword_set.cpp): bit k is set when keyword k (keywords[k], lens[k] bytes, lower-case,
// non-empty; k < count <= kMaxKeywords) occurs in t[0, n) in any ASCII case. Only when ActiveLevel() is not
// kScalar (the caller checks: there is no partial result to finish).
inline constexpr size_t kMaxKeywords = 16;
uint32_t KeywordsFound(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count);

// Learned-router 4-grams (learned_router.cpp): out[k] = ((le32(b + k) ^ 0x27D4EB4F) * 0x9E3779B1) >> shift for
// the first k < count it returns; b must have 16 readable bytes from every such k.
size_t FourGramSlots(const uint8_t* b, size_t count, uint32_t shift, uint32_t* out);

// Task needles (task_type.cpp): for the first k < count it returns, whether filter bit
// ((le24(b + k) * 0x9E3779B1) >> 16) is set, as bits of `hits` (64 a word, OR-ed in); b must have 16 readable
// bytes from every such k.
size_t FilterProbes(const uint8_t* b, size_t count, const uint64_t* filter, uint64_t* hits);

}  // namespace tandem::route_simd
