#include "eval/csv.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "eval/dataset.h"
#include "eval/run_eval.h"

namespace tandem::eval {
namespace {

TEST(Csv, QuotesCommasNewlinesAndDoubledQuotes) {
  auto rows = ParseCsv("prompt,a,b\r\n\"line one\nA. \"\"x\"\", y\",True,False\nplain,1,0");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ(rows->at(1)[0], "line one\nA. \"x\", y");
  EXPECT_EQ(rows->at(1)[1], "True");
  EXPECT_EQ(rows->at(2)[2], "0");
  auto bad = ParseCsv("a,b\n\"never closed,1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
}

std::filesystem::path TempDir() {
  auto d = std::filesystem::temp_directory_path() / ("tandem-eval-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

TEST(Dataset, RouteLlmDirectoryDropsContaminatedPrompts) {
  auto dir = TempDir() / "mmlu";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "mmlu_a.csv")
      << "prompt,weak-m,strong-m\n\"q1, with comma\",True,True\nq2,False,True\n";
  std::ofstream(dir / "mmlu_b.csv") << "prompt,weak-m,strong-m\nq3,False,False\nleaked,True,True\n";
  std::ofstream(dir / "contaminated_prompts.jsonl")
      << "{\"eval_prompt\": \"leaked\", \"train_prompt\": \"x\"}\n";
  auto d = LoadRouteLlm(dir.string());
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->prompts.size(), 3u);
  EXPECT_EQ(d->weak_model, "weak-m");
  EXPECT_NEAR(d->weak_accuracy(), 100.0 / 3, 1e-9);
  EXPECT_NEAR(d->strong_accuracy(), 200.0 / 3, 1e-9);
  // Each prompt's domain is its file's subject (training metadata), and a split keeps it beside its prompt.
  EXPECT_EQ(d->domains, (std::vector<std::string>{"a", "a", "b"}));
  auto [train, held_out] = Split(d.value(), 0.5, 3);
  ASSERT_EQ(train.domains.size(), train.prompts.size());
  ASSERT_EQ(held_out.domains.size(), held_out.prompts.size());
  for (const auto* part : {&train, &held_out}) {
    for (size_t i = 0; i < part->prompts.size(); ++i) {
      EXPECT_EQ(part->domains[i], part->prompts[i] == "q3" ? "b" : "a") << part->prompts[i];
    }
  }
  // A file written with pandas' index column reads the same; one with other models is refused by name.
  std::ofstream(dir / "mmlu_bb.csv") << ",prompt,weak-m,strong-m\n0,q5,True,False\n1,q6,False,True\n";
  auto indexed = LoadRouteLlm(dir.string());
  ASSERT_TRUE(indexed.ok()) << indexed.status().message();
  EXPECT_EQ(indexed->prompts.size(), 5u);
  EXPECT_EQ(indexed->prompts.back(), "q6");
  EXPECT_EQ(indexed->weak.back(), 0.0);
  EXPECT_EQ(indexed->domains.back(), "bb");
  std::ofstream(dir / "mmlu_bc.csv") << "prompt,other-m,strong-m\nq7,True,True\n";
  auto other = LoadRouteLlm(dir.string());
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("mmlu_bc.csv: its models differ"), std::string::npos);
  std::filesystem::remove(dir / "mmlu_bc.csv");
  std::ofstream(dir / "mmlu_c.csv") << "prompt,weak-m,strong-m\nq4,maybe,True\n";
  auto bad = LoadRouteLlm(dir.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("mmlu_c.csv row 2"), std::string::npos) << bad.status().message();
}

// Which two columns a CSV is read with: the named ones, the RouterBench default pair where the file has it, or a
// two-model file's columns with the less accurate one as the weak model; anything else asks, listing the models.
TEST(Dataset, CsvModelsAreNamedOrPickedAndAMissingOneIsListed) {
  const auto dir = TempDir();
  const std::string pair = (dir / "pair.csv").string(), bench = (dir / "bench.csv").string();
  // An index column, a RouteLLM-style pair written strong first, and a text column that is not a model.
  std::ofstream(pair) << ",prompt,big-m,small-m,note\n0,q1,True,False,x\n1,q2,True,True,y\n2,q3,False,False,z\n";
  auto d = LoadRouterBench(pair, "", "");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->weak_model, "small-m");
  EXPECT_EQ(d->strong_model, "big-m");
  EXPECT_EQ(d->weak, (std::vector<double>{0, 1, 0}));
  auto one = LoadRouterBench(pair, "", "small-m");  // one named: the file's other model takes the other role
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->weak_model, "big-m");
  auto typo = LoadRouterBench(pair, "smal-m", "big-m");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().message(), pair + ": no column for weak model 'smal-m'; its model columns: big-m, small-m");

  std::ofstream(bench) << "sample_id,prompt,a-m,mistralai/mistral-7b-chat,gpt-4-1106-preview,a-m|total_cost,"
                          "a-m|model_response\nid.0,q1,1,0,1,0.001,text\nid.1,q2,0,,1,0.002,text\n";
  auto b = LoadRouterBench(bench, "", "");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->weak_model, "mistralai/mistral-7b-chat");
  EXPECT_EQ(b->prompts.size(), 1u);
  EXPECT_EQ(b->skipped, 1u);
  auto three = LoadRouterBench(bench, "", "a-m");  // three models: the weak one defaults to the pair's
  ASSERT_TRUE(three.ok()) << three.status().message();
  EXPECT_EQ(three->weak_model, "mistralai/mistral-7b-chat");
  std::ofstream(bench) << "prompt,a-m,b-m,c-m\nq1,1,0,1\n";
  auto ask = LoadRouterBench(bench, "", "");
  ASSERT_FALSE(ask.ok());
  EXPECT_NE(ask.status().message().find("Name them with --weak and --strong; its model columns: a-m, b-m, c-m"),
            std::string::npos)
      << ask.status().message();
}

