// Engine subcommands: gguf-info, tokenize, generate (and chat, in chat_command.cpp). They load a GGUF file
// in-process; nothing here needs a config file or a server.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <simdjson.h>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "core/json_writer.h"
#include "engine/generate/batch.h"
#include "engine/generate/generate.h"
#include "engine/generate/json_constraint.h"
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

// VmHWM: this process's peak resident set.
double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
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

int TokenizeCommand(const std::string& model_path, const std::string& text, bool special, bool bos, bool jsonl) {
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
  if (!jsonl) {
    std::printf("%s\n", JsonIds((*tok)->Encode(text, bos, special)).c_str());
    return 0;
  }
  // One {"text": ...} per input line, one array of ids per output line.
  simdjson::dom::parser parser;
  std::string line;
  int line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    std::string_view t;
    auto doc = parser.parse(line);
    if (doc.error() || doc["text"].get_string().get(t)) {
      std::fprintf(stderr, "tandem: stdin:%d: expected {\"text\": \"...\"}\n", line_no);
      return 1;
    }
    std::printf("%s\n", JsonIds((*tok)->Encode(t, bos, special)).c_str());
  }
  return 0;
}

namespace {

engine::GenerateOptions OptionsFrom(const GenerateArgs& a) {
  engine::GenerateOptions opts;
  opts.max_tokens = a.max_tokens;
  opts.sampling.temperature = a.temperature;
  opts.sampling.seed = a.seed;
  return opts;
}

// One prompt made ready to generate: its tokens and options, with its own JSON constraint when one is asked for.
struct PromptRun {
  std::vector<int32_t> ids;
  engine::GenerateOptions opts;
  std::unique_ptr<engine::JsonConstraint> constraint;
};

Result<PromptRun> PreparePrompt(const GenerateArgs& a, const std::shared_ptr<Model>& model,
                                std::shared_ptr<const engine::TokenTrie>& trie, const std::string& prompt) {
  PromptRun run;
  run.ids = model->tokenizer().Encode(prompt, true, a.special);
  if (run.ids.empty()) return Status(Code::kInvalidArgument, "the prompt is empty");
  run.opts = OptionsFrom(a);
  if (a.json_object || !a.json_schema.empty()) {
    std::string schema;
    if (!a.json_schema.empty()) {
      std::ifstream in(a.json_schema);
      if (!in) return Status(Code::kNotFound, "cannot read " + a.json_schema);
      std::stringstream ss;
      ss << in.rdbuf();
      schema = ss.str();
    }
    if (!trie) trie = std::make_shared<engine::TokenTrie>(model->tokenizer());
    auto c = engine::JsonConstraint::Create(model->tokenizer(), trie, schema);
    if (!c.ok()) return c.status();
    run.constraint = std::move(*c);
    run.opts.constraint = run.constraint.get();
  }
  return run;
}

// One generation as a JSON line: prompt and generated tokens, text, finish reason, timings, and optionally the
// logits at the last prompt position (from a fresh prefill, so they do not depend on earlier prompts).
Result<std::string> ResultJson(const GenerateArgs& a, const std::shared_ptr<Model>& model, engine::ThreadPool& pool,
                               const std::vector<int32_t>& ids, const engine::GenerateResult& r) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.kv("isa", engine::ActiveKernelsName());
  w.key("prompt_tokens").raw(JsonIds(ids));
  w.key("tokens").raw(JsonIds(r.tokens));
  w.kv("text", r.text);
  w.kv("finish_reason", r.finish_reason);
  w.kv("prefill_ms", r.prefill_ms);
  w.kv("decode_ms", r.decode_ms);
  if (a.dump_logits) {
    engine::Session s2(model, a.ctx, &pool);
    auto p = engine::Prefill(s2, ids);
    if (!p.ok()) return p.status();
    std::string l = "[";
    for (size_t i = 0; i < s2.logits().size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.9g", i ? "," : "", s2.logits()[i]);  // round-trips a float
      l += buf;
    }
    l += "]";
    w.key("logits").raw(l);
  }
  w.end_object();
  return out;
}

