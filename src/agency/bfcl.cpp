#include "agency/bfcl.h"

#include <simdjson.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/json_writer.h"

namespace tandem::agency {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string Sanitize(std::string_view name) {
  std::string s(name);
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  return s;
}

// BFCL's string standardization: lower case, without spaces and ,./-_*^, single quotes as double.
std::string Standardize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::strchr(" ,./-_*^", c) && c != '\0') continue;
    out.push_back(c == '\'' ? '"' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool IsNumber(element e) {
  auto t = e.type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}
double Num(element e) {
  if (e.type() == element_type::INT64) return static_cast<double>(e.get_int64().value_unsafe());
  if (e.type() == element_type::UINT64) return static_cast<double>(e.get_uint64().value_unsafe());
  return e.get_double().value_unsafe();
}
bool IsEmptyString(element e) { return e.is_string() && e.get_string().value_unsafe().empty(); }

bool Match(element model, element allowed, std::string_view type);

// A dict parameter: each key of the allowed dict lists its allowed values.
bool MatchDict(element model, element allowed) {
  if (!model.is_object()) return false;
  simdjson::dom::object m = model.get_object().value_unsafe(), a = allowed.get_object().value_unsafe();
  for (auto field : m) {
    element ignored;
    if (a[field.key].get(ignored)) return false;  // a key the answer does not know
  }
  for (auto field : a) {
    element value;
    const bool present = !m[field.key].get(value);
    if (!field.value.is_array()) {
      if (!present || !Match(value, field.value, "")) return false;
      continue;
    }
    bool ok = false;
    simdjson::dom::array options = field.value.get_array().value_unsafe();
    for (element option : options) {
      if (!present) ok = ok || IsEmptyString(option);
      else if (!IsEmptyString(option) || (value.is_string() && value.get_string().value_unsafe().empty()))
        ok = ok || Match(value, option, "");
    }
    if (!ok) return false;
  }
  return true;
}

bool Match(element model, element allowed, std::string_view type) {
  if (allowed.is_string()) {
    return model.is_string() &&
           Standardize(model.get_string().value_unsafe()) == Standardize(allowed.get_string().value_unsafe());
  }
  if (IsNumber(allowed)) {
    if (!IsNumber(model)) return false;
    if (type == "integer" && model.type() == element_type::DOUBLE) return false;
    return std::fabs(Num(model) - Num(allowed)) <= 1e-9 * std::max(1.0, std::fabs(Num(allowed)));
  }
  if (allowed.is_bool()) return model.is_bool() && model.get_bool().value_unsafe() == allowed.get_bool().value_unsafe();
  if (allowed.is_null()) return model.is_null();
  if (allowed.is_array()) {
    if (!model.is_array()) return false;
    simdjson::dom::array m = model.get_array().value_unsafe(), a = allowed.get_array().value_unsafe();
    if (m.size() != a.size()) return false;
    auto mi = m.begin();
    for (element x : a) {
      if (!Match(*mi, x, "")) return false;
      ++mi;
    }
    return true;
  }
  if (allowed.is_object()) return MatchDict(model, allowed);
  return false;
}

struct Function {
  std::string name;
  std::map<std::string, std::string> types;  // param -> BFCL type
  std::vector<std::string> required;
};

std::vector<Function> ReadFunctions(const std::string& json) {
  std::vector<Function> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) || !doc.is_array()) return out;
  simdjson::dom::array fns = doc.get_array().value_unsafe();
  for (element f : fns) {
    Function fn;
    std::string_view s;
    if (!f["name"].get(s)) fn.name = std::string(s);
    simdjson::dom::object props;
    if (!f["parameters"]["properties"].get(props)) {
      for (auto p : props) {
        std::string_view t;
        fn.types[std::string(p.key)] = p.value["type"].get(t) ? "any" : std::string(t);
      }
    }
    simdjson::dom::array req;
    if (!f["parameters"]["required"].get(req)) {
      for (element r : req)
        if (!r.get(s)) fn.required.emplace_back(s);
    }
    out.push_back(std::move(fn));
  }
  return out;
}

