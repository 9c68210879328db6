// eval/outcomes (prompt preparation, answer extraction), eval/metrics' AUROC and calibration error, and
// route/confidence_router (fit, save, load, refusals).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "eval/metrics.h"
#include "eval/outcomes.h"
#include "route/confidence_router.h"

namespace tandem {
namespace {

using eval::AnswerKind;

TEST(Outcomes, PythonListQuotingIsUndone) {
  EXPECT_EQ(eval::UnwrapPythonList(R"(['It\'s a\ntest \\ \x41'])"), "It's a\ntest \\ A");
  EXPECT_EQ(eval::UnwrapPythonList(R"(["say \"hi\""])"), "say \"hi\"");
  EXPECT_EQ(eval::UnwrapPythonList("plain text"), "plain text");
  EXPECT_EQ(eval::UnwrapPythonList("['unterminated"), "['unterminated");
}

TEST(Outcomes, FewShotPromptsAreCutToTheirFinalQuestion) {
  bool cut = false;
  std::string p = "Q1?\nA) x\nB) y\nAnswer:\nB\n\nQ2?\nA) u\nB) v\nAnswer: A\n\nFinal?\nA) m\nB) n\nAnswer:";
  EXPECT_EQ(eval::FinalQuestion(p, &cut), "Final?\nA) m\nB) n\nAnswer:");
  EXPECT_TRUE(cut);
  // No solved example: nothing is cut, blank lines in the question included.
  std::string q = "Context.\n\nWhich?\nA. one\nB. two\nAnswer:";
  EXPECT_EQ(eval::FinalQuestion(q, &cut), q);
  EXPECT_FALSE(cut);
}

TEST(Outcomes, OptionLettersAreReadInOrder) {
  EXPECT_EQ(OptionLetters("Q\nA) a\nB) b\nC) c\nD) d\nAnswer:"), "ABCD");
  EXPECT_EQ(OptionLetters("Q\n(A) a\n(B) b"), "AB");
  EXPECT_EQ(OptionLetters("A lone line\nno options"), "");
}

TEST(Outcomes, RotatedOptionsMoveTextsThroughTheLetters) {
  const std::string q = "Which?\nA) red\nB) green\nC) blue\nAnswer:";
  EXPECT_EQ(RotateOptions(q, 0), q);
  EXPECT_EQ(RotateOptions(q, 1), "Which?\nA) green\nB) blue\nC) red\nAnswer:");
  EXPECT_EQ(RotateOptions(q, 2), "Which?\nA) blue\nB) red\nC) green\nAnswer:");
  EXPECT_EQ(RotateOptions("Q\n(A) x\n(B) y", 1), "Q\n(A) y\n(B) x");
  EXPECT_EQ(RotateOptions("no options here", 1), "");
}

TEST(Outcomes, PermutationSignalsFollowTheOptionTexts) {
  // Two options. As asked, the model says A (0.8); rotated (A shows B's text), it says B (0.7), i.e. it points at
  // the same text again: the answer's text has mean share (0.8 + 0.7) / 2, and both rotations agree.
  auto sig = PermutationSignals({{0.8, 0.2}, {0.3, 0.7}}, "AB", "A");
  EXPECT_DOUBLE_EQ(sig["perm_prob"], 0.75);
  EXPECT_DOUBLE_EQ(sig["perm_agree"], 1.0);
  EXPECT_DOUBLE_EQ(sig["perm_top"], 0.75);
  EXPECT_DOUBLE_EQ(sig["perm_same"], 1.0);
  // A model that always says A (position bias): its answer's text gets 0.8 once and 0.2 once.
  sig = PermutationSignals({{0.8, 0.2}, {0.8, 0.2}}, "AB", "A");
  EXPECT_DOUBLE_EQ(sig["perm_prob"], 0.5);
  EXPECT_DOUBLE_EQ(sig["perm_agree"], 0.5);
  // Shares are normalised over the letters; an answer without a letter is the likeliest one as asked.
  sig = PermutationSignals({{0.1, 0.3, 0.0}, {0.2, 0.2, 0.0}, {0.4, 0.0, 0.0}}, "ABC", "");
  EXPECT_NEAR(sig["perm_prob"], (0.75 + 0.5 + 0.0) / 3, 1e-12);  // B's text: letter B, then A, then C
  EXPECT_TRUE(PermutationSignals({{0.5, 0.5}}, "AB", "A").empty());  // one row per rotation is required
}

TEST(Outcomes, AnswersAreExtractedByKind) {
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kLetter, "B", "ABCD"), "B");
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kLetter, "A good guess: the answer is C.", "ABCD"), "C");
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kLetter, "**D) south**", "ABCD"), "D");
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kLetter, "I don't know", "AB"), "");
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kNumber, "So 3 + 4 = 7.\n#### 1,234.50"), "1234.5");
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kNumber, "We get 12 apples, then 18. The answer is 18."), "18");
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kNumber, "first 5, then -3"), "-3");
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kNumber, "no digits"), "");
  EXPECT_EQ(eval::ExtractAnswer(AnswerKind::kText, "  The Eiffel  Tower! "), "eiffel tower");
}

