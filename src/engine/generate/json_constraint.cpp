#include "engine/generate/json_constraint.h"

#include "core/utf8.h"

#include <simdjson.h>

#include <algorithm>
#include <array>

namespace tandem::engine {

struct SchemaNode {
  enum Kind { kAny, kObject, kArray, kString, kNumber, kInteger, kLiterals } kind = kAny;
  // kObject: the properties to write, in order, and each key as a literal ("\"name\"").
  std::vector<std::pair<std::string, std::shared_ptr<SchemaNode>>> props;
  std::vector<std::vector<std::string>> key_literals;
  bool free_keys = false;                // an object without declared properties
  std::shared_ptr<SchemaNode> items;     // kArray; null = any
  uint32_t max_items = UINT32_MAX;       // kArray: maxItems
  std::vector<std::string> literals;     // kLiterals: the allowed JSON texts
  // A tagged union of two-property objects (anyOf/oneOf whose alternatives share their two keys and fix the
  // first with a const): props[0] lists the tags; the second property's schema is variants[tag written].
  std::vector<std::shared_ptr<SchemaNode>> variants;
};

namespace {

constexpr int kMaxDepth = 24;     // frames on the machine's stack
constexpr int kMaxAnyDepth = 6;   // nesting allowed inside untyped values
constexpr int kMaxNumberLen = 24;

const SchemaNode& AnyNode() {
  static const SchemaNode n;
  return n;
}
const SchemaNode& FreeObjectNode() {
  static const SchemaNode n = [] {
    SchemaNode o;
    o.kind = SchemaNode::kObject;
    o.free_keys = true;
    return o;
  }();
  return n;
}
const std::vector<std::string>& AnyLiterals() {
  static const std::vector<std::string> v = {"true", "false", "null"};
  return v;
}

Result<std::shared_ptr<SchemaNode>> ParseSchema(simdjson::dom::element e, int depth) {
  auto node = std::make_shared<SchemaNode>();
  if (depth > 32) return Status(Code::kInvalidArgument, "json_schema: nested too deeply");
  if (e.is_bool()) return node;  // true: anything
  if (!e.is_object()) return Status(Code::kInvalidArgument, "json_schema: a schema must be an object");
  simdjson::dom::element v;
  auto literal_list = [&](simdjson::dom::element arr) {
    node->kind = SchemaNode::kLiterals;
    for (auto x : arr.get_array()) node->literals.push_back(simdjson::minify(x));
  };
  if (!e["const"].get(v)) {
    node->kind = SchemaNode::kLiterals;
    node->literals.push_back(simdjson::minify(v));
    return node;
  }
  simdjson::dom::array alternatives;
  if (!e["anyOf"].get(alternatives) || !e["oneOf"].get(alternatives)) {
    // Only the tagged union of objects is supported: {"anyOf": [{"properties": {"<tag>": {"const": X},
    // "<value>": S_X}}, ...]} with the same two keys, in the same order, in every alternative.
    const Status unsupported(Code::kInvalidArgument,
                             "json_schema: anyOf/oneOf is supported only as a tagged union of objects whose first "
                             "property is a const");
    node->kind = SchemaNode::kObject;
    auto tags = std::make_shared<SchemaNode>();
    tags->kind = SchemaNode::kLiterals;
    std::string keys[2];
    for (auto alt : alternatives) {
      simdjson::dom::object props;
      if (alt["properties"].get(props) || props.size() != 2) return unsupported;
      int k = 0;
      for (auto [key, sub] : props) {
        if (!keys[k].empty() && keys[k] != key) return unsupported;
        keys[k] = std::string(key);
        if (k == 0) {
          simdjson::dom::element c;
          if (sub["const"].get(c)) return unsupported;
          tags->literals.push_back(simdjson::minify(c));
        } else {
          auto child = ParseSchema(sub, depth + 1);
          if (!child.ok()) return child.status();
          node->variants.push_back(*child);
        }
        ++k;
      }
    }
    if (tags->literals.empty() || tags->literals.size() > 64) return unsupported;
    for (int k = 0; k < 2; ++k) {
      std::string esc;
      for (char c : keys[k]) {
        if (c == '"' || c == '\\') esc.push_back('\\');
        esc.push_back(c);
      }
      node->props.emplace_back(keys[k], k == 0 ? tags : node->variants.front());
      node->key_literals.push_back({"\"" + esc + "\""});
    }
    return node;
  }
  if (!e["enum"].get(v) && v.is_array()) {
    literal_list(v);
    if (node->literals.empty() || node->literals.size() > 64)
      return Status(Code::kInvalidArgument, "json_schema: enum needs 1 to 64 values");
    return node;
  }
  std::string_view type;
  if (e["type"].get(type)) {
    simdjson::dom::array types;
    if (!e["type"].get(types)) {  // ["string", "null"]: take the first non-null type
      for (auto t : types) {
        std::string_view s;
        if (!t.get(s) && s != "null") {
          type = s;
          break;
        }
      }
    }
  }
  if (type.empty()) {
    if (!e["properties"].get(v)) type = "object";
    else if (!e["items"].get(v)) type = "array";
  }
  if (type == "object") {
    node->kind = SchemaNode::kObject;
    simdjson::dom::object props;
    if (e["properties"].get(props) || props.size() == 0) {
      node->free_keys = true;
      return node;
    }
    std::vector<std::string> required;
    simdjson::dom::array req;
    if (!e["required"].get(req))
      for (auto r : req) {
        std::string_view s;
        if (!r.get(s)) required.emplace_back(s);
      }
    for (auto [key, sub] : props) {
      if (!required.empty() && std::find(required.begin(), required.end(), key) == required.end()) continue;
      auto child = ParseSchema(sub, depth + 1);
      if (!child.ok()) return child.status();
      std::string quoted;
      {
        std::string_view k = key;
        std::string esc;
        for (char c : k) {
          if (c == '"' || c == '\\') esc.push_back('\\');
          esc.push_back(c);
        }
        quoted = "\"" + esc + "\"";
      }
      node->props.emplace_back(std::string(key), *child);
      node->key_literals.push_back({quoted});
    }
    return node;
  }
  if (type == "array") {
    node->kind = SchemaNode::kArray;
    int64_t max_items = 0;
    if (!e["maxItems"].get(max_items)) node->max_items = static_cast<uint32_t>(std::clamp<int64_t>(max_items, 0, UINT32_MAX));
    if (!e["items"].get(v)) {
      auto child = ParseSchema(v, depth + 1);
      if (!child.ok()) return child.status();
      node->items = *child;
    }
    return node;
  }
  if (type == "string") node->kind = SchemaNode::kString;
  else if (type == "number") node->kind = SchemaNode::kNumber;
  else if (type == "integer") node->kind = SchemaNode::kInteger;
  else if (type == "boolean") node->kind = SchemaNode::kLiterals, node->literals = {"true", "false"};
  else if (type == "null") node->kind = SchemaNode::kLiterals, node->literals = {"null"};
  else if (!type.empty())
    return Status(Code::kInvalidArgument, "json_schema: type '" + std::string(type) + "' is not supported");
  return node;  // no type: any value
}

}  // namespace

// The pushdown machine over bytes. Fixed-size so that copies during the trie walk never allocate.
struct JsonMachine {
  enum Kind : uint8_t { kValue, kObject, kArray, kString, kNumber, kLiteral };
  enum Stage : uint8_t { kOpen, kAfterKey, kAfterColon, kAfterValue, kNext };
  struct Frame {
    Kind kind;
    uint8_t stage;
    bool space_ok;
    uint8_t depth;
    const SchemaNode* schema;
    const std::vector<std::string>* cands;  // kLiteral
    uint32_t index;                          // object: properties written; literal: position; string: hex left
    uint64_t alive;                          // literal: live candidates; number: characters so far
  };
  std::array<Frame, kMaxDepth> f;
  int n = 0;

