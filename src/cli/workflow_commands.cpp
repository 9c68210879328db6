// Code Agency from the command line: `tandem run <workflow.yaml>` (and `--resume <run id>`), `tandem approve`,
// `tandem runs`, and `tandem trace <run id>` (the step tree, or OpenTelemetry JSON) for runs of both patterns.
#include <cstdio>
#include <optional>

#include <simdjson.h>

#include "agency/trace.h"
#include "agency/tool_specs.h"
#include "cli/commands.h"
#include "core/json_writer.h"
#include "core/read_file.h"
#include "gateway/gateway_client.h"
#include "gateway/runs.h"

namespace tandem {
namespace {

void PrintStep(const agency::StepRecord& s) {
  std::printf("  %-28s %-8s %-9s %-22s %6lld ms  $%.7f%s%s\n", s.key.c_str(), s.kind.c_str(), s.status.c_str(),
              s.model.c_str(), (long long)s.ms, s.cost_usd, s.error.empty() ? "" : "  ",
              s.error.substr(0, 160).c_str());
  std::fflush(stdout);
}

// --input k=v (a JSON value, or else text) and --inputs file.json -> one JSON object.
Result<std::string> Inputs(const std::vector<std::string>& pairs, const std::string& file) {
  std::string obj = "{";
  bool first = true;
  simdjson::dom::parser parser;
  if (!file.empty()) {
    auto text = ReadFile(file);
    if (!text.ok()) return text.status();
    simdjson::dom::element doc;
    if (parser.parse(text.value()).get(doc) || !doc.is_object())
      return Status(Code::kInvalidArgument, file + ": expected a JSON object of inputs");
    simdjson::dom::object fields;
    if (doc.get_object().get(fields)) return Status(Code::kInvalidArgument, file + ": expected a JSON object");
    for (auto field : fields) {
      if (!first) obj += ",";
      first = false;
      AppendJsonString(obj, field.key);
      obj += ":" + simdjson::minify(field.value);
    }
  }
  for (const auto& p : pairs) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) return Status(Code::kInvalidArgument, "--input " + p + ": expected name=value");
    const std::string value = p.substr(eq + 1);
    simdjson::dom::element v;
    if (!first) obj += ",";
    first = false;
    AppendJsonString(obj, p.substr(0, eq));
    obj += ":";
    const bool json = !value.empty() && std::string("{[\"").find(value[0]) != std::string::npos;
    if (json && !parser.parse(value).get(v)) obj += simdjson::minify(v);
    else AppendJsonString(obj, value);
  }
  return obj + "}";
}

int Finish(const std::string& run_id, const agency::WorkflowOutcome& o) {
  std::printf("run %s: %s ($%.7f)\n", run_id.c_str(), o.status.c_str(), o.cost_usd);
  if (!o.error.empty()) std::printf("%s\n", o.error.c_str());
  if (o.status == "done") std::printf("output: %s\n", o.output.c_str());
  if (o.status == "waiting_approval")
    std::printf("approve with: tandem approve %s  (or --reject), then: tandem run --resume %s\n", run_id.c_str(),
                run_id.c_str());
  return o.status == "done" ? 0 : o.status == "waiting_approval" ? 4 : 3;
}

}  // namespace

std::unique_ptr<agency::RunStore> OpenRunStore(const std::string& config, const std::string& ledger) {
  std::string path = ledger;
  if (path.empty()) {
    auto cfg = LoadConfig(config, [](const char*) -> const char* { return "unused"; });
    if (!cfg.ok()) {
      std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
      return nullptr;
    }
    path = cfg.value().ledger_path;
  }
  auto store = agency::RunStore::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().message().c_str());
    return nullptr;
  }
  return std::move(store.value());
}

