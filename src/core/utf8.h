// UTF-8 well-formedness: the one checker that everything Tandem emits as text goes through (JSON strings, the
// engine's streamed tokens, the JSON-constrained decoder's notion of a plain token).
//
// Well-formed means Unicode's table of well-formed byte sequences (The Unicode Standard, ch. 3, table 3-7): no
// overlong forms, no UTF-16 surrogates, nothing above U+10FFFF. An ill-formed stretch is replaced the way the
// Unicode Standard recommends and WHATWG's decoder and Python's errors="replace" do it: one U+FFFD for each
// maximal subpart (the longest start of a well-formed sequence found there, or else a single byte), so a
// truncated emoji becomes one U+FFFD and a Latin-1 byte another. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tandem {

// One step through s at i (< s.size()): the length (1-4) of the well-formed sequence that starts there, with
// *valid true; or, with *valid false, the length (1-3) of the maximal subpart that one U+FFFD replaces.
size_t Utf8Step(std::string_view s, size_t i, bool* valid);

// True if s is well-formed UTF-8 throughout.
bool IsValidUtf8(std::string_view s);

// Appends s to out with every maximal subpart of an ill-formed sequence replaced by U+FFFD.
void AppendValidUtf8(std::string* out, std::string_view s);
std::string ToValidUtf8(std::string_view s);

// Bytes at the end of s that begin a well-formed sequence without completing it (0-3): a streamer holds them
// back until the next bytes arrive, so a character split across two tokens is never replaced.
size_t Utf8IncompleteTail(std::string_view s);

}  // namespace tandem