Result<std::string> GenerateJson(const GenerateArgs& a, const std::shared_ptr<Model>& model, engine::ThreadPool& pool,
                                 std::shared_ptr<const engine::TokenTrie>& trie, const std::string& prompt) {
  auto run = PreparePrompt(a, model, trie, prompt);
  if (!run.ok()) return run.status();
  engine::Session session(model, a.ctx, &pool);
  auto r = engine::Generate(session, run->ids, run->opts);
  if (!r.ok()) return r.status();
  return ResultJson(a, model, pool, run->ids, *r);
}

// --parallel: every prompt through one Batch of `a.parallel` slots, admitted in order as slots free up; the
// lines come out in input order once all are done.
int GenerateParallel(const GenerateArgs& a, const std::shared_ptr<Model>& model, engine::ThreadPool& pool,
                     std::shared_ptr<const engine::TokenTrie>& trie, const std::vector<std::string>& prompts,
                     const std::string& source) {
  std::vector<PromptRun> runs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto run = PreparePrompt(a, model, trie, prompts[i]);
    if (!run.ok()) {
      std::fprintf(stderr, "tandem: %s: prompt %zu: %s\n", source.c_str(), i + 1, run.status().message().c_str());
      return 1;
    }
    runs.push_back(std::move(*run));
  }
  engine::Batch batch(model, a.parallel, a.ctx, &pool);
  std::vector<Result<std::string>> lines(runs.size(), Status(Code::kInternal, "not run"));
  size_t next = 0, finished = 0;
  while (finished < runs.size()) {
    while (next < runs.size() && batch.has_free_slot()) {
      const size_t i = next++;
      Status added = batch.Add(runs[i].ids, std::make_unique<engine::Generation>(*model, runs[i].opts), nullptr,
                               [&, i](Status s, engine::GenerateResult& r) {
                                 lines[i] = s.ok() ? ResultJson(a, model, pool, runs[i].ids, r) : Result<std::string>(s);
                                 ++finished;
                               });
      if (!added.ok()) {
        lines[i] = added;
        ++finished;
      }
    }
    batch.Step();
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].ok()) {
      std::fprintf(stderr, "tandem: %s: prompt %zu: %s\n", source.c_str(), i + 1, lines[i].status().message().c_str());
      return 1;
    }
    std::printf("%s\n", lines[i]->c_str());
  }
  return 0;
}

}  // namespace