// One model call against one ground-truth entry {name: {param: [allowed...]}}; "" when it matches.
std::string CheckOne(const std::vector<Function>& fns, const ModelCall& call, element truth) {
  simdjson::dom::object t = truth.get_object().value_unsafe();
  auto entry = *t.begin();
  const std::string want(entry.key);
  std::string got = call.name;
  for (const auto& f : fns)
    if (Sanitize(f.name) == call.name) got = f.name;
  if (got != want) return "called " + call.name + " instead of " + want;
  const Function* fn = nullptr;
  for (const auto& f : fns)
    if (f.name == want) fn = &f;
  simdjson::dom::parser parser;
  element args;
  if (parser.parse(call.arguments).get(args) || !args.is_object()) return "arguments of " + want + " are not a JSON object";
  simdjson::dom::object a = args.get_object().value_unsafe();
  simdjson::dom::object allowed = entry.value.get_object().value_unsafe();
  for (auto p : a) {
    element ignored;
    if ((fn && !fn->types.count(std::string(p.key))) || allowed[p.key].get(ignored))
      return "unexpected parameter '" + std::string(p.key) + "' for " + want;
  }
  if (fn) {
    for (const auto& r : fn->required) {
      element ignored;
      if (a[r].get(ignored)) return "missing required parameter '" + r + "' for " + want;
    }
  }
  for (auto p : allowed) {
    element value;
    const bool present = !a[p.key].get(value);
    simdjson::dom::array options;
    if (p.value.get(options)) continue;
    bool optional = false, ok = false;
    const std::string type = fn && fn->types.count(std::string(p.key)) ? fn->types.at(std::string(p.key)) : "any";
    for (element option : options) {
      if (IsEmptyString(option)) {
        optional = true;
        if (present && value.is_string() && value.get_string().value_unsafe().empty()) ok = true;
        continue;
      }
      if (present && Match(value, option, type)) ok = true;
    }
    if (!present && !optional) return "missing parameter '" + std::string(p.key) + "' for " + want;
    if (present && !ok)
      return "wrong value for '" + std::string(p.key) + "' of " + want + ": " + simdjson::minify(value);
  }
  return "";
}

// Rewrites a BFCL parameter schema as JSON Schema (recursing only where schemas nest).
void WriteSchema(JsonWriter& w, element s) {
  if (!s.is_object()) {
    w.raw(simdjson::minify(s));
    return;
  }
  w.begin_object();
  simdjson::dom::object o = s.get_object().value_unsafe();
  for (auto f : o) {
    if (f.key == "type" && f.value.is_string()) {
      std::string_view t = f.value.get_string().value_unsafe();
      if (t == "any") continue;
      w.kv("type", t == "dict" ? "object" : t == "float" ? "number" : t == "tuple" ? "array" : t);
    } else if (f.key == "properties" && f.value.is_object()) {
      w.key("properties").begin_object();
      simdjson::dom::object props = f.value.get_object().value_unsafe();
      for (auto p : props) {
        w.key(p.key);
        WriteSchema(w, p.value);
      }
      w.end_object();
    } else if ((f.key == "items" || f.key == "additionalProperties") && f.value.is_object()) {
      w.key(f.key);
      WriteSchema(w, f.value);
    } else if (f.key == "optional" || f.key == "default") {
      continue;  // not JSON Schema keywords that constrain anything; keep the tools lean
    } else {
      w.key(f.key).raw(simdjson::minify(f.value));
    }
  }
  w.end_object();
}

}  // namespace

