// BFCL: the Berkeley Function Calling Leaderboard's cases and its AST checker, for `tandem eval-tools`.
//
// LoadBfcl reads BFCL_v4_<category>.json (JSON lines: id, question, function) and, except for irrelevance,
// possible_answer/BFCL_v4_<category>.json (ground_truth: a list of {function: {param: [allowed values]}}).
// BfclTools renders a case's functions as OpenAI tools: names with '.' become '_' (OpenAI's name rule, as BFCL
// does) and BFCL's types map to JSON Schema (dict -> object, float -> number, tuple -> array, any -> no type).
// CheckCalls applies BFCL's AST rules to a model's calls (sanitized names are mapped back): the right number of calls (in any order for parallel cases), each to the
// right function, no unknown parameters, every required one present, an optional one left out only when ""
// is allowed, each value among the allowed ones (strings compared as BFCL standardizes them: case, spaces and
// ,./-_*^ ignored; an integer accepted for a float; lists and dicts compared element by element); an
// irrelevance case passes only when no function is called. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agency/model_calls.h"
#include "core/status.h"

namespace tandem::agency {

struct BfclMessage {
  std::string role, content;
};

struct BfclCase {
  std::string id, category;
  std::vector<BfclMessage> messages;  // the first turn
  std::string functions;              // the raw "function" array
  std::string ground_truth;           // the raw "ground_truth" array; "" for irrelevance
};

struct CheckResult {
  bool correct = false;
  std::string why;  // the first rule broken ("" when correct)
};

// `categories`: e.g. {"simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"}.
Result<std::vector<BfclCase>> LoadBfcl(const std::string& dir, const std::vector<std::string>& categories);
std::string BfclTools(const BfclCase& c);
CheckResult CheckCalls(const BfclCase& c, const std::vector<ModelCall>& calls);

}  // namespace tandem::agency
