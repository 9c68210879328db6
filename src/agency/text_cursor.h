// TextCursor: a position in a text, the base of the small hand-written parsers in agency/ (the calculator, calls
// a model wrote as text, workflow conditions): skip white space, take an expected character or symbol. The
// parser reads `s_` at `i_` directly for anything else. Not thread-safe (one parser, one text).
#pragma once

#include <cctype>
#include <cstddef>
#include <string_view>

namespace tandem::agency {

class TextCursor {
 protected:
  explicit TextCursor(std::string_view s) : s_(s) {}

  void Skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  // Skips white space, then takes `c` (or `symbol`) if it comes next.
  bool Eat(char c) {
    Skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Eat(std::string_view symbol) {
    Skip();
    if (s_.substr(i_, symbol.size()) != symbol) return false;
    i_ += symbol.size();
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace tandem::agency