TEST(Dataset, JsonlWithScoresRunsThroughEval) {
  auto file = TempDir() / "outcomes.jsonl";
  {
    std::ofstream out(file);
    for (int i = 0; i < 40; ++i) {
      bool weak = i % 3 != 0, strong = i % 5 != 0;
      out << "{\"prompt\": \"p" << i << "\", \"weak\": " << (weak ? "true" : "false")
          << ", \"strong\": " << (strong ? "true" : "false")
          << ", \"score\": " << (weak ? 0.1 : 0.9) + i * 0.001 << "}\n";
    }
  }
  auto d = LoadJsonl(file.string());
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->scores.size(), 40u);
  EvalOptions opt;
  opt.routers = {"scores", "random"};
  auto r = RunEval(d.value(), opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);                                 // scores, random, oracle
  EXPECT_GT(r->at(0).metrics.apgr, r->at(1).metrics.apgr);  // a score that knows the weak model's misses wins
  EXPECT_EQ(r->at(2).name, "oracle");
  std::string text = FormatEval(d.value(), r.value());
  EXPECT_NE(text.find("APGR"), std::string::npos);
  EXPECT_TRUE(d->domains.empty());  // no line named one

  std::ofstream(file) << "{\"prompt\": \"a\", \"weak\": 1, \"strong\": 1, \"domain\": \"law\"}\n"
                      << "{\"prompt\": \"b\", \"weak\": 0, \"strong\": 1, \"domain\": \"math\"}\n";
  auto with_domains = LoadJsonl(file.string());
  ASSERT_TRUE(with_domains.ok()) << with_domains.status().message();
  EXPECT_EQ(with_domains->domains, (std::vector<std::string>{"law", "math"}));
  std::ofstream(file) << "{\"prompt\": \"a\", \"weak\": 1, \"strong\": 1, \"domain\": \"law\"}\n"
                      << "{\"prompt\": \"b\", \"weak\": 0, \"strong\": 1}\n";
  auto partly = LoadJsonl(file.string());
  ASSERT_TRUE(partly.ok());
  EXPECT_TRUE(partly->domains.empty());  // all or none: a half-labelled file pools nothing

  std::ofstream(file) << "{\"prompt\": \"x\"}\n";
  auto bad = LoadJsonl(file.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(":1: 'weak' is required"), std::string::npos)
      << bad.status().message();

  std::ofstream(file) << "{\"prompt\": \"x\", \"weak\": 1, \"strong\": 0}\n\n{\"prompt\": \"y\", \"weak\": tru}\n[1]\n";
  auto broken = LoadJsonl(file.string());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find(":3: malformed JSON ("), std::string::npos) << broken.status().message();
}

TEST(Jsonl, SavedDatasetReadsBackTheSame) {
  Dataset d;
  d.prompts = {"plain", "quote \" and\nnewline", "caf\xC3\xA9 \xF0\x9F\x99\x82"};
  d.weak = {1, 0, 0.25};
  d.strong = {1, 1, 0.75};
  d.weak_cost = {0.001, 0.002, 0.003};
  d.strong_cost = {0.01, 0.02, 0.03};
  d.domains = {"law", "math", "law"};
  const auto file = TempDir() / "saved_outcomes.jsonl";
  ASSERT_TRUE(SaveJsonl(d, file.string(), {0.9, 0.1, 0.5}).ok());
  auto back = LoadJsonl(file.string());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->prompts, d.prompts);
  EXPECT_EQ(back->weak, d.weak);
  EXPECT_EQ(back->strong, d.strong);
  EXPECT_EQ(back->weak_cost, d.weak_cost);
  EXPECT_EQ(back->strong_cost, d.strong_cost);
  EXPECT_EQ(back->domains, d.domains);
  EXPECT_EQ(back->scores, (std::vector<double>{0.9, 0.1, 0.5}));
  // A score count that does not match is refused, and an unwritable path says so.
  EXPECT_FALSE(SaveJsonl(d, file.string(), {0.5}).ok());
  Status st = SaveJsonl(d, "/nonexistent-dir/x.jsonl");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot write"), std::string::npos) << st.message();
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace tandem::eval
