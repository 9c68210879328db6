// Pre-tokenizers: split text (as code points) into the words byte-level BPE then encodes one by one.
//
// Each kind reproduces the regular expression its model family was trained with, the way llama.cpp applies it
// (hand-written matchers, not a regex engine):
//   kGpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kSmollm  every \p{N} first split off on its own, then kGpt2 on the rest
//   kLlama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|
//            \s+(?!\S)|\s+
//   kQwen2   as kLlama3 with \p{N} (single digits)
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::engine {

enum class PreTokenizer { kGpt2, kSmollm, kLlama3, kQwen2 };

// Maps GGUF's tokenizer.ggml.pre value; false if Tandem does not know it.
bool PreTokenizerFromName(std::string_view name, PreTokenizer* out);

// Appends [begin, end) code-point ranges of cpts[begin..end) to words.
void PreTokenize(PreTokenizer kind, const std::vector<uint32_t>& cpts, size_t begin, size_t end,
                 std::vector<std::pair<size_t, size_t>>* words);

}  // namespace tandem::engine
