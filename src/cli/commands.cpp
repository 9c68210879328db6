#include "cli/commands.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "agency/tool_specs.h"
#include "cli/slm_embed.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json_writer.h"
#include "eval/plot.h"
#include "eval/run_eval.h"
#include "gateway/gateway_client.h"
#include "gateway/runs.h"
#include "gateway/runtime.h"
#include "ledger/journal.h"
#include "ledger/report.h"
#include "ledger/sqlite_store.h"
#include "route/features.h"
#include "route/learned_router.h"
#include "route/slm_head.h"

namespace tandem {

int CheckConfigCommand(const std::string& path) {
  auto snap = LoadSnapshot(path);
  if (!snap) return 1;
  const Config& config = snap->config;
  std::printf("%s: OK (%zu models, %zu rules)\n", path.c_str(), config.models.size(),
              config.routing.rules.size());
  for (const auto& m : config.models) {
    std::printf("  %-24s %s/%s%s%s\n", m.name.c_str(), TierName(m.tier), LocalityName(m.locality),
                m.unavailable.empty() ? "" : "  UNAVAILABLE: ", m.unavailable.c_str());
  }
  // agency: the tools agents may use (MCP servers are started and listed), and every workflow served.
  int bad = 0;
  if (!config.agency.tools.empty()) {
    agency::ToolSet tools;
    Status st = agency::AddTools(config.agency.tools, "", tools);
    if (!st.ok()) {
      std::fprintf(stderr, "%s: agency.tools: %s\n", path.c_str(), st.message().c_str());
      ++bad;
    } else {
      std::printf("  agent tools: %zu\n", tools.all().size());
    }
  }
  if (!config.agency.workflows_dir.empty()) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(config.agency.workflows_dir, ec))
      if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
    if (ec) {
      std::fprintf(stderr, "%s: agency.workflows: %s: %s\n", path.c_str(), config.agency.workflows_dir.c_str(),
                   ec.message().c_str());
      ++bad;
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto wf = PrepareWorkflowFile(*snap, f.string(), config.agency.tools);
      if (wf.ok()) {
        std::printf("  workflow %-24s %zu steps\n", wf.value().workflow.name.c_str(), wf.value().workflow.steps.size());
      } else {
        std::fprintf(stderr, "%s\n", wf.status().message().c_str());
        ++bad;
      }
    }
  }
  return bad ? 1 : 0;
}

int RouteExplainCommand(const std::string& path, const std::string& prompt, const std::string& model,
                        const std::string& tier_header, double tradeoff, double max_cost_usd) {
  auto snap = LoadSnapshot(path);
  if (!snap) return 1;
  std::string body;
  JsonWriter w(body);
  w.begin_object().kv("model", model).key("messages").begin_array();
  w.begin_object().kv("role", "user").kv("content", prompt).end_object().end_array().end_object();
  auto req = ParseChatRequest(body);
  if (!req.ok()) {
    std::fprintf(stderr, "%s\n", req.status().message().c_str());
    return 1;
  }
  const Snapshot& s = *snap;
  Features f = ComputeFeatures(req.value(), *s.pii, tier_header);
  f.tradeoff = tradeoff;
  f.max_cost_usd = max_cost_usd;
  Decision d = s.policy->decide(req.value(), f);
  std::vector<std::string> notes;
  auto chain = s.providers->chain(d.model, d.local_only, &notes);
  const ModelInfo* m = s.config.find(d.model);
  std::printf("model:     %s (%s, %s)\n", d.model.c_str(), m ? TierName(m->tier) : "?",
              m ? LocalityName(m->locality) : "?");
  std::printf("features:  tokens~%lld turns=%d tools=%d task=%s pii=%s\n", (long long)f.prompt_tokens,
              f.turns, f.tools, f.task.c_str(), f.pii.empty() ? "none" : "");
  for (const auto& k : f.pii) std::printf("           personal data: %s\n", k.c_str());
  std::printf("privacy:   %s\n", d.local_only ? "local only (no cloud model may serve)" : "unrestricted");
  for (const auto& r : d.reasons) std::printf("reason:    %s\n", r.c_str());
  std::printf("chain:    ");
  for (Provider* p : chain) std::printf(" %s", p->info().name.c_str());
  std::printf("%s\n", chain.empty() ? " (none available)" : "");
  for (const auto& n : notes) std::printf("note:      %s\n", n.c_str());
  return 0;
}

