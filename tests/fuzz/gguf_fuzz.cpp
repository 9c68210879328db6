// libFuzzer target: arbitrary bytes as a GGUF file. Whatever the reader accepts is pushed further through the
// tokenizer and the model-config readers, and the tokenizer encodes and decodes a fixed text, so corrupted
// metadata is exercised too. Any crash, out-of-bounds read (ASan) or hang is a bug.
#include <cstddef>
#include <cstdint>

#include "engine/gguf/gguf_file.h"
#include "engine/model/config.h"
#include "engine/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = tandem::engine::GgufFile::Parse(data, size, "fuzz");
  if (!f.ok()) return 0;
  (void)tandem::engine::ModelConfig::FromGguf(**f);
  auto tok = tandem::engine::Tokenizer::FromGguf(**f);
  if (!tok.ok()) return 0;
  const auto ids = (*tok)->Encode("Hello <|im_start|> wörld 123 ", true, true);
  (void)(*tok)->Decode(ids, true);
  return 0;
}
