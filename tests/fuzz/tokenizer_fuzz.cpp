// libFuzzer target: arbitrary text through a byte-level BPE (smollm pre-tokenizer) and a SentencePiece
// tokenizer built in memory. Valid UTF-8 must decode back to itself; nothing may crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/utf8.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "../unit/gguf_builder.h"

namespace {

using tandem::engine::GgufFile;
using tandem::engine::Tokenizer;

struct Vocab {
  std::vector<uint8_t> bytes;
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<Tokenizer> tok;
};

Vocab Make(bool spm) {
  Vocab v;
  tandem::testing::GgufBuilder b;
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;
  if (spm) {
    for (const char* s : {"<pad>", "<eos>", "<bos>", "<unk>"}) tokens.push_back(s), types.push_back(3);
    for (int i = 0; i < 256; ++i) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", i);
      tokens.push_back(buf), types.push_back(6);
    }
    for (const char* s : {"\xE2\x96\x81", "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "e", "t", "h", "a", "an", "\xE2\x96\x81" "a"})
      tokens.push_back(s), types.push_back(1);
    scores.assign(tokens.size(), 0.f);
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);
    tokens.push_back("<start_of_turn>"), types.push_back(3), scores.push_back(0);
    b.Str("tokenizer.ggml.model", "llama").F32Array("tokenizer.ggml.scores", scores);
  } else {
    for (int i = 0; i < 256; ++i) {
      std::string s;
      tandem::engine::AppendUtf8(tandem::engine::ByteToCp(static_cast<uint8_t>(i)), &s);
      tokens.push_back(s), types.push_back(1);
    }
    const std::vector<std::string> merges = {"t h", "th e", "Ġ the", "Ġ a", "a n", "i n", "Ġ in"};
    for (const auto& m : merges) tokens.push_back(m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1)), types.push_back(1);
    tokens.push_back("<|im_start|>"), types.push_back(3);
    tokens.push_back("<tool>"), types.push_back(4);
    b.Str("tokenizer.ggml.model", "gpt2").Str("tokenizer.ggml.pre", "smollm").StrArray("tokenizer.ggml.merges", merges);
  }
  v.bytes = b.StrArray("tokenizer.ggml.tokens", tokens).I32Array("tokenizer.ggml.token_type", types).Build();
  v.file = std::move(*GgufFile::Parse(v.bytes.data(), v.bytes.size(), "vocab"));
  v.tok = std::move(*Tokenizer::FromGguf(*v.file));
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Vocab bpe = Make(false), spm = Make(true);
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool valid = tandem::IsValidUtf8(text);
  // SentencePiece writes spaces as U+2581, so a text that already holds U+2581 cannot come back unchanged; and
  // with add_space_prefix it puts a space after each special token (as llama.cpp does), so it is lossless only
  // when special tokens are not parsed.
  const bool has_spm_space = text.find("\xE2\x96\x81") != std::string::npos;
  for (Vocab* v : {&bpe, &spm}) {
    for (bool special : {false, true}) {
      const auto ids = v->tok->Encode(text, false, special);
      const std::string back = v->tok->Decode(ids, true);
      const bool lossless = valid && !(v == &spm && (has_spm_space || special));
      if (lossless && back != text) std::abort();
    }
  }
  return 0;
}
