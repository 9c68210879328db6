// The calculator and clock tools.
#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <ctime>

#include "agency/builtin_tools.h"
#include "agency/text_cursor.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

// Recursive descent over: expr = term (('+'|'-') term)*; term = unary (('*'|'/'|'%') unary)*;
// unary = '-' unary | power; power = atom ('^' unary)?; atom = number | name | name '(' args ')' | '(' expr ')'.
class Parser : public TextCursor {
 public:
  explicit Parser(std::string_view s) : TextCursor(s) {}

  Result<double> Run() {
    double v = Expr();
    Skip();
    if (error_.empty() && i_ != s_.size()) Error("unexpected '" + std::string(1, s_[i_]) + "'");
    if (!error_.empty()) return Status(Code::kInvalidArgument, error_);
    if (!std::isfinite(v)) return Status(Code::kInvalidArgument, "the result is not a finite number");
    return v;
  }

 private:
  void Error(const std::string& what) {
    if (error_.empty()) error_ = what + " at position " + std::to_string(i_ + 1);
  }
  double Expr() {
    if (++depth_ > 200) {
      Error("expression nested too deeply");
      return 0;
    }
    double v = Term();
    while (error_.empty()) {
      if (Eat('+')) v += Term();
      else if (Eat('-')) v -= Term();
      else break;
    }
    --depth_;
    return v;
  }
  double Term() {
    double v = Unary();
    while (error_.empty()) {
      if (Eat('*')) {
        v *= Unary();
      } else if (Eat('/')) {
        double d = Unary();
        if (d == 0) Error("division by zero");
        v = d == 0 ? 0 : v / d;
      } else if (Eat('%')) {
        double d = Unary();
        if (d == 0) Error("modulo by zero");
        v = d == 0 ? 0 : std::fmod(v, d);
      } else {
        break;
      }
    }
    return v;
  }
  double Unary() {
    if (Eat('-')) return -Unary();
    if (Eat('+')) return Unary();
    return Power();
  }
  double Power() {
    double base = Atom();
    if (Eat('^')) return std::pow(base, Unary());
    return base;
  }
  double Atom() {
    Skip();
    if (i_ >= s_.size()) {
      Error("unexpected end of expression");
      return 0;
    }
    if (Eat('(')) {
      double v = Expr();
      if (!Eat(')')) Error("expected ')'");
      return v;
    }
    const char c = s_[i_];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const std::string rest(s_.substr(i_, 64));
      char* end = nullptr;
      double v = std::strtod(rest.c_str(), &end);
      if (end == rest.c_str()) {
        Error("bad number");
        return 0;
      }
      i_ += static_cast<size_t>(end - rest.c_str());
      return v;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t start = i_;
      while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
      std::string name(s_.substr(start, i_ - start));
      if (name == "pi") return M_PI;
      if (name == "e") return M_E;
      if (!Eat('(')) {
        Error("unknown name '" + name + "'");
        return 0;
      }
      std::vector<double> args;
      if (!Eat(')')) {
        do {
          args.push_back(Expr());
        } while (error_.empty() && Eat(','));
        if (!Eat(')')) Error("expected ')' after the arguments of " + name);
      }
      return Call(name, args);
    }
    Error("unexpected '" + std::string(1, c) + "'");
    return 0;
  }
  double Call(const std::string& f, const std::vector<double>& a) {
    auto need = [&](size_t n) {
      if (a.size() != n) Error(f + " takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s"));
      return a.size() == n;
    };
    if (f == "min" || f == "max") {
      if (a.empty()) {
        Error(f + " needs at least one argument");
        return 0;
      }
      double v = a[0];
      for (double x : a) v = f == "min" ? std::min(v, x) : std::max(v, x);
      return v;
    }
    if (f == "pow") return need(2) ? std::pow(a[0], a[1]) : 0;
    if (!need(1)) return 0;
    const double x = a[0];
    if (f == "sqrt") {
      if (x < 0) Error("sqrt of a negative number");
      return x < 0 ? 0 : std::sqrt(x);
    }
    if (f == "abs") return std::fabs(x);
    if (f == "exp") return std::exp(x);
    if (f == "ln" || f == "log" || f == "log10" || f == "log2") {
      if (x <= 0) Error(f + " of a non-positive number");
      if (x <= 0) return 0;
      return f == "ln" || f == "log" ? std::log(x) : f == "log10" ? std::log10(x) : std::log2(x);
    }
    if (f == "sin") return std::sin(x);
    if (f == "cos") return std::cos(x);
    if (f == "tan") return std::tan(x);
    if (f == "floor") return std::floor(x);
    if (f == "ceil") return std::ceil(x);
    if (f == "round") return std::round(x);
    Error("unknown function '" + f + "'");
    return 0;
  }

  int depth_ = 0;
  std::string error_;
};

std::string_view StringArg(std::string_view args, const char* key, std::string& storage) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view v;
  if (parser.parse(args.data(), args.size()).get(doc) || doc[key].get(v)) return {};
  storage.assign(v);
  return storage;
}

class Calculator final : public Tool {
 public:
  const ToolSpec& spec() const override { return spec_; }
  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds) override {
    std::string storage;
    std::string_view expr = StringArg(args, "expression", storage);
    auto v = EvaluateExpression(expr);
    if (!v.ok()) return ToolResult{"cannot evaluate '" + std::string(expr) + "': " + v.status().message(), true};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", *v);
    return ToolResult{buf, false};
  }

 private:
  ToolSpec spec_{"calculator",
                 "Evaluate an arithmetic expression exactly, e.g. '(17.5 * 4) / 3 + sqrt(2)'. Supports + - * / % ^, "
                 "parentheses, sqrt, abs, exp, ln, log10, log2, sin, cos, tan, floor, ceil, round, min, max, pow, "
                 "pi, e.",
                 R"({"type":"object","properties":{"expression":{"type":"string","description":"The expression"}},)"
                 R"("required":["expression"],"additionalProperties":false})"};
};

class ClockTool final : public Tool {
 public:
  explicit ClockTool(const Clock& clock) : clock_(clock) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds) override {
    int64_t offset = 0;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (!parser.parse(args.data(), args.size()).get(doc) && doc["utc_offset_minutes"].get(offset)) offset = 0;
    const int64_t unix_s = clock_.wall_us() / 1000000;
    std::time_t t = static_cast<std::time_t>(unix_s + offset * 60);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char iso[64];
    std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, offset < 0 ? '-' : '+',
                  static_cast<int>(std::llabs(offset) / 60), static_cast<int>(std::llabs(offset) % 60));
    static const char* kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
    std::string out;
    JsonWriter w(out);
    w.begin_object().kv("iso8601", iso).kv("unix_seconds", unix_s).kv("weekday", kDays[tm.tm_wday]).end_object();
    return ToolResult{out, false};
  }

 private:
  const Clock& clock_;
  ToolSpec spec_{"clock", "The current date and time (ISO 8601), optionally at a UTC offset in minutes.",
                 R"({"type":"object","properties":{"utc_offset_minutes":{"type":"integer","minimum":-840,)"
                 R"("maximum":840}},"additionalProperties":false})"};
};

}  // namespace

Result<double> EvaluateExpression(std::string_view expression) {
  if (expression.size() > 4096) return Status(Code::kInvalidArgument, "expression longer than 4096 characters");
  return Parser(expression).Run();
}

std::shared_ptr<Tool> MakeCalculatorTool() { return std::make_shared<Calculator>(); }
std::shared_ptr<Tool> MakeClockTool(const Clock& clock) { return std::make_shared<ClockTool>(clock); }

}  // namespace tandem::agency
