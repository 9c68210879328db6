// Tokenizer built from a GGUF file's tokenizer.* metadata: byte-level BPE ("gpt2" model, with the pre-tokenizer
// named by tokenizer.ggml.pre) or SentencePiece-style ("llama" model: score-driven merges over UTF-8 symbols with
// <0xXX> byte fallback, as used by Gemma and Llama 2).
//
// Encode mirrors llama.cpp's llama_tokenize: special tokens are matched first (control tokens only when
// parse_special is set, user-defined ones always), the text between them is pre-tokenized and merged. As in
// llama.cpp, a model named Phi-3 (general.name) drops the whitespace after its control tokens (its HF tokenizer's
// rstrip), except after <s>, <unk> and <|endoftext|>. A
// Tokenizer is immutable after construction and safe to use from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/pretokenizer.h"

namespace tandem::engine {

enum class TokenKind : uint8_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

class Tokenizer {
 public:
  enum class Model { kBpe, kSpm };

  static Result<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& file);

  // add_special: prepend BOS (and append EOS) when the model's metadata asks for it.
  // parse_special: control-token text such as "<|im_start|>" becomes that token (for rendered chat prompts).
  std::vector<int32_t> Encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes a token stands for. Control tokens render as "" unless render_special is set. A token may be
  // part of a multi-byte UTF-8 character; concatenating pieces always gives valid text back.
  std::string Piece(int32_t id, bool render_special = false) const;
  std::string Decode(const std::vector<int32_t>& ids, bool render_special = false) const;

  int32_t n_vocab() const { return static_cast<int32_t>(text_.size()); }
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  bool add_bos() const { return add_bos_; }
  bool IsEog(int32_t id) const;
  TokenKind Kind(int32_t id) const { return kind_[static_cast<size_t>(id)]; }
  const std::string& Text(int32_t id) const { return text_[static_cast<size_t>(id)]; }
  std::optional<int32_t> Find(std::string_view text) const;
  Model model() const { return model_; }

 private:
  Tokenizer() = default;
  void EncodeFragment(std::string_view text, std::vector<int32_t>* out) const;
  void EncodeBpeWord(const std::string& encoded, std::vector<int32_t>* out) const;
  void EncodeSpm(std::string_view text, std::vector<int32_t>* out) const;

  Model model_ = Model::kBpe;
  PreTokenizer pre_ = PreTokenizer::kGpt2;
  bool ignore_merges_ = false;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
  int32_t bos_ = -1, eos_ = -1, unk_ = -1;
  std::vector<std::string> text_;
  std::vector<TokenKind> kind_;
  std::vector<float> score_;
  std::unordered_map<std::string, int32_t> index_;
  // BPE: (left id << 32 | right id) -> (rank << 32 | merged id)
  std::unordered_map<uint64_t, uint64_t> merges_;
  int32_t byte_token_[256];
  std::vector<int32_t> eog_;
  // Special tokens matched before pre-tokenization, longest first; `always` ones are matched without parse_special.
  struct Special {
    std::string text;
    int32_t id;
    bool always;
    bool rstrip;  // whitespace right after it is dropped
  };
  std::vector<Special> specials_;
  std::vector<uint32_t> special_by_first_[256];  // indices into specials_, by first byte, longest first
};

}  // namespace tandem::engine
