// CSV (RFC 4180): quoted fields with embedded commas, newlines and doubled quotes; CRLF or LF rows.
// ParseCsv reports a malformed file (an unterminated quote) with the line it started on. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tandem::eval {

using CsvRow = std::vector<std::string>;
Result<std::vector<CsvRow>> ParseCsv(std::string_view text);

}  // namespace tandem::eval
