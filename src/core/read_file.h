// ReadFile: a whole file as a string, or kNotFound saying "<path>: cannot open <what>". Thread-safe.
#pragma once

#include <string>

#include "core/status.h"

namespace tandem {

Result<std::string> ReadFile(const std::string& path, const std::string& what = "");

}  // namespace tandem
