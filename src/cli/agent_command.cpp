// `tandem agent "<task>"`: LM Agency from the command line — the model plans and calls the listed tools; each step
// is routed (model "auto"), escalated to the LLM tier when the small model fails to produce a valid call.
#include <cstdio>
#include <sstream>

#include "agency/builtin_tools.h"
#include "agency/lm_agent.h"
#include "cli/commands.h"
#include "cli/gateway_client.h"

namespace tandem {
namespace {

// "calculator,clock,files=DIR,sql=DB,sql-rw=DB,http=host1;host2" -> tools.
Result<agency::ToolSet> ParseTools(const std::string& spec) {
  agency::ToolSet set;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq), arg = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (name == "calculator") {
      set.Add(agency::MakeCalculatorTool());
    } else if (name == "clock") {
      set.Add(agency::MakeClockTool(SystemClock::Get()));
    } else if (name == "files" && !arg.empty()) {
      for (auto& t : agency::MakeFileTools(arg)) set.Add(t);
    } else if ((name == "sql" || name == "sql-rw") && !arg.empty()) {
      set.Add(agency::MakeSqlTool(arg, name == "sql-rw"));
    } else if (name == "http" && !arg.empty()) {
      std::vector<std::string> hosts;
      std::stringstream hs(arg);
      for (std::string h; std::getline(hs, h, ';');)
        if (!h.empty()) hosts.push_back(h);
      for (auto& t : agency::MakeHttpTools(hosts)) set.Add(t);
    } else {
      return Status(Code::kInvalidArgument, "--tools: unknown or incomplete tool '" + item +
                                                "' (calculator, clock, files=DIR, sql=DB, sql-rw=DB, http=HOST;HOST)");
    }
  }
  return set;
}

}  // namespace

int AgentCommand(const AgentArgs& a) {
  auto tools = ParseTools(a.tools);
  if (!tools.ok()) {
    std::fprintf(stderr, "%s\n", tools.status().message().c_str());
    return 2;
  }
  auto snap = LoadSnapshot(a.config);
  if (!snap) return 1;
  const Snapshot& sn = *snap;
  GatewayClient client(sn);
  // Each step goes through the router like any request for `a.model`; "llm" escalates it.
  agency::ModelFn model = [&](const std::string& request, const std::string& tier) {
    agency::ModelTurn turn;
    const std::string target = tier == "llm" ? sn.policy->resolve("llm") : a.model;
    std::string body;  // the loop's request with the model to route it by (names need no JSON escaping)
    body.reserve(request.size() + target.size() + 16);
    body.append("{\"model\":\"").append(target).append("\",").append(request, 1, std::string::npos);
    auto req = ParseChatRequest(body);
    if (!req.ok()) {
      turn.status = req.status();
      return turn;
    }
    GatewayClient::Answer answer = client.Chat(req.value());
    turn.status = answer.status;
    turn.body = std::move(answer.body);
    turn.model = answer.model;
    turn.cost_usd = answer.cost_usd;
    return turn;
  };
  agency::AgentOptions opt;
  opt.max_steps = a.max_steps;
  opt.max_cost_usd = a.max_cost_usd;
  agency::AgentResult r = agency::RunAgent(a.task, tools.value(), model, opt);
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
  std::printf("status: %s (%s); %zu steps, $%.7f\n", agency::AgentStatusName(r.status), r.reason.c_str(),
              r.steps.size(), r.cost_usd);
  if (r.status == agency::AgentStatus::kDone) std::printf("answer: %s\n", r.answer.c_str());
  return r.status == agency::AgentStatus::kDone ? 0 : 3;
}

}  // namespace tandem
