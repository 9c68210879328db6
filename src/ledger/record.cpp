#include "ledger/record.h"

#include <simdjson.h>

#include "core/json_writer.h"

namespace tandem {

std::string SignalsJson(const std::map<std::string, double>& signals) {
  if (signals.empty()) return "";
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  for (const auto& [k, v] : signals) w.kv(k, v);
  w.end_object();
  return out;
}

std::map<std::string, double> ParseSignals(std::string_view json) {
  std::map<std::string, double> out;
  if (json.empty()) return out;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(obj)) return out;
  for (auto field : obj) {
    double v;
    if (!field.value.get(v)) out[std::string(field.key)] = v;
  }
  return out;
}

}  // namespace tandem
