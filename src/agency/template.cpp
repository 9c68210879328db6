#include "agency/template.h"

#include <simdjson.h>

#include <cctype>
#include <cstdlib>

#include "agency/text_cursor.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

using simdjson::dom::element;

bool IsIdent(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

// Splits "a.b[2].c" into {"a", "b", "2", "c"}; "" on a malformed path.
bool Segments(std::string_view path, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '[') {
      size_t j = path.find(']', i);
      if (j == std::string_view::npos || j == i + 1) return false;
      out.emplace_back(path.substr(i + 1, j - i - 1));
      for (char c : out.back())
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      i = j + 1;
      if (i < path.size() && path[i] == '.') ++i;
      continue;
    }
    size_t j = i;
    while (j < path.size() && IsIdent(path[j])) ++j;
    if (j == i) return false;
    out.emplace_back(path.substr(i, j - i));
    i = j;
    if (i < path.size() && path[i] == '.') {
      ++i;
      if (i == path.size()) return false;
    } else if (i < path.size() && path[i] != '[') {
      return false;
    }
  }
  return !out.empty();
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// The expression evaluator. With `collect`, paths are recorded (and read as null) instead of looked up.
class Expr : public TextCursor {
 public:
  Expr(std::string_view text, const Scope* scope, std::vector<std::string>* collect)
      : TextCursor(text), scope_(scope), collect_(collect) {}

  Result<std::string> Run() {
    auto v = Or();
    if (!v.ok()) return v;
    Skip();
    if (i_ != s_.size()) return Error("unexpected '" + std::string(s_.substr(i_)) + "'");
    return v;
  }

 private:
  Status Error(const std::string& what) const {
    return Status(Code::kInvalidArgument, "in condition '" + std::string(s_) + "': " + what);
  }
  bool Word(std::string_view w) {
    Skip();
    if (s_.substr(i_, w.size()) != w) return false;
    const size_t end = i_ + w.size();
    if (end < s_.size() && IsIdent(s_[end])) return false;
    i_ = end;
    return true;
  }
  Result<std::string> Or() {
    auto l = And();
    while (l.ok() && Word("or")) {
      auto r = And();
      if (!r.ok()) return r;
      l = std::string(Truthy(l.value()) || Truthy(r.value()) ? "true" : "false");
    }
    return l;
  }
  Result<std::string> And() {
    auto l = Not();
    while (l.ok() && Word("and")) {
      auto r = Not();
      if (!r.ok()) return r;
      l = std::string(Truthy(l.value()) && Truthy(r.value()) ? "true" : "false");
    }
    return l;
  }
  Result<std::string> Not() {
    if (Word("not")) {
      auto v = Not();
      if (!v.ok()) return v;
      return std::string(Truthy(v.value()) ? "false" : "true");
    }
    return Cmp();
  }
  Result<std::string> Cmp() {
    auto l = Operand();
    if (!l.ok()) return l;
    static const char* kOps[] = {"==", "!=", "<=", ">=", "<", ">"};
    std::string op;
    for (const char* o : kOps)
      if (Eat(std::string_view(o))) {
        op = o;
        break;
      }
    if (op.empty()) {
      if (Word("in")) op = "in";
      else if (Word("contains")) op = "contains";
      else return l;
    }
    auto r = Operand();
    if (!r.ok()) return r;
    if (collect_) return std::string("null");
    return Compare(l.value(), op, r.value());
  }