  JsonMachine& operator=(const JsonMachine& o) {
    n = o.n;
    for (int i = 0; i < n; ++i) f[static_cast<size_t>(i)] = o.f[static_cast<size_t>(i)];
    return *this;
  }
  JsonMachine() = default;
  JsonMachine(const JsonMachine& o) { *this = o; }

  Frame& top() { return f[static_cast<size_t>(n - 1)]; }
  bool Push(Frame fr) {
    if (n >= kMaxDepth) return false;
    f[static_cast<size_t>(n++)] = fr;
    return true;
  }
  static Frame Value(const SchemaNode* s, int depth) { return {kValue, 0, false, static_cast<uint8_t>(depth), s, nullptr, 0, 0}; }
  static Frame Literal(const std::vector<std::string>* c, int depth) {
    const uint64_t all = c->size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << c->size()) - 1;
    return {kLiteral, 0, false, static_cast<uint8_t>(depth), nullptr, c, 0, all};
  }

  bool Done() const { return n == 0; }
  // True when the machine could stop here: done, or a root-level number/literal that is complete.
  bool CanStop() const {
    if (n == 0) return true;
    if (n != 1) return false;
    const Frame& t = f[0];
    if (t.kind == kNumber) return NumberAccepting(t.stage);
    if (t.kind == kLiteral) return LiteralComplete(t);
    return false;
  }
  static bool NumberAccepting(uint8_t s) { return s == 2 || s == 3 || s == 5 || s == 8; }
  static bool LiteralComplete(const Frame& t) {
    for (size_t k = 0; k < t.cands->size() && k < 64; ++k)
      if ((t.alive >> k & 1) && (*t.cands)[k].size() == t.index) return true;
    return false;
  }

