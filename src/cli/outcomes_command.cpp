// `tandem outcomes`: the deployed SLM's own outcomes on labelled data, with the signals a self-knowledge router
// learns from. Each prompt is rendered with the model's chat template (as the gateway renders a user turn) and
// prefilled once; the next-token distribution over the option letters gives the multiple-choice signals, a greedy
// answer follows from the same KV cache (only its last prompt token is recomputed), and `--judge` asks the model
// whether that answer is right, reusing the cache again. Lines are appended as they are made, so an interrupted
// run resumes where it stopped; `--states` keeps the pooled prompt states in an EmbeddingCache file beside it.
//
// Signals (all answers): prompt_tokens, answer_tokens, mean_logprob, min_logprob, first_prob (the first answer
// token's probability), first_margin (its probability minus the runner-up's). Multiple choice: option_prob (the
// most likely option letter's share of the letters' probability), option_margin, option_entropy (normalised to
// [0, 1]), letter_mass (the letters' total probability as the first token), answer_option_prob (the share of the
// letter the model did answer). With --judge: judge_yes, p(yes) / (p(yes) + p(no)) for "Is your answer correct?".
// With --permute (multiple choice), the question is asked again with its options' texts rotated through the
// letters (every rotation, one prefill each from the shared question's cache): the perm_* signals of
// route/choices.h, as the cascade computes them for a draft.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>

#include <simdjson.h>

#include "cli/commands.h"
#include "cli/embedding_cache.h"
#include "config/config.h"
#include "engine/chat/chat_template.h"
#include "engine/generate/embed.h"
#include "engine/generate/generate.h"
#include "engine/model/model.h"
#include "engine/runtime/thread_pool.h"
#include "eval/outcomes.h"
#include "route/confidence_router.h"

namespace tandem {
namespace {

using eval::AnswerKind;

// The model path: a .gguf file, or the name of a configured local model.
Result<std::string> ModelPath(const OutcomesArgs& a) {
  if (a.model.size() > 5 && a.model.substr(a.model.size() - 5) == ".gguf") return a.model;
  if (a.config.empty())
    return Status(Code::kInvalidArgument, "--model '" + a.model + "': give a .gguf file, or -c <config> to name a "
                                                                  "configured model");
  auto cfg = LoadConfig(a.config, [](const char*) -> const char* { return "unused"; });
  if (!cfg.ok()) return cfg.status();
  const ModelInfo* m = cfg->find(a.model);
  if (!m) return Status(Code::kNotFound, a.config + ": no model named '" + a.model + "'");
  if (m->gguf_path.empty())
    return Status(Code::kInvalidArgument, "model '" + a.model + "' is not served in-process (provider: local): "
                                          "tandem outcomes reads the SLM's own token probabilities");
  return m->gguf_path;
}

// Token ids whose text is `letter` or " letter" (one token each), for the option distribution.
std::vector<std::vector<int32_t>> LetterIds(const engine::Tokenizer& tok, const std::string& letters) {
  std::vector<std::vector<int32_t>> ids;
  for (char c : letters) {
    std::vector<int32_t> v;
    for (std::string s : {std::string(1, c), std::string(" ") + c}) {
      auto t = tok.Encode(s, false, false);
      if (t.size() == 1 && std::find(v.begin(), v.end(), t[0]) == v.end()) v.push_back(t[0]);
    }
    ids.push_back(std::move(v));
  }
  return ids;
}

// Probabilities of every vocabulary entry from raw logits (softmax), only at `ids`.
std::vector<double> ProbsAt(const std::vector<float>& logits, const std::vector<std::vector<int32_t>>& ids) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l - mx));
  std::vector<double> p;
  for (const auto& group : ids) {
    double s = 0;
    for (int32_t id : group) s += std::exp(static_cast<double>(logits[static_cast<size_t>(id)] - mx)) / z;
    p.push_back(s);
  }
  return p;
}

void OptionSignals(const std::vector<double>& p, const std::string& letters, const std::string& answer,
                   std::map<std::string, double>& sig) {
  double mass = 0;
  for (double x : p) mass += x;
  sig["letter_mass"] = mass;
  if (mass <= 0 || p.size() < 2) return;
  std::vector<double> q;
  for (double x : p) q.push_back(x / mass);
  std::vector<double> sorted = q;
  std::sort(sorted.rbegin(), sorted.rend());
  double h = 0;
  for (double x : q)
    if (x > 0) h -= x * std::log(x);
  sig["option_prob"] = sorted[0];
  sig["option_margin"] = sorted[0] - sorted[1];
  sig["option_entropy"] = h / std::log(static_cast<double>(q.size()));
  size_t at = answer.size() == 1 ? letters.find(answer[0]) : std::string::npos;
  sig["answer_option_prob"] = at == std::string::npos ? 0.0 : q[at];
}

