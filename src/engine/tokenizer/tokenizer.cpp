#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <queue>

#include "engine/tokenizer/unicode.h"

namespace tandem::engine {
namespace {

Status Bad(const GgufFile& f, const std::string& what) {
  return Status(Code::kInvalidArgument, f.name() + ": tokenizer: " + what);
}

const char* kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const GgufFile& f) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  auto model = f.GetString("tokenizer.ggml.model");
  if (!model.ok()) return model.status();
  if (*model == "gpt2") t->model_ = Model::kBpe;
  else if (*model == "llama") t->model_ = Model::kSpm;
  else return Bad(f, "tokenizer model '" + *model + "' is not supported (gpt2 and llama are)");

  const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
  if (!tokens || tokens->type != GgufType::kArray || tokens->elem_type != GgufType::kString || tokens->count == 0)
    return Bad(f, "tokenizer.ggml.tokens is missing or not an array of strings");
  const size_t n = tokens->strings.size();
  if (n > (1u << 24)) return Bad(f, "implausible vocabulary size");
  t->text_.reserve(n);
  for (auto s : tokens->strings) t->text_.emplace_back(s);
  t->kind_.assign(n, TokenKind::kNormal);
  if (const GgufValue* types = f.Find("tokenizer.ggml.token_type")) {
    if (types->type != GgufType::kArray || types->count != n || types->strings.size() != 0)
      return Bad(f, "tokenizer.ggml.token_type must be an integer array as long as the vocabulary");
    for (size_t i = 0; i < n; ++i) {
      const int k = static_cast<int>(types->NumberAt(i));
      t->kind_[i] = (k >= 1 && k <= 6) ? static_cast<TokenKind>(k) : TokenKind::kNormal;
    }
  }
  t->score_.assign(n, 0.f);
  if (const GgufValue* scores = f.Find("tokenizer.ggml.scores")) {
    if (scores->type != GgufType::kArray || scores->count != n || !scores->raw)
      return Bad(f, "tokenizer.ggml.scores must be a number array as long as the vocabulary");
    for (size_t i = 0; i < n; ++i) t->score_[i] = static_cast<float>(scores->NumberAt(i));
  }
  t->index_.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) t->index_.emplace(t->text_[i], static_cast<int32_t>(i));

  auto token_id = [&](const char* key, int32_t fallback) -> Result<int32_t> {
    auto v = f.GetInt(key, fallback);
    if (!v.ok()) return v.status();
    if (*v < -1 || *v >= static_cast<int64_t>(n)) return Bad(f, std::string(key) + " is out of range");
    return static_cast<int32_t>(*v);
  };
  const bool spm = t->model_ == Model::kSpm;
  auto bos = token_id("tokenizer.ggml.bos_token_id", spm ? 1 : -1);
  auto eos = token_id("tokenizer.ggml.eos_token_id", spm ? 2 : -1);
  auto unk = token_id("tokenizer.ggml.unknown_token_id", spm ? 0 : -1);
  auto eot = token_id("tokenizer.ggml.eot_token_id", -1);
  for (auto* r : {&bos, &eos, &unk, &eot})
    if (!r->ok()) return r->status();
  t->bos_ = *bos, t->eos_ = *eos, t->unk_ = *unk;
  auto add_bos = f.GetBool("tokenizer.ggml.add_bos_token", spm);
  auto add_eos = f.GetBool("tokenizer.ggml.add_eos_token", false);
  auto add_space = f.GetBool("tokenizer.ggml.add_space_prefix", spm);
  for (auto* r : {&add_bos, &add_eos, &add_space})
    if (!r->ok()) return r->status();
  t->add_bos_ = *add_bos && t->bos_ >= 0;
  t->add_eos_ = *add_eos && t->eos_ >= 0;
  t->add_space_prefix_ = *add_space;

  for (int32_t id : {t->eos_, *eot})
    if (id >= 0) t->eog_.push_back(id);
  // Texts that end a turn in some model family: as llama.cpp does, each such token ends generation and is a
  // control token even where the file says otherwise (Qwen2.5 ships "</s>" as a normal token), so that
  // "</s>" in a prompt parsed for special tokens is that one token.
  for (const char* s : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>",
                        "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>"}) {
    auto it = t->index_.find(s);
    if (it == t->index_.end()) continue;
    t->kind_[static_cast<size_t>(it->second)] = TokenKind::kControl;
    if (!t->IsEog(it->second)) t->eog_.push_back(it->second);
  }

  if (t->model_ == Model::kBpe) {
    auto pre = f.GetString("tokenizer.ggml.pre");
    const std::string pre_name = pre.ok() ? *pre : "default";
    if (!PreTokenizerFromName(pre_name, &t->pre_))
      return Bad(f, "pre-tokenizer '" + pre_name + "' is not supported (gpt2, smollm, llama3, qwen2 are)");
    t->ignore_merges_ = t->pre_ == PreTokenizer::kLlama3;
    const GgufValue* merges = f.Find("tokenizer.ggml.merges");
    if (!merges || merges->type != GgufType::kArray || merges->elem_type != GgufType::kString)
      return Bad(f, "tokenizer.ggml.merges is missing or not an array of strings");
    t->merges_.reserve(merges->strings.size() * 2);
    uint32_t rank = 0;
    for (auto m : merges->strings) {
      const size_t sp = m.find(' ', 1);
      if (sp == std::string_view::npos) return Bad(f, "merge without a space: '" + std::string(m) + "'");
      auto l = t->index_.find(std::string(m.substr(0, sp)));
      auto r = t->index_.find(std::string(m.substr(sp + 1)));
      std::string joined(m.substr(0, sp));
      joined += m.substr(sp + 1);
      auto j = t->index_.find(joined);
      if (l != t->index_.end() && r != t->index_.end() && j != t->index_.end()) {
        const uint64_t key = static_cast<uint64_t>(l->second) << 32 | static_cast<uint32_t>(r->second);
        t->merges_.emplace(key, static_cast<uint64_t>(rank) << 32 | static_cast<uint32_t>(j->second));
      }
      ++rank;
    }
    for (int b = 0; b < 256; ++b) {
      std::string s;
      AppendUtf8(ByteToCp(static_cast<uint8_t>(b)), &s);
      auto it = t->index_.find(s);
      t->byte_token_[b] = it == t->index_.end() ? -1 : it->second;
    }
  } else {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      auto it = t->index_.find(buf);
      t->byte_token_[b] = it == t->index_.end() ? t->unk_ : it->second;
    }
  }

  auto name = f.GetString("general.name");
  std::string lower = name.ok() ? *name : "";
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const bool phi3 = lower.find("phi-3") != std::string::npos || lower.find("phi3") != std::string::npos;
  for (size_t i = 0; i < n; ++i) {
    const TokenKind k = t->kind_[i];
    const std::string& text = t->text_[i];
    if ((k == TokenKind::kControl || k == TokenKind::kUserDefined || k == TokenKind::kUnknown) && !text.empty()) {
      const bool rstrip = phi3 && text != "<unk>" && text != "<s>" && text != "<|endoftext|>";
      t->specials_.push_back({text, static_cast<int32_t>(i), k == TokenKind::kUserDefined, rstrip});
    }
  }
  std::stable_sort(t->specials_.begin(), t->specials_.end(),
                   [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
  for (size_t k = 0; k < t->specials_.size(); ++k)
    t->special_by_first_[static_cast<unsigned char>(t->specials_[k].text[0])].push_back(static_cast<uint32_t>(k));
  return t;
}

bool Tokenizer::IsEog(int32_t id) const { return std::find(eog_.begin(), eog_.end(), id) != eog_.end(); }

std::optional<int32_t> Tokenizer::Find(std::string_view text) const {
  auto it = index_.find(std::string(text));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && add_bos_) out.push_back(bos_);
  // Split at special tokens: leftmost match, longest first.
  size_t start = 0, pos = 0;
  bool prev_special = true;
  auto flush = [&](size_t end) {
    if (end > start) {
      std::string_view frag = text.substr(start, end - start);
      if (model_ == Model::kSpm) {
        std::string s;
        if (add_space_prefix_ && prev_special) s = " ";
        s.append(frag);
        EncodeSpm(s, &out);
      } else {
        EncodeFragment(frag, &out);
      }
      prev_special = false;
    }
  };
  while (pos < text.size()) {
    const Special* hit = nullptr;
    for (uint32_t k : special_by_first_[static_cast<unsigned char>(text[pos])]) {
      const Special& sp = specials_[k];
      if (!parse_special && !sp.always) continue;
      if (text.compare(pos, sp.text.size(), sp.text) == 0) {
        hit = &sp;
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    flush(pos);
    out.push_back(hit->id);
    prev_special = true;
    pos += hit->text.size();
    if (hit->rstrip)
      while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    start = pos;
  }
  flush(text.size());
  if (add_special && add_eos_) out.push_back(eos_);
  return out;
}

void Tokenizer::EncodeFragment(std::string_view text, std::vector<int32_t>* out) const {
  const std::vector<uint32_t> cpts = DecodeUtf8(text);
  std::vector<std::pair<size_t, size_t>> words;
  PreTokenize(pre_, cpts, 0, cpts.size(), &words);
  std::string encoded, utf8;
  for (auto [b, e] : words) {
    utf8.clear();
    for (size_t i = b; i < e; ++i) AppendUtf8(cpts[i], &utf8);
    encoded.clear();
    for (unsigned char c : utf8) AppendUtf8(ByteToCp(c), &encoded);
    if (ignore_merges_) {
      auto it = index_.find(encoded);
      if (it != index_.end()) {
        out->push_back(it->second);
        continue;
      }
    }
    EncodeBpeWord(utf8, out);
  }
}

// Byte-level BPE over one word (raw bytes): start from one symbol per byte, repeatedly merge the adjacent pair
// of lowest rank (leftmost on ties).
void Tokenizer::EncodeBpeWord(const std::string& bytes, std::vector<int32_t>* out) const {
  struct Sym {
    int32_t id;
    int prev, next;
  };
  std::vector<Sym> sym;
  sym.reserve(bytes.size());
  for (unsigned char c : bytes) {
    const int32_t id = byte_token_[c];
    if (id < 0) continue;
    const int k = static_cast<int>(sym.size());
    sym.push_back({id, k - 1, k + 1});
  }
  if (sym.empty()) return;
  sym.back().next = -1;
  struct Cand {
    uint32_t rank;
    int left;
    int32_t lid, rid, merged;
    bool operator<(const Cand& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Cand> heap;
  auto consider = [&](int l) {
    if (l < 0) return;
    const int r = sym[static_cast<size_t>(l)].next;
    if (r < 0) return;
    const int32_t a = sym[static_cast<size_t>(l)].id, b = sym[static_cast<size_t>(r)].id;
    auto it = merges_.find(static_cast<uint64_t>(a) << 32 | static_cast<uint32_t>(b));
    if (it == merges_.end()) return;
    heap.push({static_cast<uint32_t>(it->second >> 32), l, a, b, static_cast<int32_t>(it->second & 0xffffffffu)});
  };
  for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) consider(i);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    Sym& l = sym[static_cast<size_t>(c.left)];
    if (l.id != c.lid || l.next < 0) continue;  // stale: left was merged or removed
    Sym& r = sym[static_cast<size_t>(l.next)];
    if (r.id != c.rid) continue;
    l.id = c.merged;
    r.id = -1;  // removed
    const int after = r.next;
    l.next = after;
    if (after >= 0) sym[static_cast<size_t>(after)].prev = c.left;
    consider(l.prev);
    consider(c.left);
  }
  for (int i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next) out->push_back(sym[static_cast<size_t>(i)].id);
}

// SentencePiece-style: spaces become U+2581, symbols are UTF-8 characters, and the pair whose merged text is
// the highest-scoring vocabulary entry merges first. Symbols left without a token fall back to byte tokens.
void Tokenizer::EncodeSpm(std::string_view raw, std::vector<int32_t>* out) const {
  std::string text;
  text.reserve(raw.size() + 16);
  for (char ch : raw) {
    if (ch == ' ') text += kSpmSpace;
    else text.push_back(ch);
  }
  struct Sym {
    size_t off, n;
    int prev, next;
  };
  std::vector<Sym> sym;
  for (size_t off = 0; off < text.size();) {
    const size_t len = std::min<size_t>(Utf8Len(static_cast<uint8_t>(text[off])), text.size() - off);
    const int k = static_cast<int>(sym.size());
    sym.push_back({off, len, k - 1, k + 1});
    off += len;
  }
  if (sym.empty()) return;
  sym.back().next = -1;
  struct Cand {
    float score;
    int left, right;
    size_t size;
    bool operator<(const Cand& o) const { return score != o.score ? score < o.score : left > o.left; }
  };
  std::priority_queue<Cand> heap;
  auto consider = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const Sym& a = sym[static_cast<size_t>(l)];
    const Sym& b = sym[static_cast<size_t>(r)];
    std::string s = text.substr(a.off, a.n + b.n);
    auto it = index_.find(s);
    if (it == index_.end()) return;
    heap.push({score_[static_cast<size_t>(it->second)], l, r, s.size()});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) consider(i - 1, i);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    Sym& l = sym[static_cast<size_t>(c.left)];
    Sym& r = sym[static_cast<size_t>(c.right)];
    if (l.n == 0 || r.n == 0 || l.n + r.n != c.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[static_cast<size_t>(r.next)].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }
  // Every merge produced a vocabulary entry, so a symbol is a token unless it is a single character the
  // vocabulary lacks: those fall back to byte tokens.
  for (int i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next) {
    const Sym& s = sym[static_cast<size_t>(i)];
    auto it = index_.find(text.substr(s.off, s.n));
    if (it != index_.end()) {
      out->push_back(it->second);
    } else {
      for (size_t k = 0; k < s.n; ++k) out->push_back(byte_token_[static_cast<unsigned char>(text[s.off + k])]);
    }
  }
}

std::string Tokenizer::Piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= n_vocab()) return {};
  const std::string& t = text_[static_cast<size_t>(id)];
  const TokenKind k = kind_[static_cast<size_t>(id)];
  if (k == TokenKind::kControl || k == TokenKind::kUnknown || k == TokenKind::kUnused)
    return render_special ? t : std::string();
  if (k == TokenKind::kUserDefined) return t;
  if (model_ == Model::kSpm) {
    if (k == TokenKind::kByte && t.size() == 6) return std::string(1, static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
    std::string s;
    for (size_t i = 0; i < t.size();) {
      if (t.compare(i, 3, kSpmSpace) == 0) {
        s.push_back(' ');
        i += 3;
      } else {
        s.push_back(t[i++]);
      }
    }
    return s;
  }
  std::string s;
  for (uint32_t cp : DecodeUtf8(t)) {
    const int b = CpToByte(cp);
    if (b >= 0) s.push_back(static_cast<char>(b));
    else AppendUtf8(cp, &s);
  }
  return s;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string s;
  for (int32_t id : ids) s += Piece(id, render_special);
  // Encode put a space before the text (SentencePiece's add_space_prefix); take it back off, as llama.cpp does.
  size_t first = 0;
  while (first < ids.size() && ids[first] == bos_) ++first;
  if (model_ == Model::kSpm && add_space_prefix_ && first < ids.size() && !s.empty() && s[0] == ' ' &&
      kind_[static_cast<size_t>(ids[first])] != TokenKind::kControl)
    s.erase(0, 1);
  return s;
}

}  // namespace tandem::engine