int GenerateCommand(const GenerateArgs& a) {
  auto model = LoadOrDie(a.model);
  if (!model) return 1;
  engine::ThreadPool pool(a.threads);
  std::shared_ptr<const engine::TokenTrie> trie;  // built on first use by JSON-constrained runs
  if (!a.prompts_jsonl.empty()) {
    // Many prompts, one model load: each input line {"prompt": "..."} gives one output line.
    std::ifstream file;
    std::istream* in = &std::cin;
    if (a.prompts_jsonl != "-") {
      file.open(a.prompts_jsonl);
      if (!file) {
        std::fprintf(stderr, "tandem: cannot read %s\n", a.prompts_jsonl.c_str());
        return 1;
      }
      in = &file;
    }
    simdjson::dom::parser parser;
    std::string line;
    int line_no = 0;
    std::vector<std::string> prompts;  // --parallel: all of them first
    while (std::getline(*in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string_view prompt;
      auto doc = parser.parse(line);
      if (doc.error() || doc["prompt"].get_string().get(prompt)) {
        std::fprintf(stderr, "tandem: %s:%d: expected {\"prompt\": \"...\"}\n", a.prompts_jsonl.c_str(), line_no);
        return 1;
      }
      if (a.parallel > 1) {
        prompts.emplace_back(prompt);
        continue;
      }
      auto out = GenerateJson(a, model, pool, trie, std::string(prompt));
      if (!out.ok()) {
        std::fprintf(stderr, "tandem: %s:%d: %s\n", a.prompts_jsonl.c_str(), line_no, out.status().message().c_str());
        return 1;
      }
      std::printf("%s\n", out->c_str());
      std::fflush(stdout);
    }
    if (a.parallel > 1) return GenerateParallel(a, model, pool, trie, prompts, a.prompts_jsonl);
    return 0;
  }
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
  if (a.json) {
    auto out = GenerateJson(a, model, pool, trie, prompt);
    if (!out.ok()) {
      std::fprintf(stderr, "tandem: %s\n", out.status().message().c_str());
      return 1;
    }
    std::printf("%s\n", out->c_str());
    return 0;
  }
  std::vector<int32_t> ids = model->tokenizer().Encode(prompt, true, a.special);
  if (ids.empty()) {
    std::fprintf(stderr, "tandem: the prompt is empty\n");
    return 1;
  }
  engine::Session session(model, a.ctx, &pool);
  const engine::GenerateOptions opts = OptionsFrom(a);
  auto r = engine::Generate(session, ids, opts, [&](std::string_view delta, const std::vector<engine::GeneratedToken>&) {
    std::fwrite(delta.data(), 1, delta.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (!r.ok()) {
    std::fprintf(stderr, "tandem: %s\n", r.status().message().c_str());
    return 1;
  }
  std::printf("\n");
  std::fprintf(stderr, "[%d prompt tokens, %.1f ms; %zu generated, %.1f ms, %.1f tok/s; %s]\n", r->prompt_tokens,
               r->prefill_ms, r->tokens.size(), r->decode_ms,
               r->tokens.size() > 1 ? 1000.0 * static_cast<double>(r->tokens.size() - 1) / r->decode_ms : 0.0,
               r->finish_reason.c_str());
  return 0;
}

}  // namespace tandem

namespace tandem {

// Engine micro-benchmark with one model load: prompt processing at the given lengths, generation of tg tokens,
// and time to first token for a 64-token prompt, each repeated `reps` times; prints one JSON object of medians.
int BenchEngineCommand(const std::string& model_path, int threads, int reps, int tg) {
  auto model = LoadOrDie(model_path);
  if (!model) return 1;
  engine::ThreadPool pool(threads);
  engine::Session session(model, 1024, &pool);
  const int n_vocab = model->config().n_vocab;
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  auto prompt = [&](int n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = 100 + (i * 7919) % (n_vocab - 200);
    return ids;
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // Warm-up: touch every weight page once.
  {
    auto p = prompt(16);
    (void)session.Forward(p.data(), 16);
    session.Truncate(0);
  }
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.kv("isa", engine::ActiveKernelsName());
  w.kv("threads", threads);
  for (int n : {128, 512}) {
    std::vector<double> v;
    auto p = prompt(n);
    for (int r = 0; r < reps; ++r) {
      session.Truncate(0);
      auto t0 = now();
      if (Status s = session.Forward(p.data(), n); !s.ok()) return 1;
      v.push_back(n * 1000.0 / ms(t0, now()));
    }
    w.kv("pp" + std::to_string(n) + "_tok_s", median(v));
  }
  {
    std::vector<double> v;
    auto p = prompt(64);
    for (int r = 0; r < reps; ++r) {
      session.Truncate(0);
      auto t0 = now();
      if (Status s = session.Forward(p.data(), 64); !s.ok()) return 1;
      engine::Sampler sampler(engine::SamplingParams{});
      (void)sampler.Sample(session.logits().data(), n_vocab, p);
      v.push_back(ms(t0, now()));
    }
    w.kv("ttft64_ms", median(v));
  }
  {
    std::vector<double> v;
    auto p = prompt(8);
    for (int r = 0; r < reps; ++r) {
      session.Truncate(0);
      if (Status s = session.Forward(p.data(), 8); !s.ok()) return 1;
      engine::Sampler sampler(engine::SamplingParams{});
      auto t0 = now();
      for (int i = 0; i < tg; ++i) {
        int32_t id = sampler.Sample(session.logits().data(), n_vocab, p);
        if (Status s = session.Forward(&id, 1); !s.ok()) return 1;
      }
      v.push_back(tg * 1000.0 / ms(t0, now()));
    }
    w.kv("tg" + std::to_string(tg) + "_tok_s", median(v));
  }
  w.kv("peak_rss_mib", PeakRssMib());
  w.end_object();
  std::printf("%s\n", out.c_str());
  return 0;
}

}  // namespace tandem
