// The `tandem` subcommands. Each returns the process exit code and prints its own errors.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace tandem {
namespace agency {
class RunStore;
}

struct GenerateArgs {
  std::string model, prompt, prompt_file, prompts_jsonl, json_schema;
  bool json_object = false;  // constrain the output to a JSON object (or to json_schema)
  bool special = false;  // parse control-token text in the prompt (a pre-rendered chat prompt)
  bool json = false, dump_logits = false;
  int max_tokens = 64, threads = 2, ctx = 4096;
  int parallel = 1;  // --prompts-jsonl: sequences generated together (engine/generate/batch.h)
  float temperature = 0;
  unsigned long long seed = 0xC0FFEE;
};
struct ChatArgs {
  std::string model, system;
  int max_tokens = 512, threads = 2, ctx = 4096;
  float temperature = 0.7f;
  unsigned long long seed = 0xC0FFEE;
};
int ChatCommand(const ChatArgs& args);
int GgufInfoCommand(const std::string& path);
int TokenizeCommand(const std::string& model_path, const std::string& text, bool special, bool bos, bool jsonl);
int GenerateCommand(const GenerateArgs& args);
int BenchEngineCommand(const std::string& model_path, int threads, int reps, int tg);
int ServeCommand(const std::string& config_path);
int CheckConfigCommand(const std::string& config_path);
int RouteExplainCommand(const std::string& config_path, const std::string& prompt, const std::string& model,
                        const std::string& tier_header, double tradeoff = -1, double max_cost_usd = -1);
// Routers named slm:<file.tsr> (SLM-scored heads) embed the prompts with `slm.encoder` first (its cache and
// threads); every router is then scored on the prompts that fit that model's context.
struct EvalSlmArgs {
  std::string encoder, cache;
  int threads = 2, ctx = 2048;
};
int EvalCommand(const std::string& data, const std::string& routers, const std::string& weak,
                const std::string& strong, const std::string& plot, int bins, const EvalSlmArgs& slm = {},
                const std::string& scores_out = "");
int TrainCommand(const std::string& data, const std::string& weak, const std::string& strong, const std::string& out,
                 double train_fraction, unsigned seed, int bits, int epochs, double pooling, double rate,
                 const std::string& scores_out);
// `tandem calibrate`: a router's threshold for a target LLM share of sample traffic (routing.slm_scored, else
// routing.learned), or with `cascade` the cascade's min_confidence on its calibrated router from a `tandem
// outcomes` file, for a target LLM share or a target accuracy.
struct CalibrateArgs {
  std::string config = "tandem.yaml", sample, outcomes;
  double target_share = -1, target_accuracy = -1;
  bool cascade = false, write = false;
};
int CalibrateCommand(const CalibrateArgs& args);
// `tandem eval-routes`: the described-routes router's accuracy on {"prompt", "route"} JSONL (limit 0 = all).
int RoutesEvalCommand(const std::string& config_path, const std::string& data, int limit);
// Routing among more than two models (RouterBench CSV; `models` = "all" or a comma-separated list).
int MultiTrainCommand(const std::string& data, const std::string& models, const std::string& out,
                      double train_fraction, unsigned seed, int bits, int epochs);
int MultiEvalCommand(const std::string& data, const std::string& models, const std::string& router_file);
// The SLM-scored router: embed prompts with a GGUF model, train the head, evaluate on the held-out part.
struct SlmTrainArgs {
  std::string data, weak, strong, encoder, out, cache;
  std::string target = "gain";  // "gain" (the strong model's expected gain) or "error" (the SLM's own mistakes)
  bool leave_one_task_out = false;
  double train_fraction = 0.5, l2 = 1.0;  // strong L2: 1,152 features, a few thousand prompts
  double pooling = 0.75;                   // RoutingTargets (route/learned_router.h)
  unsigned seed = 1;
  int limit = 0, threads = 2, ctx = 2048, epochs = 30;
};
int SlmTrainCommand(const SlmTrainArgs& args);
// The deployed SLM's own outcomes on labelled data, with its confidence signals (eval/outcomes.h).
struct OutcomesArgs {
  std::string data, model, config, strong, out, states;
  int limit = 0, threads = 2, ctx = 4096, max_tokens = 0;  // max_tokens 0: by the answer kind
  unsigned seed = 1;
  bool judge = false;
  bool permute = false;  // also score the options' texts rotated through the letters (perm_* signals)
};
int OutcomesCommand(const OutcomesArgs& args);
// The calibrated self-knowledge router from outcomes files (route/confidence_router.h); leave-one-task-out first.
struct ConfidenceTrainArgs {
  std::string data, out, compare;
  std::string signals = "draft";  // "draft" (route::DraftSignalNames) or a comma-separated list
  std::string ledger;             // --from-ledger: fit on the shadow judge's verdicts in this ledger instead
  double l2 = 1e-3;
};
int ConfidenceTrainCommand(const ConfidenceTrainArgs& args);
// `tandem train --from-ledger`: the same router, fitted on the shadow verdicts (cli/ledger_train_command.cpp).
int LedgerTrainCommand(const ConfidenceTrainArgs& args);
// Function-calling accuracy on BFCL cases (agency/bfcl.h) for configured models and the routed system.
struct EvalToolsArgs {
  std::string config, data, out;
  std::string categories = "simple_python,multiple,parallel,parallel_multiple,irrelevance";
  std::string models = "auto";
  int limit = 0, max_tokens = 256;
  unsigned seed = 1;
};
int EvalToolsCommand(const EvalToolsArgs& args);
// LM Agency: the model plans and calls tools (agency/lm_agent.h), every step routed. Exit 0 done, 3 stopped.
struct AgentArgs {
  std::string config, ledger, task, tools = "calculator,clock", model = "auto", answer_pattern;
  int max_steps = 8;
  double max_cost_usd = 0;
};
int AgentCommand(const AgentArgs& args);
// Code Agency: run or resume a workflow (gateway/runs.h). Exit 0 done, 3 failed, 4 waiting for an approval.
struct RunArgs {
  std::string config, ledger, workflow, resume, inputs_file, tools;
  std::vector<std::string> inputs;  // name=value
  bool check = false;               // validate only
};
int RunCommand(const RunArgs& args);
// The run store in `ledger`, or in the config's ledger; prints the error and returns null.
std::unique_ptr<agency::RunStore> OpenRunStore(const std::string& config, const std::string& ledger);
int ApproveCommand(const std::string& config, const std::string& ledger, const std::string& run_id,
                   const std::string& step, bool reject, const std::string& by, const std::string& note);
// The step tree of a run of either pattern; format "text", "json" or "otel" (OpenTelemetry JSON).
int TraceCommand(const std::string& config, const std::string& ledger, const std::string& run_id,
                 const std::string& format);
// Lists the tools of `specs` (agency/tool_specs.h), or calls one with JSON arguments.
int ToolsCommand(const std::string& specs, const std::string& call, const std::string& args);
int RunsCommand(const std::string& config, const std::string& ledger, const std::string& status);
int ReportCommand(const std::string& config_path, const std::string& ledger_override,
                  const std::string& since);

}  // namespace tandem
