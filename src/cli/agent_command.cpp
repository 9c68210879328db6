// `tandem agent "<task>"`: LM Agency from the command line — the model plans and calls the listed tools; each step
// is routed (model "auto"), escalated to the LLM tier when the small model fails to produce a valid call.
// clang-format off
#include "core/asio.h"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
// clang-format on
#include <cstdio>
#include <sstream>

#include "agency/builtin_tools.h"
#include "agency/lm_agent.h"
#include "cli/commands.h"
#include "core/json_writer.h"
#include "gateway/runtime.h"
#include "ledger/cost.h"
#include "providers/http_client.h"
#include "route/features.h"

namespace tandem {
namespace {

class CaptureSink final : public ChatSink {
 public:
  asio::awaitable<Status> body(std::string json) override {
    body_ = std::move(json);
    co_return Status::Ok();
  }
  asio::awaitable<Status> chunk(std::string_view) override { co_return Status::Ok(); }
  bool committed() const override { return false; }
  std::string body_;
};

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
  auto config = LoadConfig(a.config, ProcessEnv());
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  auto snap = BuildSnapshot(std::move(config.value()), SystemClock::Get());
  if (!snap.ok()) {
    std::fprintf(stderr, "%s\n", snap.status().message().c_str());
    return 1;
  }
  const Snapshot& sn = *snap.value();
  asio::io_context io;
  struct ClosePool {
    ~ClosePool() { ClearConnectionPool(); }
  } close_pool;
  // Each step goes through the router like any request for `a.model`; "llm" escalates it.
  agency::ModelFn model = [&](const std::string& request, const std::string& tier) {
    agency::ModelTurn turn;
    std::string body = "{\"model\":";
    body += tier == "llm" ? "\"" + sn.policy->resolve("llm") + "\"" : "\"" + a.model + "\"";
    body += "," + request.substr(1);
    auto req = ParseChatRequest(body);
    if (!req.ok()) {
      turn.status = req.status();
      return turn;
    }
    std::string target = req->model;
    bool local_only = false;
    if (target == "auto" || sn.config.routing.aliases.count(target)) {
      Features f = ComputeFeatures(req.value(), *sn.pii, "");
      Decision d = sn.policy->decide(req.value(), f);
      target = d.model;
      local_only = d.local_only;
    }
    std::vector<std::string> notes;
    auto chain = sn.providers->chain(target, local_only, &notes);
    if (chain.empty()) {
      turn.status = Status(Code::kUnavailable, notes.empty() ? "no model available" : notes.front());
      return turn;
    }
    CaptureSink sink;
    FailoverOutcome result;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      CancelState cancel;
      result = co_await sn.providers->Call(chain, req.value(), sink, cancel);
      io.stop();
    }, asio::detached);
    io.restart();
    io.run();
    turn.status = result.status;
    turn.body = std::move(sink.body_);
    turn.model = result.served ? result.served->info().name : target;
    if (result.served) turn.cost_usd = CostUsd(result.served->info(), result.stats.usage);
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
