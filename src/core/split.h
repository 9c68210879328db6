// SplitComma: the non-empty items of a comma-separated list ("a,,b" -> {"a", "b"}), for command-line and config
// lists (data files, signal names, tool specs); JoinComma, its inverse for messages ("a, b"). Pure; thread-safe.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace tandem {

inline std::vector<std::string> SplitComma(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

inline std::string JoinComma(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace tandem
