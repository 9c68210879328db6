// Engine subcommands: gguf-info, tokenize, generate (and chat, in chat_command.cpp). They load a GGUF file
// in-process; nothing here needs a config file or a server.
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "core/json_writer.h"
#include "engine/generate/generate.h"
#include "engine/kernels/vec_dot.h"
#include "engine/model/model.h"

namespace tandem {
namespace {

using engine::Model;

std::shared_ptr<Model> LoadOrDie(const std::string& path) {
  auto m = Model::Load(path);
  if (!m.ok()) {
    std::fprintf(stderr, "tandem: %s\n", m.status().message().c_str());
    return nullptr;
  }
  return *m;
}

std::string JsonIds(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s.push_back(',');
    s.append(std::to_string(ids[i]));
  }
  s.push_back(']');
  return s;
}

}  // namespace

int GgufInfoCommand(const std::string& path) {
  auto f = engine::GgufFile::Open(path);
  if (!f.ok()) {
    std::fprintf(stderr, "tandem: %s\n", f.status().message().c_str());
    return 1;
  }
  const engine::GgufFile& g = **f;
  std::printf("GGUF v%u, %zu keys, %zu tensors\n", g.version(), g.keys().size(), g.tensors().size());
  for (const std::string& k : g.keys()) {
    const engine::GgufValue* v = g.Find(k);
    std::printf("  %s: ", k.c_str());
    if (v->type == engine::GgufType::kString) {
      std::string s(v->str.substr(0, 80));
      for (char& c : s)
        if (c == '\n') c = ' ';
      std::printf("\"%s\"%s\n", s.c_str(), v->str.size() > 80 ? "..." : "");
    } else if (v->type == engine::GgufType::kArray) {
      std::printf("[%s x %llu]\n", engine::GgufTypeName(v->elem_type), static_cast<unsigned long long>(v->count));
    } else if (v->type == engine::GgufType::kF32 || v->type == engine::GgufType::kF64) {
      std::printf("%g\n", v->f);
    } else {
      std::printf("%lld\n", static_cast<long long>(v->i));
    }
  }
  std::map<std::string, int> types;
  for (const auto& t : g.tensors()) types[engine::TypeName(t.type)]++;
  std::printf("tensor types:");
  for (auto& [name, n] : types) std::printf(" %s x%d", name.c_str(), n);
  std::printf("\n");
  return 0;
}

int TokenizeCommand(const std::string& model_path, const std::string& text, bool special) {
  auto f = engine::GgufFile::Open(model_path);
  if (!f.ok()) {
    std::fprintf(stderr, "tandem: %s\n", f.status().message().c_str());
    return 1;
  }
  auto tok = engine::Tokenizer::FromGguf(**f);
  if (!tok.ok()) {
    std::fprintf(stderr, "tandem: %s\n", tok.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", JsonIds((*tok)->Encode(text, special, special)).c_str());
  return 0;
}

int GenerateCommand(const GenerateArgs& a) {
  auto model = LoadOrDie(a.model);
  if (!model) return 1;
  std::string prompt = a.prompt;
  if (!a.prompt_file.empty()) {
    std::ifstream in(a.prompt_file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "tandem: cannot read %s\n", a.prompt_file.c_str());
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    prompt = ss.str();
  }
  const engine::Tokenizer& tok = model->tokenizer();
  std::vector<int32_t> ids = tok.Encode(prompt, true, a.special);
  if (ids.empty()) {
    std::fprintf(stderr, "tandem: the prompt is empty\n");
    return 1;
  }
  engine::ThreadPool pool(a.threads);
  engine::Session session(model, a.ctx, &pool);
  engine::GenerateOptions opts;
  opts.max_tokens = a.max_tokens;
  opts.sampling.temperature = a.temperature;
  opts.sampling.seed = a.seed;
  auto r = engine::Generate(session, ids, opts, [&](std::string_view delta, const engine::GeneratedToken&) {
    if (!a.json) {
      std::fwrite(delta.data(), 1, delta.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  if (!r.ok()) {
    std::fprintf(stderr, "tandem: %s\n", r.status().message().c_str());
    return 1;
  }
  if (a.json) {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.kv("isa", engine::IsaName(engine::ActiveIsa()));
    w.key("prompt_tokens").raw(JsonIds(ids));
    w.key("tokens").raw(JsonIds(r->tokens));
    w.kv("text", r->text);
    w.kv("finish_reason", r->finish_reason);
    w.kv("prefill_ms", r->prefill_ms);
    w.kv("decode_ms", r->decode_ms);
    if (a.dump_logits) {
      // Last-position logits after the prompt alone (a fresh session), for conformance checks.
      engine::Session s2(model, a.ctx, &pool);
      auto p = engine::Prefill(s2, ids);
      if (p.ok()) {
        std::string l = "[";
        for (size_t i = 0; i < s2.logits().size(); ++i) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%s%.6g", i ? "," : "", s2.logits()[i]);
          l += buf;
        }
        w.key("logits").raw(l + "]");
      }
    }
    w.end_object();
    std::printf("%s\n", out.c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr, "[%d prompt tokens, %.1f ms; %zu generated, %.1f ms, %.1f tok/s; %s]\n", r->prompt_tokens,
                 r->prefill_ms, r->tokens.size(), r->decode_ms,
                 r->tokens.size() > 1 ? 1000.0 * static_cast<double>(r->tokens.size() - 1) / r->decode_ms : 0.0,
                 r->finish_reason.c_str());
  }
  return 0;
}

}  // namespace tandem