int RunCommand(const RunArgs& a) {
  auto snap = LoadSnapshot(a.config);
  if (!snap) return 1;
  auto store = OpenRunStore(a.config, a.ledger.empty() ? snap->config.ledger_path : a.ledger);
  if (!store) return 1;
  const std::vector<std::string> extra = agency::SplitSpecs(a.tools);
  std::string run_id = a.resume;
  std::optional<PreparedWorkflow> prepared;  // a new run's workflow, its tools built once for validation and run
  if (run_id.empty()) {
    if (a.workflow.empty()) {
      std::fprintf(stderr, "tandem run: give a workflow file, or --resume <run id>\n");
      return 2;
    }
    auto wf = PrepareWorkflowFile(*snap, a.workflow, extra);
    if (!wf.ok()) {
      std::fprintf(stderr, "%s\n", wf.status().message().c_str());
      return 2;
    }
    prepared.emplace(std::move(wf.value()));
    if (a.check) {
      std::printf("%s: ok (%zu steps)\n", a.workflow.c_str(), prepared->workflow.steps.size());
      return 0;
    }
    auto inputs = Inputs(a.inputs, a.inputs_file);
    if (!inputs.ok()) {
      std::fprintf(stderr, "%s\n", inputs.status().message().c_str());
      return 2;
    }
    auto started = agency::StartWorkflowRun(*store, prepared->workflow, prepared->text, inputs.value());
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().message().c_str());
      return 2;
    }
    run_id = started.value();
    std::printf("run %s: workflow %s\n", run_id.c_str(), prepared->workflow.name.c_str());
  } else {
    auto run = store->GetRun(run_id);
    if (!run.ok()) {
      std::fprintf(stderr, "%s\n", run.status().message().c_str());
      return 2;
    }
    if (run.value().status == "done") {
      std::printf("run %s is already done\noutput: %s\n", run_id.c_str(), run.value().output.c_str());
      return 0;
    }
    std::printf("run %s: resuming workflow %s (was %s)\n", run_id.c_str(), run.value().name.c_str(),
                run.value().status.c_str());
  }
  std::fflush(stdout);
  agency::WorkflowOutcome o =
      ExecuteWorkflowRun(*snap, *store, run_id, extra, PrintStep, nullptr, prepared ? &*prepared : nullptr);
  return Finish(run_id, o);
}

int ApproveCommand(const std::string& config, const std::string& ledger, const std::string& run_id,
                   const std::string& step, bool reject, const std::string& by, const std::string& note) {
  auto store = OpenRunStore(config, ledger);
  if (!store) return 1;
  Status st = agency::DecideApproval(*store, run_id, step, !reject, by, note);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 2;
  }
  std::printf("run %s: %s; continue with: tandem run --resume %s\n", run_id.c_str(), reject ? "rejected" : "approved",
              run_id.c_str());
  return 0;
}

int TraceCommand(const std::string& config, const std::string& ledger, const std::string& run_id,
                 const std::string& format) {
  auto store = OpenRunStore(config, ledger);
  if (!store) return 1;
  auto run = store->GetRun(run_id);
  if (!run.ok()) {
    std::fprintf(stderr, "%s\n", run.status().message().c_str());
    return 2;
  }
  auto steps = store->Steps(run_id);
  if (!steps.ok()) {
    std::fprintf(stderr, "%s\n", steps.status().message().c_str());
    return 1;
  }
  if (format == "otel") std::printf("%s\n", agency::OtelJson(run.value(), steps.value()).c_str());
  else if (format == "json") std::printf("%s\n", agency::RunJson(run.value(), steps.value()).c_str());
  else std::printf("%s", agency::TraceText(run.value(), steps.value()).c_str());
  return 0;
}

int RunsCommand(const std::string& config, const std::string& ledger, const std::string& status) {
  auto store = OpenRunStore(config, ledger);
  if (!store) return 1;
  auto runs = store->ListRuns(status, 50);
  if (!runs.ok()) {
    std::fprintf(stderr, "%s\n", runs.status().message().c_str());
    return 1;
  }
  for (const auto& r : runs.value())
    std::printf("%s  %-8s %-24s %-16s %s\n", r.id.c_str(), r.kind.c_str(), r.name.c_str(), r.status.c_str(),
                r.error.substr(0, 80).c_str());
  return 0;
}

}  // namespace tandem
