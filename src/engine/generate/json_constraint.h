// JSON-constrained decoding: a TokenConstraint that only lets a model write JSON — any JSON object, or a value
// matching a JSON Schema — so `response_format` answers from a small model always parse. If the token budget
// ends first, Close() supplies the shortest valid ending (closing quotes and brackets, minimal values for the
// required properties still missing), so even a cut-off answer parses (finish_reason stays "length").
//
// The schema subset: type object (properties, required; properties are written in schema order, all of them
// unless `required` names a subset; no others), array (items, maxItems), string (enum), number, integer, boolean, null,
// enum and const of any literals, and untyped values (any JSON, nesting capped). Whitespace is limited to one
// optional space after ':' and ',', so a model cannot stall in whitespace. A character-level pushdown machine
// checks each candidate token's bytes; the vocabulary is walked as a byte trie so whole groups of tokens are
// rejected at their first byte, and inside free strings the tokens without quote, backslash or control bytes are
// admitted in bulk. One constraint per generation; not thread-safe. The trie (built from a Tokenizer) is
// immutable and shareable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/generate/generate.h"
#include "engine/tokenizer/tokenizer.h"

namespace tandem::engine {

struct SchemaNode;
struct JsonMachine;

// The vocabulary as a byte trie, plus per-token facts the constraint needs. Build once per tokenizer.
class TokenTrie {
 public:
  explicit TokenTrie(const Tokenizer& tok);
  struct Node {
    uint32_t first_child = 0, next_sibling = 0;  // 0 = none
    uint8_t byte = 0;
    std::vector<int32_t> tokens;  // tokens whose bytes end here
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int32_t>& plain_string_tokens() const { return plain_; }  // no '"', '\\' or bytes < 0x20
  uint32_t special_root() const { return special_root_; }  // sub-trie of the other (non-plain) tokens
  int32_t n_vocab() const { return n_vocab_; }

 private:
  uint32_t Insert(uint32_t root, const std::string& bytes, int32_t id);
  std::vector<Node> nodes_;
  std::vector<int32_t> plain_;
  uint32_t special_root_ = 0;
  int32_t n_vocab_ = 0;
};

class JsonConstraint final : public TokenConstraint {
 public:
  // schema_json: a JSON Schema (text), or empty for "any JSON object" (response_format json_object).
  static Result<std::unique_ptr<JsonConstraint>> Create(const Tokenizer& tok, std::shared_ptr<const TokenTrie> trie,
                                                        const std::string& schema_json);
  ~JsonConstraint() override;

  bool Allowed(std::vector<bool>* allowed) override;
  void Accept(int32_t id) override;
  bool Complete() const override;
  std::string Close() override;

 private:
  JsonConstraint() = default;
  const Tokenizer* tok_ = nullptr;
  std::shared_ptr<const TokenTrie> trie_;
  std::shared_ptr<const SchemaNode> schema_;
  std::unique_ptr<JsonMachine> machine_;
};

}  // namespace tandem::engine
