// `tandem agent "<task>"`: LM Agency from the command line — the model plans and calls the listed tools; each step
// is routed (model "auto"), escalated to the LLM tier when the small model fails to produce a valid call. The
// run and its steps are recorded in the ledger (`tandem trace <run id>`).
#include <cstdio>

#include "agency/tool_specs.h"
#include "cli/commands.h"
#include "gateway/gateway_client.h"
#include "gateway/runs.h"

namespace tandem {

int AgentCommand(const AgentArgs& a) {
  auto snap = LoadSnapshot(a.config);
  if (!snap) return 1;
  auto store = OpenRunStore(a.config, a.ledger.empty() ? snap->config.ledger_path : a.ledger);
  if (!store) return 1;
  AgentRunRequest req;
  req.task = a.task;
  req.tools = agency::SplitSpecs(a.tools);
  req.model = a.model;
  req.options.max_steps = a.max_steps;
  req.options.max_cost_usd = a.max_cost_usd;
  req.answer_pattern = a.answer_pattern;
  auto run = ExecuteAgentRun(*snap, store.get(), req);
  if (!run.ok()) {
    std::fprintf(stderr, "%s\n", run.status().message().c_str());
    return 2;
  }
  const agency::AgentResult& r = run.value().result;
  for (const auto& s : r.steps) {
    std::printf("step %d  %-14s %7lld ms  $%.7f%s%s\n", s.index, s.model.c_str(), (long long)s.ms, s.cost_usd,
                s.note.empty() ? "" : "  ", s.note.c_str());
    for (size_t i = 0; i < s.calls.size(); ++i) {
      std::printf("  call   %s %s\n", s.calls[i].name.c_str(), s.calls[i].arguments.c_str());
      if (i < s.results.size())
        std::printf("  %s %s\n", s.results[i].is_error ? "error " : "result", s.results[i].content.substr(0, 300).c_str());
    }
    if (!s.text.empty() && s.calls.empty()) std::printf("  says   %s\n", s.text.substr(0, 300).c_str());
  }
  std::printf("run %s\n", run.value().run_id.c_str());
  std::printf("status: %s (%s); %zu steps, $%.7f\n", agency::AgentStatusName(r.status), r.reason.c_str(),
              r.steps.size(), r.cost_usd);
  if (r.status == agency::AgentStatus::kDone) std::printf("answer: %s\n", r.answer.c_str());
  return r.status == agency::AgentStatus::kDone ? 0 : 3;
}

}  // namespace tandem