  bool Feed(uint8_t c) {
    while (true) {
      if (n == 0) return false;
      Frame& t = top();
      switch (t.kind) {
        case kValue: {
          if (c == ' ' && t.space_ok) {
            t.space_ok = false;
            return true;
          }
          const SchemaNode* s = t.schema;
          const int depth = t.depth;
          const bool any = s->kind == SchemaNode::kAny;
          const bool nest_ok = !any || depth < kMaxAnyDepth;
          if (c == '{' && (s->kind == SchemaNode::kObject || (any && nest_ok))) {
            t = {kObject, kOpen, false, static_cast<uint8_t>(depth), any ? &FreeObjectNode() : s, nullptr, 0, 0};
            return true;
          }
          if (c == '[' && (s->kind == SchemaNode::kArray || (any && nest_ok))) {
            t = {kArray, kOpen, false, static_cast<uint8_t>(depth), s, nullptr, 0, 0};
            return true;
          }
          if (c == '"' && (s->kind == SchemaNode::kString || any)) {
            t = {kString, 0, false, static_cast<uint8_t>(depth), s, nullptr, 0, 0};
            return true;
          }
          if ((c == '-' || (c >= '0' && c <= '9')) &&
              (s->kind == SchemaNode::kNumber || s->kind == SchemaNode::kInteger || any)) {
            t = {kNumber, 0, false, static_cast<uint8_t>(depth), s, nullptr, 0, 0};
            continue;  // the number frame takes this byte
          }
          if (s->kind == SchemaNode::kLiterals) {
            t = Literal(&s->literals, depth);
            continue;
          }
          if (any && (c == 't' || c == 'f' || c == 'n')) {
            t = Literal(&AnyLiterals(), depth);
            continue;
          }
          return false;
        }
        case kObject: {
          const SchemaNode* s = t.schema;
          const int depth = t.depth;
          if (c == ' ' && t.space_ok) {
            t.space_ok = false;
            return true;
          }
          t.space_ok = false;
          switch (t.stage) {
            case kOpen:
            case kNext:
              if (s->free_keys) {
                if (t.stage == kOpen && c == '}') return Pop();
                if (c != '"') return false;
                t.stage = kAfterKey;
                return Push({kString, 0, false, static_cast<uint8_t>(depth + 1), &AnyNode(), nullptr, 0, 0});
              }
              if (t.index >= s->props.size()) {
                if (t.stage == kOpen && c == '}') return Pop();
                return false;
              }
              t.stage = kAfterKey;
              if (!Push(Literal(&s->key_literals[t.index], depth + 1))) return false;
              continue;
            case kAfterKey:
              if (c != ':') return false;
              t.stage = kAfterColon;
              t.space_ok = true;
              return true;
            case kAfterColon: {
              const SchemaNode* child = s->free_keys ? &AnyNode() : s->props[t.index].second.get();
              if (!s->variants.empty() && t.index == 1 && t.alive > 0) child = s->variants[t.alive - 1].get();
              ++t.index;
              t.stage = kAfterValue;
              if (!Push(Value(child, depth + 1))) return false;
              continue;
            }
            case kAfterValue:
              if (c == '}' && (s->free_keys || t.index >= s->props.size())) return Pop();
              if (c == ',' && (s->free_keys || t.index < s->props.size())) {
                t.stage = kNext;
                t.space_ok = true;
                return true;
              }
              return false;
          }
          return false;
        }
        case kArray: {
          const SchemaNode* item = t.schema->kind == SchemaNode::kArray && t.schema->items ? t.schema->items.get() : &AnyNode();
          const int depth = t.depth;
          if (c == ' ' && t.space_ok) {
            t.space_ok = false;
            return true;
          }
          t.space_ok = false;
          const uint32_t max_items = t.schema->kind == SchemaNode::kArray ? t.schema->max_items : UINT32_MAX;
          if (t.stage == kOpen || t.stage == kNext) {
            if (t.stage == kOpen && c == ']') return Pop();
            if (t.index >= max_items) return false;
            ++t.index;  // items begun
            t.stage = kAfterValue;
            if (!Push(Value(item, depth + 1))) return false;
            continue;
          }
          if (c == ']') return Pop();
          if (c == ',' && t.index < max_items) {
            t.stage = kNext;
            t.space_ok = true;
            return true;
          }
          return false;
        }
        case kString:
          if (t.stage == 0) {
            if (t.index > 0) {  // inside a multi-byte character: only its continuation bytes
              const uint8_t lo = static_cast<uint8_t>(t.alive >> 8), hi = static_cast<uint8_t>(t.alive);
              if (c < lo || c > hi) return false;
              --t.index;
              t.alive = 0x80BF;
              return true;
            }
            if (c == '"') return Pop();
            if (c == '\\') {
              t.stage = 1;
              return true;
            }
            if (c < 0x80) return c >= 0x20;
            // A UTF-8 lead byte, with the range its next byte must fall in (no overlongs, no surrogates).
            if (c >= 0xC2 && c <= 0xDF) t.index = 1, t.alive = 0x80BF;
            else if (c == 0xE0) t.index = 2, t.alive = 0xA0BF;
            else if (c == 0xED) t.index = 2, t.alive = 0x809F;
            else if (c >= 0xE1 && c <= 0xEF) t.index = 2, t.alive = 0x80BF;
            else if (c == 0xF0) t.index = 3, t.alive = 0x90BF;
            else if (c >= 0xF1 && c <= 0xF3) t.index = 3, t.alive = 0x80BF;
            else if (c == 0xF4) t.index = 3, t.alive = 0x808F;
            else return false;
            return true;
          }
          if (t.stage == 1) {  // after a backslash
            if (c == 'u') {
              t.stage = 2;
              t.index = 4;
              return true;
            }
            if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
              t.stage = 0;
              return true;
            }
            return false;
          }
          if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
          if (--t.index == 0) t.stage = 0;
          return true;
        case kNumber: {
          const bool integer = t.schema->kind == SchemaNode::kInteger;
          const bool digit = c >= '0' && c <= '9';
          int next = -1;
          switch (t.stage) {
            case 0: next = c == '-' ? 1 : c == '0' ? 2 : digit ? 3 : -1; break;
            case 1: next = c == '0' ? 2 : digit ? 3 : -1; break;
            case 2: next = (!integer && c == '.') ? 4 : (!integer && (c == 'e' || c == 'E')) ? 6 : -1; break;
            case 3: next = digit ? 3 : (!integer && c == '.') ? 4 : (!integer && (c == 'e' || c == 'E')) ? 6 : -1; break;
            case 4: next = digit ? 5 : -1; break;
            case 5: next = digit ? 5 : (c == 'e' || c == 'E') ? 6 : -1; break;
            case 6: next = (c == '+' || c == '-') ? 7 : digit ? 8 : -1; break;
            case 7: next = digit ? 8 : -1; break;
            case 8: next = digit ? 8 : -1; break;
          }
          // Digits per part are capped (15 integer or fraction digits, 2 exponent digits) so every number
          // written fits a double and an int64 — valid JSON that parsers reject helps nobody.
          if (next >= 0 && digit && next == t.stage) {
            const uint32_t cap = (t.stage == 8) ? 2 : 15;
            if (t.index >= cap) next = -1;
          }
          if (next >= 0 && t.alive < kMaxNumberLen) {
            t.index = (next == t.stage) ? t.index + 1 : (digit ? 1 : 0);
            t.stage = static_cast<uint8_t>(next);
            ++t.alive;
            return true;
          }
          if (!NumberAccepting(t.stage)) return false;
          --n;  // the number ends; its parent reads this byte
          continue;
        }
        case kLiteral: {
          uint64_t alive = 0;
          bool complete = false, longer = false;
          for (size_t k = 0; k < t.cands->size() && k < 64; ++k) {
            if (!(t.alive >> k & 1)) continue;
            const std::string& s = (*t.cands)[k];
            if (s.size() == t.index) complete = true;
            if (t.index < s.size() && static_cast<uint8_t>(s[t.index]) == c) alive |= uint64_t{1} << k;
          }
          if (alive) {
            t.alive = alive;
            ++t.index;
            for (size_t k = 0; k < t.cands->size() && k < 64; ++k)
              if ((alive >> k & 1) && (*t.cands)[k].size() > t.index) longer = true;
            if (!longer) {  // exactly one way to go on, and it is complete
              NoteTag(t);
              return Pop();
            }
            return true;
          }
          if (!complete) return false;
          NoteTag(t);
          --n;  // an ambiguous literal (1 vs 12) ended before this byte
          continue;
        }
      }
      return false;
    }
  }

  bool Pop() {
    --n;
    return true;
  }

  // A completed literal that is the tag of a tagged union: the parent object remembers which one (alive = k + 1).
  void NoteTag(const Frame& lit) {
    if (n < 2) return;
    Frame& parent = f[static_cast<size_t>(n - 2)];
    if (parent.kind != kObject || parent.schema->variants.empty() || parent.stage != kAfterValue || parent.index != 1)
      return;
    for (size_t k = 0; k < lit.cands->size() && k < 64; ++k) {
      if ((lit.alive >> k & 1) && (*lit.cands)[k].size() == lit.index) {
        parent.alive = k + 1;
        return;
      }
    }
  }

  // The shortest text that completes the document from this state (used when the token budget runs out, so
  // that even a cut-off answer parses).
  std::string Closing() const {
    std::string out;
    int closed_tag = -1;  // a union tag literal just completed here: the variant its parent must close with
    for (int i = n - 1; i >= 0; --i) {
      const Frame& t = f[static_cast<size_t>(i)];
      switch (t.kind) {
        case kValue: out += MinimalValue(*t.schema); break;
        case kString:
          if (t.stage == 0 && t.index > 0) {  // finish the character in progress
            out.push_back(static_cast<char>(t.alive >> 8));
            out.append(t.index - 1, static_cast<char>(0x80));
          }
          if (t.stage == 1) out += "n";
          if (t.stage == 2) out.append(t.index, '0');
          out += "\"";
          break;
        case kNumber:
          if (!NumberAccepting(t.stage)) out += "0";
          break;
        case kLiteral: {
          const std::string* best = nullptr;
          for (size_t k = 0; k < t.cands->size() && k < 64; ++k) {
            if ((t.alive >> k & 1) && (!best || (*t.cands)[k].size() < best->size())) {
              best = &(*t.cands)[k];
              closed_tag = static_cast<int>(k);
            }
          }
          if (best) out += best->substr(t.index);
          continue;  // keep closed_tag for the parent
        }
        case kArray:
          if (t.stage == kNext) out += MinimalValue(t.schema->items ? *t.schema->items : AnyNode());
          out += "]";
          break;
        case kObject: {
          const SchemaNode& s = *t.schema;
          size_t next = t.index;
          size_t variant = t.alive > 0 ? t.alive - 1 : 0;
          if (!s.variants.empty() && t.alive == 0 && t.stage == kAfterValue && t.index == 1 && closed_tag >= 0)
            variant = static_cast<size_t>(closed_tag);
          auto prop = [&](size_t k) -> const SchemaNode& {
            if (!s.variants.empty() && k == 1) return *s.variants[variant];
            return *s.props[k].second;
          };
          if (t.stage == kAfterKey || t.stage == kAfterColon) {
            if (t.stage == kAfterKey) out += ":";
            out += s.free_keys ? "null" : MinimalValue(prop(next));
            ++next;
          } else if (t.stage == kNext && s.free_keys) {
            out += "\"\":null";
          }
          if (!s.free_keys) {
            const bool need_comma = t.stage == kAfterValue || t.stage == kAfterKey || t.stage == kAfterColon;
            for (size_t k = next; k < s.props.size(); ++k) {
              if (need_comma || k > next) out += ",";
              out += s.key_literals[k][0] + ":" + MinimalValue(prop(k));
            }
          }
          out += "}";
          break;
        }
      }
      closed_tag = -1;
    }
    return out;
  }

  static std::string MinimalValue(const SchemaNode& s) {
    switch (s.kind) {
      case SchemaNode::kAny: return "null";
      case SchemaNode::kString: return "\"\"";
      case SchemaNode::kNumber:
      case SchemaNode::kInteger: return "0";
      case SchemaNode::kArray: return "[]";
      case SchemaNode::kLiterals: return s.literals.front();
      case SchemaNode::kObject: {
        std::string o = "{";
        for (size_t k = 0; k < s.props.size(); ++k)
          o += (k ? "," : "") + s.key_literals[k][0] + ":" + MinimalValue(*s.props[k].second);
        return o + "}";
      }
    }
    return "null";
  }
};