// The letters' probabilities with the options rotated (rotation 0 = `base`, the prompt as asked; one prefill
// each), for PermutationSignals.
Status AddPermutationSignals(engine::Session& session, const engine::Tokenizer& tok,
                             const engine::ChatTemplate& tmpl, const std::string& asked, const std::string& letters,
                             const std::vector<std::vector<int32_t>>& ids, const std::vector<double>& base,
                             const std::string& answer, std::map<std::string, double>& sig) {
  std::vector<std::vector<double>> probs{base};
  for (size_t shift = 1; shift < letters.size(); ++shift) {
    const std::string rotated = RotateOptions(asked, static_cast<int>(shift));
    auto pre = engine::Prefill(session, tok.Encode(tmpl.Render({{"user", rotated}}), true, true));
    if (!pre.ok()) return pre.status();
    probs.push_back(ProbsAt(session.logits(), ids));
  }
  for (const auto& [k, v] : PermutationSignals(probs, letters, answer)) sig[k] = v;
  return Status::Ok();
}

void AddAnswerSignals(const engine::GenerateResult& g, std::map<std::string, double>& sig) {
  std::vector<AnswerToken> tokens;
  for (const auto& t : g.token_info) {
    AnswerToken a{t.logprob, {}};
    for (const auto& alt : t.top) a.top.push_back(alt.logprob);
    tokens.push_back(std::move(a));
  }
  for (const auto& [k, v] : AnswerSignals(tokens)) sig[k] = v;
}

// The prompts already written to `out` (a resumed run skips them).
std::set<std::string> Done(const std::string& path) {
  std::set<std::string> done;
  std::ifstream in(path);
  simdjson::dom::parser parser;
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element e;
    std::string_view prompt, domain;
    if (parser.parse(line).get(e) || e["prompt"].get(prompt)) continue;
    if (e["domain"].get(domain)) domain = "";
    done.insert(std::string(domain) + '\x1f' + std::string(prompt));
  }
  return done;
}

std::string Clock(double s) {
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  }
  return buf;
}

// One progress line: a bar, counts, the SLM's accuracy on this run's prompts, the rate and the time left.
void Progress(size_t done, size_t total, size_t right, double secs, size_t fresh, bool tty) {
  if (!tty && done % 25 != 0 && done != total) return;
  const int width = 24;
  const int fill = total ? static_cast<int>(width * done / total) : width;
  const double per = fresh ? secs / static_cast<double>(fresh) : 0;
  std::fprintf(stderr, "%s[%.*s%*s] %zu/%zu  SLM right %.1f%%  %.2f s/prompt  ETA %s%s", tty ? "\r" : "", fill,
               "########################", width - fill, "", done, total,
               fresh ? 100.0 * static_cast<double>(right) / static_cast<double>(fresh) : 0.0, per,
               Clock(per * static_cast<double>(total - done)).c_str(), tty ? "" : "\n");
  if (tty && done == total) std::fputc('\n', stderr);
}

}  // namespace

