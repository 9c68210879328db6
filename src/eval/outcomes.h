// Outcomes of the deployed SLM: the pure half of `tandem outcomes` (the engine half is cli/outcomes_command).
//
// Labelled prompts come from a RouterBench CSV (gold derived from the answer of a recorded model that the file
// marks correct, the strong model's first), or our JSONL with an "answer" field. Each prompt is prepared as the
// SLM will see it (RouterBench's Python-list quoting undone; a few-shot prompt cut to its final question, and the
// cut recorded), the SLM's answer is extracted by the task's kind (a multiple-choice letter, a final number, or a
// short normalised exact answer) and compared with the gold one. OutcomeRecord is one line of the output: the
// project's JSONL (prompt, weak = the SLM was right, strong = the recorded strong model was right) plus the SLM's
// answer and its signals, which LoadJsonl reads back as Dataset::signals. Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "route/choices.h"  // OptionLetters, RotateOptions

namespace tandem::eval {

enum class AnswerKind { kLetter, kNumber, kText };
const char* AnswerKindName(AnswerKind k);

// "['text with \\n escapes']" (a Python list of one string, as RouterBench stores prompts and answers) -> the
// text; anything else is returned as it is.
std::string UnwrapPythonList(std::string_view s);

// A few-shot prompt cut to its final question: the text after the last solved example (a line "Answer:" or
// "Answer: X" followed by a short answer and a blank line). `cut` says whether anything was removed.
std::string FinalQuestion(std::string_view prompt, bool* cut);

// The answer in a model's text. Letter: the letter after "answer is"/"Answer:", else the first standalone
// capital among `letters` (any of A-J when empty). Number: the number after "####" or "answer is", else the last
// number in the text, without thousands separators or a trailing ".0". Text: lower-cased, punctuation and
// articles dropped, spaces collapsed. "" when there is none.
std::string ExtractAnswer(AnswerKind kind, std::string_view text, std::string_view letters = "");

struct LabelledPrompt {
  std::string source;      // the prompt as the file holds it
  std::string asked;       // as the SLM is asked (unquoted; cut to the final question where that applies)
  bool cut = false;        // few-shot examples were removed
  std::string gold;        // the gold answer, extracted (a letter, a number or normalised text)
  double strong = 0;       // the recorded strong model's outcome
  std::string domain;      // the task (the file's name) unless the file names one
};

struct LabelledSet {
  std::string name;
  std::string strong_model;
  AnswerKind kind = AnswerKind::kLetter;
  std::vector<LabelledPrompt> prompts;
  size_t no_gold = 0;  // rows no recorded model answered right (no gold to derive), left out
};

// A RouterBench CSV (`strong` names the recorded strong model; "" = gpt-4-1106-preview), or JSONL lines
// {"prompt", "answer", "strong"[, "domain"]}. The kind is the file's: letters where the prompts offer options,
// numbers where every gold answer is one, else short text; free-form answers (code, essays: gold over 12 words)
// are refused, since no exact match can score them.
Result<LabelledSet> LoadLabelled(const std::string& path, const std::string& strong);

// One output line. `signals` are named numbers (see cli/outcomes_command.h for their meaning).
struct OutcomeRecord {
  std::string slm;     // the SLM (engine::EncoderId)
  std::string prompt;  // as asked
  bool weak = false;   // the SLM's answer matched the gold one
  double strong = 0;
  std::string domain;
  std::string gold, answer, raw_answer;
  bool cut = false;
  std::map<std::string, double> signals;
};
std::string OutcomeJson(const OutcomeRecord& r);  // one JSON object, no newline

}  // namespace tandem::eval