TokenTrie::TokenTrie(const Tokenizer& tok) : n_vocab_(tok.n_vocab()) {
  nodes_.emplace_back();  // 0: root of all tokens
  nodes_.emplace_back();  // 1: root of the tokens that are not plain string content
  special_root_ = 1;
  for (int32_t id = 0; id < n_vocab_; ++id) {
    const std::string bytes = tok.Piece(id);
    if (bytes.empty()) continue;
    Insert(0, bytes, id);
    // Plain: whole UTF-8 characters, none of them a quote, a backslash or a control character.
    bool plain = IsValidUtf8(bytes);
    for (unsigned char c : bytes)
      if (c == '"' || c == '\\' || c < 0x20) plain = false;
    if (plain) plain_.push_back(id);
    else Insert(special_root_, bytes, id);
  }
}

uint32_t TokenTrie::Insert(uint32_t root, const std::string& bytes, int32_t id) {
  uint32_t at = root;
  for (unsigned char c : bytes) {
    uint32_t child = nodes_[at].first_child;
    while (child && nodes_[child].byte != c) child = nodes_[child].next_sibling;
    if (!child) {
      child = static_cast<uint32_t>(nodes_.size());
      Node nd;
      nd.byte = c;
      nd.next_sibling = nodes_[at].first_child;
      nodes_.push_back(nd);
      nodes_[at].first_child = child;
    }
    at = child;
  }
  nodes_[at].tokens.push_back(id);
  return at;
}

