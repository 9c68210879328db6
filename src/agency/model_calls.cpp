#include "agency/model_calls.h"

#include <simdjson.h>

#include <cmath>
#include <cstring>

#include "agency/text_cursor.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

using simdjson::dom::element;

// --- the text fallback -------------------------------------------------------------------------------------

// Python-literal values as JSON: numbers, '...'/"..." strings, True/False/None, [..], (..), {..}.
class PyParser : public TextCursor {
 public:
  explicit PyParser(std::string_view s) : TextCursor(s) {}
  bool Calls(std::vector<ModelCall>* out) {
    Skip();
    bool bracket = Eat('[');
    do {
      ModelCall c;
      if (!Name(&c.name)) return false;
      if (!Eat('(')) return false;
      std::string args;
      JsonWriter w(args);
      w.begin_object();
      if (!Eat(')')) {
        do {
          std::string key;
          if (!Name(&key) || !Eat('=')) return false;
          w.key(key);
          if (!Value(w)) return false;
        } while (Eat(','));
        if (!Eat(')')) return false;
      }
      w.end_object();
      c.arguments = args;
      out->push_back(std::move(c));
    } while (Eat(','));
    if (bracket && !Eat(']')) return false;
    Skip();
    return i_ == s_.size();
  }

 private:
  bool Name(std::string* out) {
    Skip();
    size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '.')) ++i_;
    *out = std::string(s_.substr(start, i_ - start));
    return !out->empty() && !std::isdigit(static_cast<unsigned char>((*out)[0]));
  }
  bool Value(JsonWriter& w) {
    Skip();
    if (i_ >= s_.size() || ++depth_ > 64) return false;
    const char c = s_[i_];
    bool ok = true;
    if (c == '\'' || c == '"') {
      std::string v;
      ++i_;
      while (i_ < s_.size() && s_[i_] != c) {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
        v.push_back(s_[i_++]);
      }
      if (i_ >= s_.size()) return false;
      ++i_;
      w.value(v);
    } else if (c == '[' || c == '(') {
      const char close = c == '[' ? ']' : ')';
      ++i_;
      w.begin_array();
      if (!Eat(close)) {
        do {
          if (!Value(w)) return false;
        } while (Eat(','));
        ok = Eat(close);
      }
      w.end_array();
    } else if (c == '{') {
      ++i_;
      w.begin_object();
      if (!Eat('}')) {
        do {
          Skip();
          std::string key;
          if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"')) {
            const char q = s_[i_++];
            while (i_ < s_.size() && s_[i_] != q) key.push_back(s_[i_++]);
            if (i_ >= s_.size()) return false;
            ++i_;
          } else if (!Name(&key)) {
            return false;
          }
          if (!Eat(':')) return false;
          w.key(key);
          if (!Value(w)) return false;
        } while (Eat(','));
        ok = Eat('}');
      }
      w.end_object();
    } else if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      w.value(true);
    } else if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      w.value(false);
    } else if (s_.substr(i_, 4) == "None") {
      i_ += 4;
      w.null();
    } else {
      size_t start = i_;
      while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || std::strchr("+-.eE", s_[i_]))) ++i_;
      if (i_ == start) return false;
      std::string num(s_.substr(start, i_ - start));
      char* end = nullptr;
      double d = std::strtod(num.c_str(), &end);
      if (end != num.c_str() + num.size()) return false;
      if (num.find_first_of(".eE") == std::string::npos) w.value(static_cast<int64_t>(std::llround(d)));
      else w.value(d);
    }
    --depth_;
    return ok;
  }
  int depth_ = 0;
};

bool JsonCall(element e, std::vector<ModelCall>* out) {
  if (!e.is_object()) return false;
  element tc;
  if (!e["tool_calls"].get(tc) && tc.is_array()) {
    simdjson::dom::array list = tc.get_array().value_unsafe();
    for (element x : list)
      if (!JsonCall(x, out)) return false;
    return true;
  }
  element fn;
  if (!e["function"].get(fn) && fn.is_object()) return JsonCall(fn, out);
  std::string_view name;
  if (e["name"].get(name)) return false;
  element args;
  ModelCall c;
  c.name = std::string(name);
  if (!e["arguments"].get(args) || !e["parameters"].get(args)) {
    std::string_view s;
    c.arguments = args.is_string() && !args.get(s) ? std::string(s) : simdjson::minify(args);
  } else {
    c.arguments = "{}";
  }
  out->push_back(std::move(c));
  return true;
}

}  // namespace

std::vector<ModelCall> ParseTextCalls(std::string_view text, bool* ok) {
  std::vector<ModelCall> out;
  *ok = false;
  std::string t(text);
  // Inside a ```json ... ``` fence, if there is one.
  if (size_t f = t.find("```"); f != std::string::npos) {
    size_t start = t.find('\n', f);
    size_t end = start == std::string::npos ? std::string::npos : t.find("```", start);
    if (end != std::string::npos) t = t.substr(start + 1, end - start - 1);
  }
  size_t b = t.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return out;
  t = t.substr(b);
  simdjson::dom::parser parser;
  element doc;
  if (!parser.parse(t).get(doc)) {
    if (doc.is_array()) {
      simdjson::dom::array list = doc.get_array().value_unsafe();
      for (element e : list) {
        if (!JsonCall(e, &out)) {
          out.clear();
          return out;
        }
      }
      *ok = true;
    } else {
      *ok = JsonCall(doc, &out);
    }
    if (!*ok) out.clear();
    return out;
  }
  PyParser py(t);
  *ok = py.Calls(&out);
  if (!*ok) out.clear();
  return out;
}


std::vector<ModelCall> ResponseCalls(std::string_view body, std::string* text, bool* malformed) {
  std::vector<ModelCall> calls;
  *malformed = false;
  text->clear();
  simdjson::dom::parser parser;
  element doc, message;
  if (parser.parse(body.data(), body.size()).get(doc) || doc["choices"].at(0)["message"].get(message)) {
    *malformed = true;
    return calls;
  }
  std::string_view content;
  if (!message["content"].get(content)) *text = std::string(content);
  simdjson::dom::array tcs;
  if (!message["tool_calls"].get(tcs) && tcs.size() > 0) {
    for (element tc : tcs) {
      std::string_view name, args;
      if (tc["function"]["name"].get(name) || tc["function"]["arguments"].get(args)) {
        *malformed = true;
        continue;
      }
      simdjson::dom::parser arg_parser;
      element parsed;
      if (arg_parser.parse(args.data(), args.size()).get(parsed) || !parsed.is_object()) *malformed = true;
      calls.push_back({std::string(name), std::string(args)});
    }
    return calls;
  }
  if (text->empty()) return calls;
  bool ok = false;
  calls = ParseTextCalls(*text, &ok);
  if (ok) text->clear();
  return calls;
}

}  // namespace tandem::agency