int ReportCommand(const std::string& path, const std::string& ledger_override, const std::string& since) {
  std::string ledger = ledger_override;
  ReportOptions opt;
  // Only the ledger path, aliases and calibration target are needed: secrets are not looked up (a key that is
  // unset must not fail this). With --ledger the config is optional.
  if (ledger.empty() || std::filesystem::exists(path)) {
    auto config = LoadConfig(path, [](const char*) -> const char* { return "unused"; });
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", config.status().message().c_str());
      return 1;
    }
    if (ledger.empty()) ledger = config->ledger_path;
    for (const auto& [alias, target] : config->routing.aliases) opt.routed_names.push_back(alias);
    opt.target_llm_share = config->routing.target_llm_share;
  }
  int64_t window = ParseDuration(since);
  if (window < 0) {
    std::fprintf(stderr, "--since: expected a duration such as 30m, 24h or 7d, got '%s'\n", since.c_str());
    return 2;
  }
  if (!std::filesystem::exists(ledger)) {
    std::fprintf(stderr, "no ledger at %s (has `tandem serve` run with this config?)\n", ledger.c_str());
    return 1;
  }
  auto store = SqliteStore::Open(ledger, /*read_only=*/true);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().message().c_str());
    return 1;
  }
  int64_t now = SystemClock::Get().wall_us();
  auto rows = store.value()->rows_since(now - window);
  if (!rows.ok()) {
    std::fprintf(stderr, "%s\n", rows.status().message().c_str());
    return 1;
  }
  // Rows a running (or killed) server has journaled but not yet committed count too.
  std::set<std::string> seen;
  for (const auto& r : rows.value()) seen.insert(r.request_id);
  for (auto& r : Journal::ReadAll(ledger + ".journal")) {
    if (r.ts_us >= now - window && seen.insert(r.request_id).second) rows.value().push_back(std::move(r));
  }
  std::fputs(FormatReport(BuildReport(rows.value(), now, window, opt), since).c_str(), stdout);
  return 0;
}

}  // namespace tandem

namespace tandem {

int EvalCommand(const std::string& data, const std::string& routers, const std::string& weak,
                const std::string& strong, const std::string& plot, int bins, const EvalSlmArgs& slm,
                const std::string& scores_out) {
  if (!scores_out.empty() && routers.find(',') != std::string::npos) {
    std::fprintf(stderr, "--scores-out writes one router's scores: name one with --router\n");
    return 2;
  }
  auto d = eval::LoadDataset(data, weak, strong);
  if (!d.ok()) {
    std::fprintf(stderr, "%s\n", d.status().message().c_str());
    return 1;
  }
  eval::EvalOptions opt;
  opt.bins = bins;
  opt.routers.clear();
  std::vector<std::pair<std::string, SlmHead>> heads;  // slm:<file> routers
  std::stringstream ss(routers);
  for (std::string r; std::getline(ss, r, ',');) {
    if (r.rfind("slm:", 0) == 0) {
      auto head = SlmHead::Load(r.substr(4));
      if (!head.ok()) {
        std::fprintf(stderr, "%s\n", head.status().message().c_str());
        return 1;
      }
      heads.emplace_back(r, std::move(head.value()));
    } else if (!r.empty()) {
      opt.routers.push_back(r);
    }
  }
  if (!heads.empty()) {
    if (slm.encoder.empty()) {
      std::fprintf(stderr, "router %s needs --encoder <model.gguf>, the model it was trained on\n",
                   heads.front().first.c_str());
      return 2;
    }
    auto embedded = EmbedDataset(d.value(), slm.encoder, slm.cache, slm.threads, slm.ctx);
    if (!embedded.ok()) {
      std::fprintf(stderr, "%s\n", embedded.status().message().c_str());
      return 1;
    }
    for (const auto& [name, head] : heads) {
      if (head.encoder_id() != embedded->encoder_id) {
        std::fprintf(stderr, "%s: trained on %s, but --encoder is %s\n", name.c_str(), head.encoder_id().c_str(),
                     embedded->encoder_id.c_str());
        return 1;
      }
      std::vector<double> scores;
      for (const auto& row : embedded->rows) scores.push_back(head.score(row));
      opt.scored.emplace_back(name, std::move(scores));
    }
    if (embedded->too_long) {
      std::printf("%zu prompts longer than the encoder's context are left out for every router\n",
                  embedded->too_long);
    }
    d.value() = std::move(embedded->kept);
  }
  auto results = eval::RunEval(d.value(), opt);
  if (!results.ok()) {
    std::fprintf(stderr, "%s\n", results.status().message().c_str());
    return 1;
  }
  std::fputs(eval::FormatEval(d.value(), results.value()).c_str(), stdout);
  if (!plot.empty()) {
    std::vector<eval::Series> series;
    for (const auto& r : results.value()) series.push_back({r.name, r.curve});
    std::ofstream out(plot);
    out << eval::SvgPlot(d->name + ": accuracy vs strong-model calls", series, d->weak_accuracy(),
                         d->strong_accuracy());
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", plot.c_str());
      return 1;
    }
    std::printf("plot: %s\n", plot.c_str());
  }
  if (!scores_out.empty()) {
    if (results->front().scores.empty()) {  // no router named: only the oracle ran
      std::fprintf(stderr, "--scores-out needs a router (--router)\n");
      return 2;
    }
    if (Status saved = eval::SaveJsonl(d.value(), scores_out, results->front().scores); !saved.ok()) {
      std::fprintf(stderr, "%s\n", saved.message().c_str());
      return 1;
    }
    std::printf("scores: %s (%s, one line per prompt)\n", scores_out.c_str(), results->front().name.c_str());
  }
  return 0;
}

}  // namespace tandem