Result<std::unique_ptr<JsonConstraint>> JsonConstraint::Create(const Tokenizer& tok,
                                                               std::shared_ptr<const TokenTrie> trie,
                                                               const std::string& schema_json) {
  std::unique_ptr<JsonConstraint> c(new JsonConstraint());
  c->tok_ = &tok;
  c->trie_ = std::move(trie);
  if (schema_json.empty()) {
    c->schema_ = std::shared_ptr<const SchemaNode>(std::shared_ptr<const SchemaNode>(), &FreeObjectNode());
  } else {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(schema_json).get(root)) return Status(Code::kInvalidArgument, "json_schema: not valid JSON");
    auto s = ParseSchema(root, 0);
    if (!s.ok()) return s.status();
    c->schema_ = *s;
  }
  c->machine_ = std::make_unique<JsonMachine>();
  c->machine_->Push(JsonMachine::Value(c->schema_.get(), 0));
  return c;
}

JsonConstraint::~JsonConstraint() = default;

namespace {

void Walk(const std::vector<TokenTrie::Node>& nodes, uint32_t at, const JsonMachine& m, std::vector<bool>* allowed) {
  for (uint32_t child = nodes[at].first_child; child; child = nodes[child].next_sibling) {
    JsonMachine next(m);
    if (!next.Feed(nodes[child].byte)) continue;
    for (int32_t id : nodes[child].tokens) (*allowed)[static_cast<size_t>(id)] = true;
    if (nodes[child].first_child) Walk(nodes, child, next, allowed);
  }
}

}  // namespace

