// Dataset: recorded outcomes of a weak (small) and a strong (large) model on the same prompts.
//
// Readers for the formats in ../shared/data/routing and one of our own:
//   - RouteLLM CSV: a directory of mmlu_<subject>.csv (prompt, <weak model>, <strong model>, True/False; a
//     leading index column, as pandas writes one, is allowed),
//     with contaminated_prompts.jsonl ("eval_prompt") dropped, as RouteLLM's evaluator does;
//   - RouterBench CSV: one row per prompt with 0/1 score and <model>|total_cost columns per model; pick the
//     weak and strong model by column name;
//   - JSONL (ours, documented in src/eval/README.md): {"prompt", "weak", "strong"[, "weak_cost",
//     "strong_cost", "score", "domain", "signals": {name: number}]} per line.
// A prompt's domain (RouteLLM: the MMLU subject its file names; JSONL: "domain") is training metadata only:
// `tandem train` pools outcomes by it, a router never sees it.
// Errors name the file (and line where it applies). Values are plain data; thread-safe to share.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace tandem::eval {

struct Dataset {
  std::string name;
  std::string weak_model, strong_model;
  std::vector<std::string> prompts;
  std::vector<double> weak, strong;            // quality in [0, 1] (correctness)
  std::vector<double> weak_cost, strong_cost;  // USD per prompt, when recorded (else empty)
  std::vector<double> scores;                  // router scores recorded with the data (JSONL), else empty
  std::vector<std::string> domains;            // one per prompt where the data names them, else empty
  // Named per-prompt numbers recorded with the data (JSONL "signals": the SLM's confidence, from `tandem
  // outcomes`); only names present on every line are kept.
  std::map<std::string, std::vector<double>> signals;
  std::string slm;  // the SLM whose outcomes these are (JSONL "slm", from tandem outcomes), else empty
  size_t skipped = 0;                          // rows without an outcome for one of the two models
  double weak_accuracy() const;                // 0..100
  double strong_accuracy() const;
};

Result<Dataset> LoadRouteLlm(const std::string& dir);
// The pair a RouterBench file is read with when none is named: a real small model and GPT-4.
inline constexpr const char* kDefaultWeak = "mistralai/mistral-7b-chat";
inline constexpr const char* kDefaultStrong = "gpt-4-1106-preview";
// `weak` and `strong` name two model columns. Both empty: the default pair where the file has it, else the
// file's two model columns (the one right less often is the weak one); any other file asks for the names.
// Also reads a single RouteLLM-style file (prompt, <model>, <model>, True/False).
Result<Dataset> LoadRouterBench(const std::string& file, const std::string& weak, const std::string& strong);
// The model columns: those (other than "prompt", a row index named "", "index" or "Unnamed: 0", and RouterBench's
// "<model>|total_cost" / "<model>|model_response") whose every recorded value is an outcome, True/False or a
// number in [0, 1].
std::vector<std::string> OutcomeColumns(const std::vector<std::vector<std::string>>& csv_rows);
Result<Dataset> LoadJsonl(const std::string& file);
// Writes `d` in our JSONL format (what LoadJsonl reads back): prompt, weak, strong, and costs, domain and
// `scores` (as "score") where `d` has them. `scores` overrides d.scores when non-empty.
Status SaveJsonl(const Dataset& d, const std::string& file, const std::vector<double>& scores = {});
// Outcomes of K >= 2 models on the same prompts (RouterBench has 11, with per-call costs).
struct MultiDataset {
  std::string name;
  std::vector<std::string> models;
  std::vector<std::string> prompts;
  std::vector<std::vector<double>> quality;  // [prompt][model] in [0, 1]
  std::vector<std::vector<double>> cost;     // [prompt][model] USD per call
  size_t skipped = 0;                        // rows with a blank outcome or cost for a chosen model
};

// RouterBench CSV with every model ("all") or a comma-separated list of model columns.
Result<MultiDataset> LoadRouterBenchMulti(const std::string& file, const std::string& models);

// Picks the reader from the path: a directory is RouteLLM, *.jsonl ours, *.csv RouterBench.
Result<Dataset> LoadDataset(const std::string& path, const std::string& weak, const std::string& strong);

}  // namespace tandem::eval