namespace tandem {

int TrainCommand(const std::string& data, const std::string& weak, const std::string& strong,
                 const std::string& out, double train_fraction, unsigned seed, int bits, int epochs, double pooling,
                 double rate, const std::string& scores_out) {
  auto d = eval::LoadDataset(data, weak, strong);
  if (!d.ok()) {
    std::fprintf(stderr, "%s\n", d.status().message().c_str());
    return 1;
  }
  if (train_fraction <= 0 || train_fraction > 1 || bits < 8 || bits > 26 || epochs < 1 || pooling < 0 ||
      pooling > 1 || rate <= 0) {
    std::fprintf(stderr,
                 "--train-fraction must be in (0, 1], --bits in [8, 26], --epochs >= 1, --pooling in [0, 1], "
                 "--rate > 0\n");
    return 2;
  }
  auto [train, held_out] = eval::Split(d.value(), train_fraction, seed);
  const std::vector<double> labels = RoutingTargets(train.weak, train.strong, train.domains, pooling);
  if (!train.domains.empty() && pooling > 0) {
    const std::set<std::string> domains(train.domains.begin(), train.domains.end());
    std::printf("targets pooled %.2f toward each prompt's domain (%zu domains)\n", pooling, domains.size());
  }
  TrainOptions opt;
  opt.learning_rate = rate;
  opt.bits = bits;
  opt.epochs = epochs;
  opt.seed = seed;
  LearnedRouter router = LearnedRouter::Train(train.prompts, labels, opt);
  Status saved = router.Save(out);
  if (!saved.ok()) {
    std::fprintf(stderr, "%s\n", saved.message().c_str());
    return 1;
  }
  std::printf("trained on %zu prompts, saved %s\n", train.prompts.size(), out.c_str());
  if (held_out.prompts.empty()) return 0;
  std::vector<double> scores;  // once, for the table and for --scores-out
  scores.reserve(held_out.prompts.size());
  for (const auto& p : held_out.prompts) scores.push_back(router.score(p));
  eval::EvalOptions eo;
  eo.routers = {"random", "length"};
  eo.scored = {{"model:" + out, scores}};
  auto results = eval::RunEval(held_out, eo);
  if (!results.ok()) {
    std::fprintf(stderr, "%s\n", results.status().message().c_str());
    return 1;
  }
  std::fputs(eval::FormatEval(held_out, results.value()).c_str(), stdout);
  if (!scores_out.empty()) {
    Status st = eval::SaveJsonl(held_out, scores_out, scores);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
    std::printf("held-out prompts and their scores: %s\n", scores_out.c_str());
  }
  return 0;
}

}  // namespace tandem