  Result<std::string> Operand() {
    Skip();
    if (i_ >= s_.size()) return Error("expected a value at the end");
    const char c = s_[i_];
    if (c == '(') {
      ++i_;
      auto v = Or();
      if (!v.ok()) return v;
      if (!Eat(std::string_view(")"))) return Error("missing ')'");
      return v;
    }
    if (c == '\'' || c == '"') {
      const size_t end = s_.find(c, i_ + 1);
      if (end == std::string_view::npos) return Error("unterminated string");
      std::string v = JsonString(s_.substr(i_ + 1, end - i_ - 1));
      i_ = end + 1;
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      size_t j = i_ + 1;
      while (j < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[j])) || s_[j] == '.' || s_[j] == 'e')) ++j;
      std::string num(s_.substr(i_, j - i_));
      char* endp = nullptr;
      std::strtod(num.c_str(), &endp);
      if (!endp || *endp) return Error("bad number '" + num + "'");
      i_ = j;
      return num;
    }
    for (const char* lit : {"true", "false", "null"})
      if (Word(lit)) return std::string(lit);
    size_t j = i_;
    while (j < s_.size() && (IsIdent(s_[j]) || s_[j] == '.' || s_[j] == '[' || s_[j] == ']')) ++j;
    if (j == i_) return Error(std::string("unexpected '") + c + "'");
    std::string path(s_.substr(i_, j - i_));
    i_ = j;
    std::vector<std::string> segs;
    if (!Segments(path, segs)) return Error("bad path '" + path + "'");
    if (collect_) {
      collect_->push_back(path);
      return std::string("null");
    }
    return scope_->Lookup(path);
  }

  Result<std::string> Compare(const std::string& a, const std::string& op, const std::string& b) {
    simdjson::dom::parser pa, pb;
    element ea, eb;
    if (pa.parse(a).get(ea) || pb.parse(b).get(eb)) return Error("unreadable value");
    auto result = [](bool v) { return std::string(v ? "true" : "false"); };
    if (op == "in" || op == "contains") {
      element hay = op == "in" ? eb : ea, needle = op == "in" ? ea : eb;
      if (hay.is_string()) {
        std::string_view h = hay.get_string().value_unsafe();
        if (!needle.is_string()) return result(false);
        return result(h.find(needle.get_string().value_unsafe()) != std::string_view::npos);
      }
      if (hay.is_array()) {
        const std::string n = simdjson::minify(needle);
        simdjson::dom::array items;
        if (hay.get_array().get(items)) return result(false);
        for (element x : items)
          if (simdjson::minify(x) == n) return result(true);
        return result(false);
      }
      if (hay.is_object() && needle.is_string()) {
        element unused;
        return result(!hay.at_key(needle.get_string().value_unsafe()).get(unused));
      }
      return Error("'" + op + "' needs a list, a text or an object");
    }
    int cmp = 0;
    if (ea.is_number() && eb.is_number()) {
      const double x = ea.get_double().value_unsafe(), y = eb.get_double().value_unsafe();
      cmp = x < y ? -1 : x > y ? 1 : 0;
    } else if (ea.is_string() && eb.is_string()) {
      cmp = ea.get_string().value_unsafe().compare(eb.get_string().value_unsafe());
      cmp = cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
    } else if (op == "==" || op == "!=") {
      cmp = simdjson::minify(ea) == simdjson::minify(eb) ? 0 : 1;
    } else {
      return Error("cannot order " + a + " and " + b);
    }
    if (op == "==") return result(cmp == 0);
    if (op == "!=") return result(cmp != 0);
    if (op == "<") return result(cmp < 0);
    if (op == "<=") return result(cmp <= 0);
    if (op == ">") return result(cmp > 0);
    return result(cmp >= 0);
  }

  const Scope* scope_;
  std::vector<std::string>* collect_;
};

// One `{{ path }}` or `{{ path | default(<literal>) }}`: the fallback (JSON) stands in for a missing or null value.
struct Placeholder {
  std::string path;
  bool has_default = false;
  std::string fallback;
};

Result<Placeholder> ParsePlaceholder(std::string_view inner) {
  Placeholder p;
  const size_t bar = inner.find('|');
  p.path = Trim(inner.substr(0, bar));
  std::vector<std::string> segs;
  if (!Segments(p.path, segs)) return Status(Code::kInvalidArgument, "bad path '{{ " + p.path + " }}'");
  if (bar == std::string_view::npos) return p;
  const std::string filter = Trim(inner.substr(bar + 1));
  if (filter.rfind("default(", 0) != 0 || filter.back() != ')')
    return Status(Code::kInvalidArgument, "unknown filter '" + filter + "' (default(<value>) is the one filter)");
  const std::string arg = Trim(std::string_view(filter).substr(8, filter.size() - 9));
  p.has_default = true;
  if (arg.size() >= 2 && (arg[0] == '\'' || arg[0] == '"') && arg.back() == arg[0]) {
    p.fallback = JsonString(std::string_view(arg).substr(1, arg.size() - 2));
    return p;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(arg).get(e) || e.is_object() || e.is_array())
    return Status(Code::kInvalidArgument, "default(" + arg + "): expected a quoted text, a number, true, false or null");
  p.fallback = arg;
  return p;
}

// Calls f(placeholder, begin, end) for each {{ ... }}; a status for an unclosed or malformed one.
template <class F>
Status ForEachPlaceholder(std::string_view t, F&& f) {
  size_t i = 0;
  while ((i = t.find("{{", i)) != std::string_view::npos) {
    const size_t end = t.find("}}", i + 2);
    if (end == std::string_view::npos)
      return Status(Code::kInvalidArgument, "unclosed '{{' in '" + std::string(t.substr(i, 40)) + "'");
    auto p = ParsePlaceholder(t.substr(i + 2, end - i - 2));
    if (!p.ok()) return p.status();
    Status st = f(p.value(), i, end + 2);
    if (!st.ok()) return st;
    i = end + 2;
  }
  return Status::Ok();
}

