// UTF-8 decoding and the Unicode properties the pre-tokenizers ask about. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::engine {

constexpr uint32_t kCpOutOfRange = 0xFFFFFFFF;

// kCpCodePoint is set for every code point, assigned or not (as llama.cpp flags unassigned ones too).
enum CpFlag : uint8_t { kCpLetter = 1, kCpNumber = 2, kCpWhitespace = 4, kCpCodePoint = 8 };

uint8_t CpFlags(uint32_t cp);  // 0 for kCpOutOfRange

// Decodes UTF-8 for the tokenizers, as llama.cpp's tokenizer does (so that the two split any input alike): a lead
// byte and the right number of continuation bytes make a code point, overlong and surrogate forms included; each
// other byte becomes U+FFFD and decoding resumes at the next byte. Text that leaves the engine is made
// well-formed by core/utf8.h instead, which is strict.
std::vector<uint32_t> DecodeUtf8(std::string_view s);
void AppendUtf8(uint32_t cp, std::string* out);
// Length of the UTF-8 sequence that starts with byte b (1 for invalid lead bytes).
inline int Utf8Len(uint8_t b) {
  static const int kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[b >> 4];
}

// GPT-2's reversible byte <-> printable code point mapping used by byte-level BPE vocabularies.
uint32_t ByteToCp(uint8_t b);
int CpToByte(uint32_t cp);  // -1 when cp is not the image of a byte

}  // namespace tandem::engine
