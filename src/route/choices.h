// Multiple-choice questions: the lettered options a prompt offers, the same question with its options' texts
// rotated through the letters, the letter an answer picks, and the self-knowledge signals of asking in every
// rotation (a small model's position bias averaged out: its share for the answered option's *text*).
//
// `tandem outcomes --permute` measures these offline (eval/outcomes), and the cascade computes them for a draft
// when its confidence router reads them (gateway/cascade.h), so both compute each number the same way. Pure
// functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// The option letters a prompt offers ("A) ...", "A. ...", "A: ..." or "(A) ..." at a line start, lettered A, B,
// C... in order); "" when it offers fewer than two.
std::string OptionLetters(std::string_view prompt);

// The prompt with its options' texts rotated by `shift`: option k shows the text of option (k + shift) mod n, the
// letters and everything else stay in place. "" when it offers fewer than two options.
std::string RotateOptions(std::string_view prompt, int shift);

// The letter an answer picks: the one after "answer is" / "Answer:", else the first standalone capital among
// `letters` (any of A-J when empty); "" when there is none.
std::string AnsweredLetter(std::string_view text, std::string_view letters);

// The signals that need the question asked again in each rotation (one prefill each).
const std::vector<std::string>& PermutationSignalNames();

// `probs[s][k]`: the probability of letter k as the answer's first token with the options rotated by s (s = 0:
// as asked; one row per rotation, letters.size() rows). `answer`: the letter answered (as asked); an answer
// without one is taken at the likeliest letter as asked. Returns perm_prob (the answered text's share, mean over
// the rotations), perm_agree (the share of rotations whose likeliest letter shows that text), perm_top (the best
// text's mean share) and perm_same (1 when that best text is the answered one); empty on malformed input.
std::map<std::string, double> PermutationSignals(const std::vector<std::vector<double>>& probs,
                                                 std::string_view letters, std::string_view answer);

}  // namespace tandem