int OutcomesCommand(const OutcomesArgs& a) {
  auto set = eval::LoadLabelled(a.data, a.strong);
  if (!set.ok()) {
    std::fprintf(stderr, "%s\n", set.status().message().c_str());
    return 1;
  }
  auto path = ModelPath(a);
  if (!path.ok()) {
    std::fprintf(stderr, "%s\n", path.status().message().c_str());
    return 1;
  }
  auto model = engine::Model::Load(path.value());
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().message().c_str());
    return 1;
  }
  const engine::Tokenizer& tok = (*model)->tokenizer();
  engine::ThreadPool pool(a.threads);
  engine::Session session(*model, std::min(a.ctx, (*model)->config().n_ctx_train), &pool);
  const auto tmpl = engine::ChatTemplate::Detect((*model)->config().chat_template, (*model)->config().arch);
  const std::string encoder = engine::EncoderId(**model);
  EmbeddingCache states(a.states, encoder);

  // The prompts to run: all, or a seeded random subset (in file order).
  std::vector<size_t> pick(set->prompts.size());
  for (size_t i = 0; i < pick.size(); ++i) pick[i] = i;
  if (a.limit > 0 && static_cast<size_t>(a.limit) < pick.size()) {
    std::mt19937_64 rng(a.seed);
    std::shuffle(pick.begin(), pick.end(), rng);
    pick.resize(static_cast<size_t>(a.limit));
    std::sort(pick.begin(), pick.end());
  }
  const std::set<std::string> done = Done(a.out);
  std::ofstream out(a.out, std::ios::app);
  if (!out) {
    std::fprintf(stderr, "%s: cannot write\n", a.out.c_str());
    return 1;
  }
  size_t cut = 0;
  for (size_t i : pick) cut += set->prompts[i].cut ? 1 : 0;
  std::fprintf(stderr,
               "%s: %zu prompts (%zu already in %s), answers scored as %s; %zu few-shot prompts cut to their final "
               "question; %zu rows without a gold answer left out\nSLM %s, strong %s\n",
               set->name.c_str(), pick.size(), done.size(), a.out.c_str(), eval::AnswerKindName(set->kind), cut,
               set->no_gold, encoder.c_str(), set->strong_model.c_str());

  // The judge's "yes" and "no" tokens (each spelling that is one token), found once.
  std::vector<std::vector<int32_t>> yes_no(2);
  for (int g = 0; g < 2; ++g) {
    for (const char* w : g == 0 ? std::vector<const char*>{"yes", "Yes", " yes", " Yes"}
                                : std::vector<const char*>{"no", "No", " no", " No"}) {
      auto t = tok.Encode(w, false, false);
      if (t.size() == 1) yes_no[static_cast<size_t>(g)].push_back(t[0]);
    }
  }
  const int max_tokens = a.max_tokens > 0 ? a.max_tokens : set->kind == AnswerKind::kNumber ? 384 : 16;
  const bool tty = isatty(2);
  const auto t0 = std::chrono::steady_clock::now();
  size_t n = 0, right = 0, fresh = 0, too_long = 0;
  for (size_t i : pick) {
    const eval::LabelledPrompt& lp = set->prompts[i];
    ++n;
    if (done.count(lp.domain + '\x1f' + lp.asked)) {
      Progress(n, pick.size(), right, 0, fresh, tty);
      continue;
    }
    std::vector<int32_t> prompt = tok.Encode(tmpl.Render({{"user", lp.asked}}), true, true);
    if (static_cast<int>(prompt.size()) + max_tokens >= session.n_ctx()) {
      ++too_long;
      continue;
    }
    eval::OutcomeRecord rec;
    rec.slm = encoder, rec.prompt = lp.asked, rec.strong = lp.strong, rec.domain = lp.domain, rec.gold = lp.gold;
    rec.cut = lp.cut;
    // Prefill (pooled states when asked), then read the next-token distribution over the option letters.
    Status st = Status::Ok();
    if (!a.states.empty() && !states.find(lp.asked)) {
      auto pooled = engine::EmbedPrompt(session, prompt);
      if (pooled.ok()) states.put(lp.asked, *pooled);
      st = pooled.status();
    } else {
      auto pre = engine::Prefill(session, prompt);
      st = pre.status();
    }
    if (!st.ok()) {
      std::fprintf(stderr, "\n%s: %s\n", set->name.c_str(), st.message().c_str());
      return 1;
    }
    const std::string letters = set->kind == AnswerKind::kLetter ? OptionLetters(lp.asked) : "";
    const auto letter_ids = LetterIds(tok, letters);
    std::vector<double> letter_p;
    if (!letters.empty()) letter_p = ProbsAt(session.logits(), letter_ids);
    engine::GenerateOptions opts;
    opts.max_tokens = max_tokens;
    opts.logprobs = true;
    opts.top_logprobs = 2;
    auto g = engine::Generate(session, prompt, opts);
    if (!g.ok()) {
      std::fprintf(stderr, "\n%s: %s\n", set->name.c_str(), g.status().message().c_str());
      return 1;
    }
    rec.raw_answer = g->text;
    rec.answer = eval::ExtractAnswer(set->kind, g->text, letters);
    rec.weak = !rec.answer.empty() && rec.answer == lp.gold;
    rec.signals["prompt_tokens"] = static_cast<double>(prompt.size());
    AddAnswerSignals(*g, rec.signals);
    if (!letters.empty()) OptionSignals(letter_p, letters, rec.answer, rec.signals);
    if (a.permute && !letters.empty()) {
      Status ps = AddPermutationSignals(session, tok, tmpl, lp.asked, letters, letter_ids, letter_p, rec.answer,
                                        rec.signals);
      if (!ps.ok()) {
        std::fprintf(stderr, "\n%s: %s\n", set->name.c_str(), ps.message().c_str());
        return 1;
      }
    }
    if (a.judge) {
      std::vector<int32_t> jp = tok.Encode(
          tmpl.Render({{"user", lp.asked},
                       {"assistant", g->text},
                       {"user", "Is your answer correct? Reply with yes or no."}}),
          true, true);
      if (static_cast<int>(jp.size()) < session.n_ctx() && engine::Prefill(session, jp).ok()) {
        const std::vector<double> yn = ProbsAt(session.logits(), yes_no);
        rec.signals["judge_yes"] = yn[0] + yn[1] > 0 ? yn[0] / (yn[0] + yn[1]) : 0.5;
      }
    }
    out << eval::OutcomeJson(rec) << '\n';
    out.flush();
    right += rec.weak ? 1 : 0;
    ++fresh;
    Progress(n, pick.size(), right,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), fresh, tty);
  }
  if (too_long) std::fprintf(stderr, "%zu prompts left out: longer than the context\n", too_long);
  std::fprintf(stderr, "wrote %zu new outcomes to %s\n", fresh, a.out.c_str());
  return 0;
}

}  // namespace tandem
