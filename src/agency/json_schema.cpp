#include "agency/json_schema.h"

#include <re2/re2.h>
#include <simdjson.h>

#include <cmath>

namespace tandem::agency {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

const char* TypeName(element e) {
  switch (e.type()) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
      return "an integer";
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

bool IsNumber(element e) {
  return e.type() == element_type::INT64 || e.type() == element_type::UINT64 || e.type() == element_type::DOUBLE;
}

double AsDouble(element e) {
  double d = 0;
  if (e.type() == element_type::INT64) return static_cast<double>(e.get_int64().value_unsafe());
  if (e.type() == element_type::UINT64) return static_cast<double>(e.get_uint64().value_unsafe());
  if (e.get(d)) d = 0;
  return d;
}

bool MatchesType(element v, std::string_view t) {
  if (t == "any") return true;
  if (t == "object" || t == "dict") return v.is_object();
  if (t == "array" || t == "tuple") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_bool();
  if (t == "null") return v.is_null();
  if (t == "number" || t == "float") return IsNumber(v);
  if (t == "integer") {
    if (v.type() == element_type::INT64 || v.type() == element_type::UINT64) return true;
    if (v.type() == element_type::DOUBLE) {
      double d = AsDouble(v);
      return std::floor(d) == d && std::isfinite(d);
    }
    return false;
  }
  return true;  // an unknown type name constrains nothing
}

bool Equal(element a, element b) { return simdjson::minify(a) == simdjson::minify(b); }

class Validator {
 public:
  explicit Validator(size_t limit) : limit_(limit) {}
  std::vector<std::string> errors;

  void Check(element schema, element v, const std::string& path) {
    if (errors.size() >= limit_) return;
    if (schema.is_bool()) {
      if (!schema.get_bool().value_unsafe()) Fail(path, "no value is allowed here");
      return;
    }
    if (!schema.is_object()) return;
    element t;
    if (!schema["type"].get(t)) {
      bool ok = false;
      std::string names;
      if (t.is_string()) {
        ok = MatchesType(v, t.get_string().value_unsafe());
        names = std::string(t.get_string().value_unsafe());
      } else if (t.is_array()) {
        simdjson::dom::array list1 = t.get_array().value_unsafe();
        for (element n : list1) {
          std::string_view s;
          if (n.get(s)) continue;
          ok = ok || MatchesType(v, s);
          names += (names.empty() ? "" : " or ") + std::string(s);
        }
      } else {
        ok = true;
      }
      if (!ok) {
        Fail(path, "expected " + Article(names) + ", got " + TypeName(v));
        return;  // the other keywords would only repeat the mismatch
      }
    }
    element e;
    if (!schema["enum"].get(e) && e.is_array()) {
      bool found = false;
      simdjson::dom::array list2 = e.get_array().value_unsafe();
      for (element option : list2) found = found || Equal(option, v);
      if (!found) Fail(path, "must be one of " + simdjson::minify(e) + ", got " + simdjson::minify(v));
    }
    if (!schema["const"].get(e) && !Equal(e, v)) Fail(path, "must be " + simdjson::minify(e));
    if (IsNumber(v)) CheckNumber(schema, AsDouble(v), path);
    if (v.is_string()) CheckString(schema, v.get_string().value_unsafe(), path);
    if (v.is_array()) CheckArray(schema, v, path);
    if (v.is_object()) CheckObject(schema, v, path);
    CheckCombinators(schema, v, path);
  }

 private:
  static std::string Article(const std::string& type) {
    if (type == "integer" || type == "object" || type == "array") return "an " + type;
    if (type == "null") return "null";
    return "a " + type;
  }
  void Fail(const std::string& path, const std::string& what) {
    if (errors.size() < limit_) errors.push_back(path + ": " + what);
  }
  void CheckNumber(element schema, double d, const std::string& path) {
    double bound;
    element b;
    if (!schema["minimum"].get(b) && IsNumber(b) && d < (bound = AsDouble(b)))
      Fail(path, "must be >= " + simdjson::minify(b));
    if (!schema["maximum"].get(b) && IsNumber(b) && d > (bound = AsDouble(b)))
      Fail(path, "must be <= " + simdjson::minify(b));
    if (!schema["exclusiveMinimum"].get(b) && IsNumber(b) && d <= AsDouble(b))
      Fail(path, "must be > " + simdjson::minify(b));
    if (!schema["exclusiveMaximum"].get(b) && IsNumber(b) && d >= AsDouble(b))
      Fail(path, "must be < " + simdjson::minify(b));
  }
  void CheckString(element schema, std::string_view s, const std::string& path) {
    int64_t n;
    // Length in characters (UTF-8 code points), as the specification counts.
    size_t chars = 0;
    for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
    if (!schema["minLength"].get(n) && static_cast<int64_t>(chars) < n)
      Fail(path, "must be at least " + std::to_string(n) + " characters long");
    if (!schema["maxLength"].get(n) && static_cast<int64_t>(chars) > n)
      Fail(path, "must be at most " + std::to_string(n) + " characters long");
    std::string_view pattern;
    if (!schema["pattern"].get(pattern)) {
      RE2 re(re2::StringPiece(pattern.data(), pattern.size()), RE2::Quiet);
      if (re.ok() && !RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), re))
        Fail(path, "must match the pattern " + std::string(pattern));
    }
  }
  void CheckArray(element schema, element v, const std::string& path) {
    simdjson::dom::array a = v.get_array().value_unsafe();
    int64_t n;
    if (!schema["minItems"].get(n) && static_cast<int64_t>(a.size()) < n)
      Fail(path, "must have at least " + std::to_string(n) + " items");
    if (!schema["maxItems"].get(n) && static_cast<int64_t>(a.size()) > n)
      Fail(path, "must have at most " + std::to_string(n) + " items");
    element items;
    if (!schema["items"].get(items)) {
      size_t i = 0;
      for (element item : a) Check(items, item, path + "[" + std::to_string(i++) + "]");
    }
  }
  void CheckObject(element schema, element v, const std::string& path) {
    simdjson::dom::object o = v.get_object().value_unsafe();
    simdjson::dom::array required;
    if (!schema["required"].get(required)) {
      for (element r : required) {
        std::string_view name;
        if (r.get(name)) continue;
        element ignored;
        if (o[name].get(ignored)) Fail(path, "missing required property '" + std::string(name) + "'");
      }
    }
    simdjson::dom::object props;
    const bool has_props = !schema["properties"].get(props);
    element additional;
    const bool has_additional = !schema["additionalProperties"].get(additional);
    for (auto field : o) {
      element sub;
      const std::string child = path + "." + std::string(field.key);
      if (has_props && !props[field.key].get(sub)) {
        Check(sub, field.value, child);
      } else if (has_additional) {
        if (additional.is_bool() && !additional.get_bool().value_unsafe()) {
          Fail(path, "unexpected property '" + std::string(field.key) + "'");
        } else if (additional.is_object()) {
          Check(additional, field.value, child);
        }
      }
    }
  }
  void CheckCombinators(element schema, element v, const std::string& path) {
    simdjson::dom::array list;
    if (!schema["allOf"].get(list)) {
      for (element s : list) Check(s, v, path);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (schema[key].get(list)) continue;
      int passing = 0;
      for (element s : list) {
        Validator sub(1);
        sub.Check(s, v, path);
        passing += sub.errors.empty();
      }
      if (passing == 0) Fail(path, std::string("matches none of the ") + key + " alternatives");
      if (std::string_view(key) == "oneOf" && passing > 1)
        Fail(path, "matches " + std::to_string(passing) + " of the oneOf alternatives (exactly one allowed)");
    }
  }
  size_t limit_;
};

}  // namespace

std::vector<std::string> ValidateJson(std::string_view schema_json, std::string_view instance_json, size_t limit) {
  simdjson::dom::parser schema_parser, value_parser;
  element schema, value;
  if (schema_parser.parse(schema_json.data(), schema_json.size()).get(schema))
    return {"the schema is not valid JSON"};
  if (value_parser.parse(instance_json.data(), instance_json.size()).get(value))
    return {"$: not valid JSON: " + std::string(instance_json.substr(0, 120))};
  Validator v(limit);
  v.Check(schema, value, "$");
  return v.errors;
}

Status CheckJson(std::string_view schema_json, std::string_view instance_json) {
  auto errors = ValidateJson(schema_json, instance_json);
  if (errors.empty()) return Status::Ok();
  std::string all;
  for (const auto& e : errors) all += (all.empty() ? "" : "; ") + e;
  return Status(Code::kInvalidArgument, all);
}

}  // namespace tandem::agency
