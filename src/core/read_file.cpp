#include "core/read_file.h"

#include <fstream>
#include <sstream>

namespace tandem {

Result<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, path + ": cannot open" + (what.empty() ? "" : " " + what));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tandem
