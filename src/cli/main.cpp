// tandem: the command line. Subcommands: serve, check-config, route, report, eval, train, calibrate, eval-tools, agent,
// gguf-info, tokenize, generate, chat, bench-engine.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "route/learned_router.h"

namespace {
constexpr const char* kWeakHelp =
    "CSV: the weak model's column (default: mistralai/mistral-7b-chat where present, else the less accurate of a "
    "file's two model columns)";
constexpr const char* kStrongHelp =
    "CSV: the strong model's column (default: gpt-4-1106-preview where present, else the more accurate of a "
    "file's two model columns)";
}  // namespace

int main(int argc, char** argv) {
  // A peer that goes away (an MCP server's stdin, an upstream) is an error to report, not a signal that kills us.
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Tandem: one OpenAI-compatible endpoint that routes between a local SLM and a cloud LLM"};
  app.require_subcommand(1);
  std::string config = "tandem.yaml";

  auto* serve = app.add_subcommand("serve", "Run the gateway");
  serve->add_option("-c,--config", config, "Config file")->capture_default_str();

  auto* check = app.add_subcommand("check-config", "Validate a config file and exit");
  check->add_option("config", config, "Config file")->capture_default_str();

  std::string prompt, model = "auto", tier;
  bool explain = true;
  auto* route = app.add_subcommand("route", "Show the route decision for a prompt without calling a model");
  route->add_option("prompt", prompt, "The user prompt")->required();
  route->add_flag("--explain", explain, "Print the reasons (default)");
  route->add_option("-c,--config", config, "Config file")->capture_default_str();
  route->add_option("-m,--model", model, "Requested model (auto, an alias or a model)")
      ->capture_default_str();
  route->add_option("--tier", tier, "Simulate the x-tandem-tier header (slm|llm)");
  double route_tradeoff = -1, route_budget = -1;
  route->add_option("--tradeoff", route_tradeoff, "Simulate the x-tandem-tradeoff header (lambda)");
  route->add_option("--max-cost-usd", route_budget, "Simulate the x-tandem-max-cost-usd header");

  std::string since = "7d", ledger;
  auto* report = app.add_subcommand("report", "Spend, savings and latency from the ledger");
  report->add_option("-c,--config", config, "Config file (for the ledger path)")->capture_default_str();
  report->add_option("--since", since, "Window: 30m, 24h, 7d, ...")->capture_default_str();
  report->add_option("--ledger", ledger, "Ledger file (overrides the config)");

  std::string data, weak, strong, plot,
                    routers = "random,length";
  int bins = 10;
  auto* eval =
      app.add_subcommand("eval", "Replay recorded outcomes through routers: PGR, APGR, CPT, and a plot");
  eval->add_option("--data", data, "RouteLLM directory, RouterBench .csv or Tandem .jsonl")->required();
  eval->add_option("--router", routers,
                   "Comma-separated: random, length, scores, model:<file.tlr>, slm:<file.tsr> (needs --encoder)")
      ->capture_default_str();
  tandem::EvalSlmArgs eval_slm;
  eval->add_option("--encoder", eval_slm.encoder, "slm:<file> routers: the GGUF model their head was trained on");
  eval->add_option("--cache", eval_slm.cache, "slm:<file> routers: keep embeddings in this file across runs");
  eval->add_option("--threads", eval_slm.threads, "slm:<file> routers: compute threads")->capture_default_str();
  eval->add_option("--weak", weak, kWeakHelp);
  eval->add_option("--strong", strong, kStrongHelp);
  eval->add_option("--plot", plot, "Write the quality-cost curve here (SVG)");
  std::string eval_scores_out;
  eval->add_option("--scores-out", eval_scores_out,
                   "Write the prompts with the router's scores as JSONL (one router; tandem eval --router scores "
                   "reads it back)");
  eval->add_option("--bins", bins, "Threshold bins (RouteLLM: 10)")->capture_default_str();
  std::string multi_models;
  eval->add_option("--models", multi_models,
                   "More than two models (RouterBench .csv): 'all' or a comma-separated list; --router model:<file.tmr>");

  std::string out = "router.tlr";
  double split = 0.5;
  unsigned seed = 1;
  int bits = 0, epochs = tandem::TrainOptions().epochs;  // bits 0: the router kind's default
  double pooling = 0.75, rate = tandem::LearnedRouterDefaults().learning_rate;
  auto* train = app.add_subcommand(
      "train", "Train a lightweight router on recorded outcomes and evaluate it on a held-out part");
  train->add_option("--data", data, "RouteLLM directory, RouterBench .csv or Tandem .jsonl (or --from-ledger)");
  train->add_option("--out", out, "Where to save the router")->capture_default_str();
  train->add_option("--weak", weak, kWeakHelp);
  train->add_option("--strong", strong, kStrongHelp);
  train->add_option("--train-fraction", split, "Share of prompts to train on (the rest is held out)")
      ->capture_default_str();
  train->add_option("--seed", seed, "Split and shuffling seed")->capture_default_str();
  train->add_option("--bits", bits, "Feature hash bits (default 18; 14 with --models)");
  train->add_option("--epochs", epochs)->capture_default_str();
  train->add_option("--pooling", pooling,
                    "Share of each training target taken from its domain's mean (MMLU subject, JSONL \"domain\")")
      ->capture_default_str();
  train->add_option("--rate", rate, "Adagrad learning rate")->capture_default_str();
  std::string scores_out;
  train->add_option("--scores-out", scores_out,
                    "Write the held-out prompts with the router's scores as JSONL (tandem eval --router scores)");
  tandem::SlmTrainArgs slm;
  train->add_option("--encoder", slm.encoder,
                    "SLM-scored router: this GGUF model encodes the prompts (its pooled hidden states)");
  train->add_option("--limit", slm.limit, "With --encoder: sample this many prompts first (0 = all)");
  train->add_option("--cache", slm.cache, "With --encoder: keep embeddings in this file across runs");
  train->add_option("--threads", slm.threads, "With --encoder: compute threads")->capture_default_str();
  train->add_option("--l2", slm.l2, "With --encoder: the head's L2 penalty")->capture_default_str();
  train->add_option("--target", slm.target,
                    "With --encoder: 'gain' (the strong model's expected gain) or 'error' (the weak model's own "
                    "mistakes: for tandem outcomes files)")->capture_default_str();
  train->add_flag("--leave-one-task-out", slm.leave_one_task_out,
                  "With --encoder: score each task (\"domain\") by a head trained on the others, then fit on all");
  tandem::ConfidenceTrainArgs conf;
  train->add_option("--signals", conf.signals,
                    "Calibrated self-knowledge router (.tcr) from tandem outcomes files: 'draft' (the signals every "
                    "draft has) or a comma-separated list; --data may list several files (tasks): leave-one-out first");
  train->add_option("--compare", conf.compare, "With --signals: more routers for the leave-one-out tables");
  train->add_option("--from-ledger", conf.ledger,
                    "Calibrated self-knowledge router from the shadow judge's verdicts in this ledger "
                    "(routing.shadow); --signals picks the signals (default: draft)");
  train->add_option("--models", multi_models,
                    "Train a multi-model router (RouterBench .csv): 'all' or a comma-separated list of models");

  tandem::OutcomesArgs oc;
  auto* outcomes = app.add_subcommand(
      "outcomes", "Run the deployed SLM on labelled prompts: its own outcomes and confidence signals, as JSONL");
  outcomes->add_option("--data", oc.data, "RouterBench .csv (gold from a recorded right answer) or .jsonl with "
                                          "\"answer\"")->required();
  outcomes->add_option("--model", oc.model, "The SLM: a .gguf file, or a configured local model (with -c)")
      ->required();
  outcomes->add_option("-c,--config", oc.config, "Config that names --model");
  outcomes->add_option("--strong", oc.strong, "The recorded strong model's column (default gpt-4-1106-preview)");
  outcomes->add_option("--out", oc.out, "JSONL to write (appended to: a re-run resumes)")->required();
  outcomes->add_option("--states", oc.states, "Keep the pooled prompt states in this file (EmbeddingCache)");
  outcomes->add_option("--limit", oc.limit, "A random subset of this many prompts (0 = all)");
  outcomes->add_option("--seed", oc.seed, "The subset's seed")->capture_default_str();
  outcomes->add_option("--threads", oc.threads, "Compute threads")->capture_default_str();
  outcomes->add_option("--ctx", oc.ctx, "Context size")->capture_default_str();
  outcomes->add_option("--max-tokens", oc.max_tokens, "Answer length cap (default: 16, or 384 for numbers)");
  outcomes->add_flag("--judge", oc.judge, "Also ask the SLM whether its answer is right (signal judge_yes)");
  outcomes->add_flag("--permute", oc.permute, "Multiple choice: also ask with the options' texts rotated through "
                                              "the letters, one prefill each (signals perm_*)");

  tandem::CalibrateArgs cal;
  auto* calibrate = app.add_subcommand(
      "calibrate", "Pick a router's threshold for a target LLM share of sample traffic, or the cascade's for a "
                   "target share or accuracy on the SLM's outcomes");
  calibrate->add_option("-c,--config", cal.config, "Config file")->capture_default_str();
  calibrate->add_option("--target-llm-share", cal.target_share, "Share of requests to send to the LLM (default 0.2)");
  calibrate->add_option("--target-accuracy", cal.target_accuracy, "With --cascade: the accuracy to reach");
  calibrate->add_option("--sample", cal.sample, "JSONL: {\"prompt\": ...} or chat request bodies");
  calibrate->add_flag("--cascade", cal.cascade, "The cascade's min_confidence (routing.cascade.router)");
  calibrate->add_option("--outcomes", cal.outcomes, "With --cascade: a tandem outcomes JSONL of the configured SLM");
  calibrate->add_flag("--write", cal.write, "Write threshold and target into the config file");

  std::string routes_data;
  int routes_limit = 0;
  auto* eval_routes = app.add_subcommand(
      "eval-routes", "Accuracy of the described-routes router (routing.routes) on labelled prompts");
  eval_routes->add_option("-c,--config", config, "Config file")->capture_default_str();
  eval_routes->add_option("--data", routes_data, "JSONL: {\"prompt\": ..., \"route\": <route name>}")->required();
  eval_routes->add_option("--limit", routes_limit, "The first N prompts (0 = all)");

  tandem::EvalToolsArgs et;
  auto* eval_tools = app.add_subcommand(
      "eval-tools", "Function-calling accuracy on BFCL cases (BFCL's AST checker) per model and for 'auto'");
  eval_tools->add_option("-c,--config", et.config, "Config file")->required();
  eval_tools->add_option("--data", et.data, "BFCL folder (BFCL_v4_*.json and possible_answer/)")->required();
  eval_tools->add_option("--categories", et.categories)->capture_default_str();
  eval_tools->add_option("--models", et.models, "Comma-separated configured models, aliases or auto")
      ->capture_default_str();
  eval_tools->add_option("--limit", et.limit, "At most this many cases per category (random, seeded)");
  eval_tools->add_option("--seed", et.seed)->capture_default_str();
  eval_tools->add_option("--max-tokens", et.max_tokens)->capture_default_str();
  eval_tools->add_option("--out", et.out, "Write one JSON line per case and model here");

  tandem::AgentArgs ag;
  auto* agent = app.add_subcommand("agent", "Run a task as an agent: the model calls tools, every step routed");
  agent->add_option("task", ag.task, "The task")->required();
  agent->add_option("-c,--config", ag.config, "Config file")->required();
  agent->add_option("--tools", ag.tools, "calculator, clock, files=DIR, sql=DB, sql-rw=DB, http=HOST;HOST")
      ->capture_default_str();
  agent->add_option("-m,--model", ag.model, "auto, an alias or a configured model")->capture_default_str();
  agent->add_option("--max-steps", ag.max_steps)->capture_default_str();
  agent->add_option("--max-cost-usd", ag.max_cost_usd, "Stop once the run has cost this much (0 = no cap)");

  agent->add_option("--ledger", ag.ledger, "Record the run here instead of the config's ledger");
  agent->add_option("--answer-pattern", ag.answer_pattern,
                    "A final answer must contain a match of this regular expression (RE2), else the agent goes on");

  tandem::RunArgs rn;
  auto* run = app.add_subcommand("run", "Run a workflow (Code Agency): declared steps, each model call routed");
  run->add_option("workflow", rn.workflow, "Workflow YAML file");
  run->add_option("-c,--config", rn.config, "Config file")->required();
  run->add_option("-i,--input", rn.inputs, "An input: name=value (JSON values are read as JSON)");
  run->add_option("--inputs", rn.inputs_file, "A JSON object of inputs");
  run->add_option("--resume", rn.resume, "Continue a run (after a crash or an approval) without redoing its steps");
  run->add_option("--tools", rn.tools, "More tools for the workflow (specs as for `agent`)");
  run->add_option("--ledger", rn.ledger, "Record the run here instead of the config's ledger");
  run->add_flag("--check", rn.check, "Validate the workflow and exit");

  std::string run_config, run_ledger, run_id, approve_step, approve_by, approve_note, trace_format = "text", runs_status;
  bool reject = false;
  auto* approve = app.add_subcommand("approve", "Decide a workflow run's waiting approval step");
  approve->add_option("run", run_id, "Run id")->required();
  approve->add_option("step", approve_step, "The approval step (default: the one waiting)");
  approve->add_option("-c,--config", run_config, "Config file (for its ledger)");
  approve->add_option("--ledger", run_ledger, "Ledger file");
  approve->add_flag("--reject", reject, "Reject instead of approving");
  approve->add_option("--by", approve_by, "Who decided");
  approve->add_option("--note", approve_note, "Why");
  auto* trace = app.add_subcommand("trace", "Print a run's steps: model, route reasons, tokens, cost, time");
  trace->add_option("run", run_id, "Run id")->required();
  trace->add_option("-c,--config", run_config, "Config file (for its ledger)");
  trace->add_option("--ledger", run_ledger, "Ledger file");
  trace->add_option("--format", trace_format, "text, json or otel (OpenTelemetry JSON)")
      ->check(CLI::IsMember({"text", "json", "otel"}))->capture_default_str();
  auto* runs = app.add_subcommand("runs", "List recent agent and workflow runs");
  runs->add_option("-c,--config", run_config, "Config file (for its ledger)");
  runs->add_option("--ledger", run_ledger, "Ledger file");
  runs->add_option("--status", runs_status, "Only runs with this status (e.g. waiting_approval)");

  std::string tool_specs, tool_call, tool_args;
  auto* tools_cmd = app.add_subcommand("tools", "List the tools of built-in specs or an MCP server, or call one");
  tools_cmd->add_option("--tools", tool_specs, "Tool specs, e.g. calculator,\"mcp=python server.py\",mcp-http=URL")
      ->required();
  tools_cmd->add_option("--call", tool_call, "Call this tool");
  tools_cmd->add_option("--args", tool_args, "Its arguments (a JSON object)");

  std::string gguf_path, text;
  bool special = false, bos = false, jsonl = false;
  auto* info = app.add_subcommand("gguf-info", "Print a GGUF file's metadata and tensor types");
  info->add_option("file", gguf_path, "GGUF file")->required();
  auto* tokenize = app.add_subcommand("tokenize", "Print the token ids of a text (JSON)");
  tokenize->add_option("-m,--model", gguf_path, "GGUF file")->required();
  tokenize->add_option("text", text, "Text");
  tokenize->add_flag("--special", special, "Parse control tokens such as <|im_start|>");
  tokenize->add_flag("--bos", bos, "Add BOS (and EOS) as the model's metadata asks");
  tokenize->add_flag("--jsonl", jsonl, "Read {\"text\": ...} lines from stdin, print one id array per line");

  tandem::GenerateArgs gen;
  auto* generate = app.add_subcommand("generate", "Complete a raw prompt with a local GGUF model, in-process");
  generate->add_option("-m,--model", gen.model, "GGUF file")->required();
  generate->add_option("-p,--prompt", gen.prompt, "Prompt text");
  generate->add_option("-f,--prompt-file", gen.prompt_file, "Read the prompt from a file");
  generate->add_option("--prompts-jsonl", gen.prompts_jsonl,
                       "JSON lines {\"prompt\": ...} ('-' for stdin); one JSON result line each (implies --json)");
  generate->add_option("-n,--max-tokens", gen.max_tokens)->capture_default_str();
  generate->add_option("-t,--threads", gen.threads)->capture_default_str();
  generate->add_option("--ctx", gen.ctx, "Context size (tokens)")->capture_default_str();
  generate->add_option("--temperature", gen.temperature, "0 = greedy")->capture_default_str();
  generate->add_option("--seed", gen.seed)->capture_default_str();
  generate->add_flag("--special", gen.special, "Parse control tokens in the prompt");
  generate->add_flag("--json-object", gen.json_object, "Constrain the output to one JSON object");
  generate->add_option("--json-schema", gen.json_schema, "Constrain the output to this JSON Schema (file)");
  generate->add_flag("--json", gen.json, "Print tokens, text and timings as JSON");
  generate->add_flag("--logits", gen.dump_logits, "With --json: also the last prompt position's logits");
  generate->add_option("--parallel", gen.parallel,
                       "With --prompts-jsonl: generate this many prompts at once (continuous batching, one forward "
                       "per step over all of them); the output is the same, line for line")
      ->capture_default_str();

  int bench_threads = 2, bench_reps = 3, bench_tg = 128;
  auto* bench = app.add_subcommand("bench-engine", "Time prompt processing, generation and first token (JSON)");
  bench->add_option("-m,--model", gguf_path, "GGUF file")->required();
  bench->add_option("-t,--threads", bench_threads)->capture_default_str();
  bench->add_option("--reps", bench_reps)->capture_default_str();
  bench->add_option("--tg", bench_tg, "Tokens to generate")->capture_default_str();

  tandem::ChatArgs chat;
  auto* chat_cmd = app.add_subcommand("chat", "Chat in the terminal with a local GGUF model, in-process");
  chat_cmd->add_option("-m,--model", chat.model, "GGUF file")->required();
  chat_cmd->add_option("-s,--system", chat.system, "System message");
  chat_cmd->add_option("-n,--max-tokens", chat.max_tokens)->capture_default_str();
  chat_cmd->add_option("-t,--threads", chat.threads)->capture_default_str();
  chat_cmd->add_option("--ctx", chat.ctx, "Context size (tokens)")->capture_default_str();
  chat_cmd->add_option("--temperature", chat.temperature, "0 = greedy")->capture_default_str();
  chat_cmd->add_option("--seed", chat.seed)->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (*chat_cmd) return tandem::ChatCommand(chat);
  if (*bench) return tandem::BenchEngineCommand(gguf_path, bench_threads, bench_reps, bench_tg);
  if (*info) return tandem::GgufInfoCommand(gguf_path);
  if (*tokenize) return tandem::TokenizeCommand(gguf_path, text, special, bos, jsonl);
  if (*generate) return tandem::GenerateCommand(gen);
  if (*serve) return tandem::ServeCommand(config);
  if (*check) return tandem::CheckConfigCommand(config);
  if (*route) return tandem::RouteExplainCommand(config, prompt, model, tier, route_tradeoff, route_budget);
  if (*report) return tandem::ReportCommand(config, ledger, since);
  if (*eval && !multi_models.empty()) {
    if (routers.rfind("model:", 0) != 0) {
      std::fprintf(stderr, "--models needs --router model:<file made by tandem train --models>\n");
      return 2;
    }
    return tandem::MultiEvalCommand(data, multi_models, routers.substr(6));
  }
  if (*train && !multi_models.empty()) {
    return tandem::MultiTrainCommand(data, multi_models, out, split, seed,
                                     bits ? bits : tandem::TrainOptions().bits, epochs);
  }
  if (*train && data.empty() && conf.ledger.empty()) {
    std::fprintf(stderr, "train: give --data <outcomes> or --from-ledger <ledger.db>\n");
    return 2;
  }
  if (*train && !conf.ledger.empty()) {
    conf.out = out;
    return tandem::LedgerTrainCommand(conf);
  }
  if (*train && !train->get_option("--signals")->empty()) {
    conf.data = data, conf.out = out;
    return tandem::ConfidenceTrainCommand(conf);
  }
  if (*train && !slm.encoder.empty()) {
    slm.data = data, slm.weak = weak, slm.strong = strong, slm.out = out;
    slm.train_fraction = split, slm.seed = seed, slm.pooling = pooling;
    if (epochs != 6) slm.epochs = epochs;
    return tandem::SlmTrainCommand(slm);
  }
  if (*outcomes) return tandem::OutcomesCommand(oc);
  if (*eval) return tandem::EvalCommand(data, routers, weak, strong, plot, bins, eval_slm, eval_scores_out);
  if (*agent) return tandem::AgentCommand(ag);
  if (*run) return tandem::RunCommand(rn);
  if (*tools_cmd) return tandem::ToolsCommand(tool_specs, tool_call, tool_args);
  if ((*approve || *trace || *runs) && run_config.empty() && run_ledger.empty()) {
    std::fprintf(stderr, "give -c <config> or --ledger <file>\n");
    return 2;
  }
  if (*approve)
    return tandem::ApproveCommand(run_config, run_ledger, run_id, approve_step, reject, approve_by, approve_note);
  if (*trace) return tandem::TraceCommand(run_config, run_ledger, run_id, trace_format);
  if (*runs) return tandem::RunsCommand(run_config, run_ledger, runs_status);
  if (*eval_tools) return tandem::EvalToolsCommand(et);
  if (*calibrate) return tandem::CalibrateCommand(cal);
  if (*eval_routes) return tandem::RoutesEvalCommand(config, routes_data, routes_limit);
  if (*train) return tandem::TrainCommand(data, weak, strong, out, split, seed,
                               bits ? bits : tandem::LearnedRouterDefaults().bits, epochs, pooling, rate, scores_out);
  return 2;
}