Result<std::vector<BfclCase>> LoadBfcl(const std::string& dir, const std::vector<std::string>& categories) {
  std::vector<BfclCase> out;
  for (const auto& cat : categories) {
    const std::string file = dir + "/BFCL_v4_" + cat + ".json";
    std::ifstream in(file);
    if (!in) return Status(Code::kNotFound, file + ": cannot open");
    std::map<std::string, std::string> truth;
    if (cat != "irrelevance") {
      const std::string afile = dir + "/possible_answer/BFCL_v4_" + cat + ".json";
      std::ifstream ain(afile);
      if (!ain) return Status(Code::kNotFound, afile + ": cannot open");
      simdjson::dom::parser parser;
      std::string line;
      int n = 0;
      while (std::getline(ain, line)) {
        ++n;
        if (line.empty()) continue;
        element doc;
        std::string_view id;
        element gt;
        if (parser.parse(line).get(doc) || doc["id"].get(id) || doc["ground_truth"].get(gt))
          return Status(Code::kInvalidArgument, afile + ":" + std::to_string(n) + ": expected {\"id\", \"ground_truth\"}");
        truth[std::string(id)] = simdjson::minify(gt);
      }
    }
    simdjson::dom::parser parser;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      element doc;
      BfclCase c;
      c.category = cat;
      std::string_view id;
      simdjson::dom::array question, functions;
      if (parser.parse(line).get(doc) || doc["id"].get(id) || doc["question"].get(question) ||
          doc["function"].get(functions) || question.size() == 0)
        return Status(Code::kInvalidArgument, file + ":" + std::to_string(n) + ": expected {\"id\", \"question\", \"function\"}");
      c.id = std::string(id);
      simdjson::dom::array turn;
      if (question.at(0).get(turn)) return Status(Code::kInvalidArgument, file + ":" + std::to_string(n) + ": bad question");
      for (element m : turn) {
        std::string_view role, content;
        if (!m["role"].get(role) && !m["content"].get(content)) c.messages.push_back({std::string(role), std::string(content)});
      }
      c.functions = simdjson::minify(functions);
      if (cat != "irrelevance") {
        auto it = truth.find(c.id);
        if (it == truth.end()) return Status(Code::kInvalidArgument, file + ": no ground truth for " + c.id);
        c.ground_truth = it->second;
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::string BfclTools(const BfclCase& c) {
  simdjson::dom::parser parser;
  element doc;
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  if (!parser.parse(c.functions).get(doc) && doc.is_array()) {
    simdjson::dom::array fns = doc.get_array().value_unsafe();
    for (element f : fns) {
      std::string_view name, description;
      if (f["name"].get(name)) continue;
      if (f["description"].get(description)) description = "";
      w.begin_object().kv("type", "function").key("function").begin_object();
      w.kv("name", Sanitize(name)).kv("description", description).key("parameters");
      element params;
      if (!f["parameters"].get(params)) WriteSchema(w, params);
      else w.raw(R"({"type":"object","properties":{}})");
      w.end_object().end_object();
    }
  }
  w.end_array();
  return out;
}

CheckResult CheckCalls(const BfclCase& c, const std::vector<ModelCall>& calls) {
  if (c.ground_truth.empty()) {  // irrelevance: the right answer is no call
    if (calls.empty()) return {true, ""};
    return {false, "called " + calls.front().name + " although no function fits"};
  }
  simdjson::dom::parser parser;
  element truth;
  if (parser.parse(c.ground_truth).get(truth) || !truth.is_array()) return {false, "unreadable ground truth"};
  simdjson::dom::array expected = truth.get_array().value_unsafe();
  if (calls.size() != expected.size())
    return {false, "expected " + std::to_string(expected.size()) + " call(s), got " + std::to_string(calls.size())};
  const auto fns = ReadFunctions(c.functions);
  std::vector<bool> used(calls.size(), false);
  for (element t : expected) {
    std::string first_why;
    bool found = false;
    for (size_t i = 0; i < calls.size() && !found; ++i) {
      if (used[i]) continue;
      std::string why = CheckOne(fns, calls[i], t);
      if (why.empty()) {
        used[i] = found = true;
      } else if (first_why.empty()) {
        first_why = why;
      }
    }
    if (!found) return {false, first_why};
  }
  return {true, ""};
}

}  // namespace tandem::agency