bool JsonConstraint::Allowed(std::vector<bool>* allowed) {
  const JsonMachine& m = *machine_;
  if (m.Done()) return false;
  const auto& nodes = trie_->nodes();
  const JsonMachine::Frame& t = m.f[static_cast<size_t>(m.n - 1)];
  if (t.kind == JsonMachine::kString && t.stage == 0 && t.index == 0) {
    // Plain bytes keep a string open: admit those tokens wholesale, walk only the rest.
    for (int32_t id : trie_->plain_string_tokens()) (*allowed)[static_cast<size_t>(id)] = true;
    Walk(nodes, trie_->special_root(), m, allowed);
  } else {
    Walk(nodes, 0, m, allowed);
  }
  if (m.CanStop())  // a complete root-level scalar may end here
    for (int32_t id = 0; id < trie_->n_vocab(); ++id)
      if (tok_->IsEog(id)) (*allowed)[static_cast<size_t>(id)] = true;
  return true;
}

void JsonConstraint::Accept(int32_t id) {
  for (unsigned char c : tok_->Piece(id)) machine_->Feed(c);
}

bool JsonConstraint::Complete() const { return machine_->Done(); }

std::string JsonConstraint::Close() {
  std::string tail = machine_->Closing();
  machine_->n = 0;
  return tail;
}

}  // namespace tandem::engine
