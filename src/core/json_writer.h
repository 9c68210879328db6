// JsonWriter: a small, allocation-light JSON writer that appends to a std::string.
//
// The gateway builds every JSON it emits (error bodies, /v1/models, translated Anthropic answers, ledger
// exports) with this writer; reading is done with simdjson. The writer inserts commas itself, so callers
// just open, write keys and values, and close. It does not validate nesting beyond that. Not thread-safe;
// use one writer per output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// Appends `s` to `out` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, std::string_view s);
// `s` as a JSON string literal.
std::string JsonString(std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t n);
  JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
  JsonWriter& value(double d);
  JsonWriter& value(bool b);
  JsonWriter& null();
  // Writes already-serialized JSON as a value.
  JsonWriter& raw(std::string_view json);

  // Shorthands for key + value.
  template <class V>
  JsonWriter& kv(std::string_view k, const V& v) {
    key(k);
    return value(v);
  }

 private:
  void comma();
  std::string& out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

}  // namespace tandem
