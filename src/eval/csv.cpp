#include "eval/csv.h"

namespace tandem::eval {

Result<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1, quote_line = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    switch (c) {
      case '"':
        quoted = true;
        quote_line = line;
        field_started = true;
        break;
      case ',':
        row.push_back(std::move(field));
        field.clear();
        field_started = true;
        break;
      case '\r':
        break;
      case '\n':
        ++line;
        if (field_started || !field.empty() || !row.empty()) {
          row.push_back(std::move(field));
          rows.push_back(std::move(row));
        }
        field.clear();
        row.clear();
        field_started = false;
        break;
      default:
        field.push_back(c);
        field_started = true;
    }
  }
  if (quoted) {
    return Status(Code::kInvalidArgument,
                  "line " + std::to_string(quote_line) + ": unterminated quoted field");
  }
  if (field_started || !field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace tandem::eval