TEST(Outcomes, RecordsAreOneJsonLine) {
  eval::OutcomeRecord r;
  r.slm.assign(1, 'm');
  r.prompt = "q\n\"x\"";
  r.weak = true;
  r.strong = 1;
  r.gold.assign(1, 'A');
  r.answer.assign(1, 'A');
  r.signals["first_prob"] = 0.5;
  const std::string j = eval::OutcomeJson(r);
  EXPECT_EQ(j.find('\n'), std::string::npos);
  EXPECT_NE(j.find("\"weak\":true"), std::string::npos);
  EXPECT_NE(j.find("\"signals\":{\"first_prob\":0.5}"), std::string::npos);
}

TEST(EvalMetrics, AurocCountsTiesHalfAndNeedsBothClasses) {
  EXPECT_DOUBLE_EQ(eval::Auroc({0.1, 0.2, 0.8, 0.9}, {false, false, true, true}), 1.0);
  EXPECT_DOUBLE_EQ(eval::Auroc({0.9, 0.8, 0.2, 0.1}, {false, false, true, true}), 0.0);
  EXPECT_DOUBLE_EQ(eval::Auroc({0.5, 0.5}, {false, true}), 0.5);
  EXPECT_TRUE(std::isnan(eval::Auroc({0.1, 0.2}, {true, true})));
  EXPECT_DOUBLE_EQ(eval::CalibrationError({0.05, 0.95}, {0, 1}), 0.05);
  EXPECT_DOUBLE_EQ(eval::CalibrationError({0.9, 0.9}, {0, 0}), 0.9);
}

TEST(ConfidenceRouter, LearnsCalibratedProbabilitiesAndRoundTrips) {
  // The answer is right with probability equal to its first-token probability.
  std::vector<std::vector<double>> rows;
  std::vector<double> right;
  for (int i = 0; i < 2000; ++i) {
    const double p = (i % 100 + 0.5) / 100.0;
    rows.push_back({p});
    right.push_back((i * 7919 % 100) < p * 100 ? 1 : 0);
  }
  auto r = ConfidenceRouter::Fit({"first_prob"}, rows, right, "slm-x");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_LT(r->p_right({{"first_prob", 0.1}}), r->p_right({{"first_prob", 0.9}}));
  EXPECT_NEAR(r->p_right({{"first_prob", 0.5}}), 0.5, 0.08);
  std::string path = ::testing::TempDir();
  path.append("/c.tcr");
  ASSERT_TRUE(r->Save(path).ok());
  auto back = ConfidenceRouter::Load(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->slm(), "slm-x");
  EXPECT_DOUBLE_EQ(back->p_right({{"first_prob", 0.3}}), r->p_right({{"first_prob", 0.3}}));
  // A truncated file and a foreign one are refused by name.
  std::ofstream(path) << "tandem-confidence-router 1\nslm x\nsignals first_prob\nmean 0.5\n";
  auto cut = ConfidenceRouter::Load(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("truncated"), std::string::npos);
  std::ofstream(path) << "something else\n";
  EXPECT_NE(ConfidenceRouter::Load(path).status().message().find(":1: not a confidence router"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tandem