// The JSON a placeholder stands for.
Result<std::string> Resolve(const Placeholder& p, const Scope& scope) {
  auto v = scope.Lookup(p.path);
  if (p.has_default && ((!v.ok() && v.status().code() == Code::kNotFound) || (v.ok() && v.value() == "null")))
    return p.fallback;
  return v;
}

}  // namespace

std::string RootOf(std::string_view path) {
  std::vector<std::string> segs;
  if (!Segments(path, segs)) return "";
  if (segs[0] == "steps" && segs.size() > 1) return "steps." + segs[1];
  return segs[0];
}

Result<std::string> Scope::Lookup(std::string_view path) const {
  std::vector<std::string> segs;
  if (!Segments(path, segs)) return Status(Code::kInvalidArgument, "bad path '" + std::string(path) + "'");
  size_t first = 1;
  std::string root = segs[0];
  if (root == "steps" && segs.size() > 1) {
    root += "." + segs[1];
    first = 2;
  }
  auto it = roots_.find(root);
  if (it == roots_.end()) {
    if (root.rfind("steps.", 0) == 0)
      return Status(Code::kNotFound, "'" + std::string(path) + "': step '" + segs[1] + "' has not run");
    return Status(Code::kNotFound, "'" + std::string(path) + "': nothing is called '" + root + "' here");
  }
  if (first == segs.size()) return it->second;
  simdjson::dom::parser parser;
  element e;
  if (parser.parse(it->second).get(e)) return Status(Code::kInternal, "'" + root + "' holds unreadable JSON");
  for (size_t i = first; i < segs.size(); ++i) {
    element next;
    bool found = false;
    if (e.is_object()) {
      found = !e.at_key(segs[i]).get(next);
    } else if (e.is_array() && std::isdigit(static_cast<unsigned char>(segs[i][0]))) {
      found = !e.at(std::strtoull(segs[i].c_str(), nullptr, 10)).get(next);
    }
    if (!found) {
      std::string where = root;
      for (size_t k = first; k < i; ++k) where += "." + segs[k];
      return Status(Code::kNotFound, "'" + std::string(path) + "': " + where + " has no '" + segs[i] + "'");
    }
    e = next;
  }
  return simdjson::minify(e);
}

bool Truthy(std::string_view json) {
  simdjson::dom::parser parser;
  element e;
  if (parser.parse(json).get(e)) return false;
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return false;
    case simdjson::dom::element_type::BOOL:
      return e.get_bool().value_unsafe();
    case simdjson::dom::element_type::STRING:
      return !e.get_string().value_unsafe().empty();
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array a;
      return !e.get_array().get(a) && a.size() > 0;
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object o;
      return !e.get_object().get(o) && o.size() > 0;
    }
    default:
      return e.get_double().value_unsafe() != 0;
  }
}

Result<std::string> Render(std::string_view tmpl, const Scope& scope) {
  std::string out;
  size_t copied = 0;
  Status st = ForEachPlaceholder(tmpl, [&](const Placeholder& p, size_t b, size_t e) -> Status {
    out.append(tmpl.substr(copied, b - copied));
    copied = e;
    auto v = Resolve(p, scope);
    if (!v.ok()) return v.status();
    simdjson::dom::parser parser;
    element el;
    if (!parser.parse(v.value()).get(el) && el.is_string()) out.append(el.get_string().value_unsafe());
    else out.append(v.value());
    return Status::Ok();
  });
  if (!st.ok()) return st;
  out.append(tmpl.substr(copied));
  return out;
}

Result<std::string> Value(std::string_view tmpl, const Scope& scope) {
  const std::string t = Trim(tmpl);
  if (t.size() > 4 && t.rfind("{{", 0) == 0 && t.find("{{", 2) == std::string::npos &&
      t.compare(t.size() - 2, 2, "}}") == 0) {
    auto p = ParsePlaceholder(std::string_view(t).substr(2, t.size() - 4));
    if (!p.ok()) return p.status();
    return Resolve(p.value(), scope);
  }
  auto text = Render(tmpl, scope);
  if (!text.ok()) return text;
  return JsonString(text.value());
}

Result<bool> Condition(std::string_view expr, const Scope& scope) {
  auto v = Expr(expr, &scope, nullptr).Run();
  if (!v.ok()) return v.status();
  return Truthy(v.value());
}

Result<std::vector<std::string>> Paths(std::string_view text, bool is_expression) {
  std::vector<std::string> paths;
  if (is_expression) {
    auto v = Expr(text, nullptr, &paths).Run();
    if (!v.ok()) return v.status();
    return paths;
  }
  Status st = ForEachPlaceholder(text, [&](const Placeholder& p, size_t, size_t) {
    paths.push_back(p.path);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return paths;
}

}  // namespace tandem::agency
