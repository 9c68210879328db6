#include "route/rules_policy.h"

#include <gtest/gtest.h>

#include <random>

#include "route/features.h"
#include "route/keyword_set.h"
#include "simd_levels.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tandem {
namespace {

const char* kConfig = R"(models:
  - name: small
    base_url: http://127.0.0.1:1/v1
    tier: slm
  - name: big
    base_url: http://127.0.0.1:2/v1
    tier: llm
    locality: cloud
routing:
  privacy: local_only
  aliases: {smart: llm, router: auto}
  rules:
    - name: code
      if: {task: [code, math]}
      then: llm
    - name: long
      if: {min_tokens: 500}
      then: llm
    - name: tools
      if: {tools: true}
      then: big
    - name: legal
      if: {regex: "(?i)\\bcontract\\b"}
      then: llm
    - name: deep
      if: {keywords: ["step by step"], min_turns: 2}
      then: llm
)";

struct Fixture {
  Config config;
  std::unique_ptr<RulesPolicy> policy;
  PiiDetector pii{AllPiiKinds()};
  Fixture() {
    auto c = ParseConfig(kConfig, "t.yaml", [](const char*) -> const char* { return nullptr; });
    EXPECT_TRUE(c.ok()) << c.status().message();
    config = c.value();
    auto p = RulesPolicy::Build(config);
    EXPECT_TRUE(p.ok()) << p.status().message();
    policy = std::move(p.value());
  }
  Decision route(const std::string& body, const std::string& header = "") {
    auto r = ParseChatRequest(body);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return policy->decide(r.value(), ComputeFeatures(r.value(), pii, header));
  }
  Decision ask(const std::string& prompt, const std::string& model = "auto", const std::string& header = "") {
    std::string body;
    JsonWriterHelper(body, model, prompt);
    return route(body, header);
  }
  static void JsonWriterHelper(std::string& out, const std::string& model, const std::string& prompt) {
    out = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}";
  }
};

TEST(RulesPolicy, DefaultGoesToTheSlm) {
  Fixture f;
  Decision d = f.ask("hello, how are you?");
  EXPECT_EQ(d.model, "small");
  EXPECT_FALSE(d.local_only);
  EXPECT_NE(d.reasons_joined().find("default"), std::string::npos);
}

TEST(RulesPolicy, RulesMatchInOrderAndExplainThemselves) {
  Fixture f;
  Decision d = f.ask("write a python function that parses json and fix this bug");
  EXPECT_EQ(d.model, "big");
  EXPECT_EQ(d.rule, "code");
  EXPECT_NE(d.reasons_joined().find("task=code"), std::string::npos);

  d = f.ask(std::string(3000, 'x'));
  EXPECT_EQ(d.rule, "long");

  d = f.ask("please review this Contract for me");
  EXPECT_EQ(d.rule, "legal");
}

TEST(RulesPolicy, AllConditionsOfARuleMustHold) {
  Fixture f;
  EXPECT_NE(f.ask("explain step by step").rule, "deep");  // one turn only
  Decision d = f.route(R"({"model":"auto","messages":[{"role":"user","content":"hi"},
      {"role":"assistant","content":"hello"},{"role":"user","content":"now explain step by step"}]})");
  EXPECT_EQ(d.rule, "deep");
}

TEST(RulesPolicy, ToolsRule) {
  Fixture f;
  Decision d = f.route(R"({"model":"auto","messages":[{"role":"user","content":"weather?"}],
      "tools":[{"type":"function","function":{"name":"w"}}]})");
  EXPECT_EQ(d.rule, "tools");
  d = f.route(R"({"model":"auto","messages":[{"role":"user","content":"weather?"}],"tool_choice":"none",
      "tools":[{"type":"function","function":{"name":"w"}}]})");
  EXPECT_NE(d.rule, "tools");
}

TEST(RulesPolicy, HeaderAndAliasesAndDirectModels) {
  Fixture f;
  EXPECT_EQ(f.ask("hello", "auto", "llm").model, "big");
  EXPECT_EQ(f.ask("write python code", "auto", "slm").model, "small");
  EXPECT_EQ(f.ask("hello", "smart").model, "big");
  EXPECT_EQ(f.ask("write python code", "router").model, "big");  // alias to auto: routed
  EXPECT_EQ(f.ask("write python code", "small").model, "small");
}

TEST(RulesPolicy, PersonalDataStaysLocalWhateverElseSaysSo) {
  Fixture f;
  const std::string pii = "write python code to email jane@example.com";
  for (const auto& [model, header] : std::vector<std::pair<std::string, std::string>>{
           {"auto", ""}, {"auto", "llm"}, {"smart", ""}, {"big", ""}}) {
    Decision d = f.ask(pii, model, header);
    EXPECT_EQ(d.model, "small") << model << " " << header;
    EXPECT_TRUE(d.local_only);
    EXPECT_NE(d.reasons_joined().find("privacy"), std::string::npos);
  }
  Decision d = f.ask("card 4111 1111 1111 1111 please summarize");
  EXPECT_TRUE(d.local_only);
  EXPECT_EQ(d.model, "small");
}

// Personal data outside the messages' text still reaches the upstream, so it keeps the request local too: in an
// earlier tool call's arguments, the `user` field, metadata (key or value), a tool's description, a message's
// name or an assistant's refusal. The same request without it may go to the cloud.
TEST(RulesPolicy, PersonalDataAnywhereInTheRequestStaysLocal) {
  Fixture f;
  const std::string head = R"({"model":"big","messages":[{"role":"user","content":"write python code to sort)";
  const std::string places[] = {
      R"("},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":)"
      R"({"name":"send","arguments":"{\"to\":\"jane@example.com\"}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":"sent"}]})",
      R"("},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":)"
      R"({"name":"send","arguments":"{\"to\":\"jane\\u0040example.com\"}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":"sent"}]})",
      R"("}],"user":"jane@example.com"})",
      R"("}],"metadata":{"customer":"card 4111 1111 1111 1111"}})",
      R"("}],"metadata":{"jane@example.com":"vip"}})",
      R"("}],"tools":[{"type":"function","function":{"name":"f","description":"mail jane@example.com"}}]})",
      R"(","name":"jane@example.com"}]})",
      R"("},{"role":"assistant","content":[{"type":"refusal","refusal":"I won't mail jane@example.com"}]}]})",
  };
  for (const std::string& tail : places) {
    Decision d = f.route(head + tail);
    EXPECT_TRUE(d.local_only) << tail;
    EXPECT_EQ(d.model, "small") << tail;
  }
  Decision clean = f.route(head + R"("}],"user":"u-123","metadata":{"customer":"acme"}})");
  EXPECT_FALSE(clean.local_only);
  EXPECT_EQ(clean.model, "big");
}

// An image, audio or file part is content no text scan can read: with the "media" kind enabled (it is by
// default), privacy local_only keeps such a request local, whatever it asks for; without that kind it may leave.
TEST(RulesPolicy, MediaNoTextScanCanReadStaysLocal) {
  Fixture f;
  const std::string head = R"({"model":"big","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},)";
  const std::string parts[] = {
      R"({"type":"image_url","image_url":{"url":"https://example.org/scan.png"}}]}]})",
      R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]})",
      R"({"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]})",
      R"({"type":"file","file":{"file_data":"JVBERi0=","filename":"passport.pdf"}}]}]})",
  };
  PiiDetector text_only({"email", "card"});
  for (const std::string& tail : parts) {
    auto r = ParseChatRequest(head + tail);
    ASSERT_TRUE(r.ok()) << r.status().message();
    Features feats = ComputeFeatures(r.value(), f.pii, "");
    EXPECT_TRUE(feats.media) << tail;
    Decision d = f.policy->decide(r.value(), feats);
    EXPECT_TRUE(d.local_only) << tail;
    EXPECT_EQ(d.model, "small") << tail;
    EXPECT_NE(d.reasons_joined().find("personal data (media)"), std::string::npos) << d.reasons_joined();
    Decision off = f.policy->decide(r.value(), ComputeFeatures(r.value(), text_only, ""));
    EXPECT_FALSE(off.local_only) << tail;
    EXPECT_EQ(off.model, "big") << tail;
  }
  Decision text = f.route(head + R"({"type":"text","text":"and this?"}]}]})");
  EXPECT_FALSE(text.local_only);
  EXPECT_EQ(text.model, "big");
}

// The in-process engine reads text only: a routed request with media goes to the LLM tier unless a rule (which
// may test `media:`) sends it elsewhere first.
TEST(RulesPolicy, MediaIsRoutedWhereItCanBeRead) {
  const std::string gguf = testing::TempDir() + "/media-test.gguf";
  std::ofstream(gguf) << "x";
  const std::string yaml = "models:\n  - {name: small, provider: local, gguf: " + gguf +
                           ", tier: slm}\n"
                           "  - {name: big, base_url: 'http://127.0.0.1:2/v1', tier: llm, locality: cloud}\n"
                           "  - {name: vision, base_url: 'http://127.0.0.1:3/v1', tier: slm}\n"
                           "routing:\n  rules:\n"
                           "    - {name: scans, if: {media: true, keywords: [scan]}, then: vision}\n"
                           "    - {name: short, if: {max_tokens: 100, media: false}, then: slm}\n";
  auto c = ParseConfig(yaml, "m.yaml", [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto p = RulesPolicy::Build(c.value());
  ASSERT_TRUE(p.ok()) << p.status().message();
  PiiDetector pii(AllPiiKinds());
  auto decide = [&](const std::string& text) {
    auto r = ParseChatRequest(R"({"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":")" +
                              text + R"("},{"type":"image_url","image_url":{"url":"https://example.org/a.png"}}]}]})");
    EXPECT_TRUE(r.ok());
    return (*p)->decide(r.value(), ComputeFeatures(r.value(), pii, ""));
  };
  Decision d = decide("what is in the picture?");
  EXPECT_EQ(d.model, "big");
  EXPECT_EQ(d.rule, "media");
  EXPECT_NE(d.reasons_joined().find("small reads text only"), std::string::npos) << d.reasons_joined();
  Decision scan = decide("read this scan");
  EXPECT_EQ(scan.model, "vision");
  EXPECT_EQ(scan.rule, "scans");
  auto plain = ParseChatRequest(R"({"model":"auto","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(plain.ok());
  Decision text = (*p)->decide(plain.value(), ComputeFeatures(plain.value(), pii, ""));
  EXPECT_EQ(text.model, "small");
  EXPECT_EQ(text.rule, "short");
}

TEST(RulesPolicy, BadRegexIsReportedWithItsLine) {
  auto c = ParseConfig(
      "models:\n  - name: a\n    base_url: http://x\n    tier: slm\nrouting:\n  rules:\n    - if: {regex: "
      "\"(unclosed\"}\n"
      "      then: slm\n",
      "r.yaml", [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto p = RulesPolicy::Build(c.value());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().rfind("r.yaml:7:", 0), 0u) << p.status().message();
}

TEST(RulesPolicy, LearnedRouterDecidesWhenNoRuleMatches) {
  std::vector<std::string> prompts;
  std::vector<double> labels;
  for (int i = 0; i < 60; ++i) {
    prompts.push_back("explain the renormalization group flow of a gauge theory " + std::to_string(i));
    labels.push_back(1);
    prompts.push_back("tell me a short joke about a friendly dog " + std::to_string(i));
    labels.push_back(0);
  }
  TrainOptions opt;
  opt.bits = 12;
  auto dir = std::filesystem::temp_directory_path() / ("tandem-learned-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(LearnedRouter::Train(prompts, labels, opt).Save((dir / "r.tlr").string()).ok());
  std::string yaml = std::string(kConfig) + "  learned: {model: r.tlr, threshold: 0.5}\n";
  auto c = ParseConfig(yaml, (dir / "t.yaml").string(), [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto p = RulesPolicy::Build(c.value());
  ASSERT_TRUE(p.ok()) << p.status().message();
  PiiDetector pii(AllPiiKinds());
  auto decide = [&](const std::string& text) {
    auto r = ParseChatRequest("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text +
                              "\"}]}");
    return p.value()->decide(r.value(), ComputeFeatures(r.value(), pii, ""));
  };
  Decision hard = decide("explain the renormalization group flow of a gauge theory");
  EXPECT_EQ(hard.model, "big");
  EXPECT_EQ(hard.rule, "learned");
  EXPECT_GT(hard.score, 0.5);
  EXPECT_NE(hard.reasons_joined().find("learned router: score"), std::string::npos);
  Decision easy = decide("tell me a short joke about a friendly dog");
  EXPECT_EQ(easy.model, "small");
  EXPECT_LT(easy.score, 0.5);
  EXPECT_EQ(decide("write python code for a gauge theory").rule, "code");  // rules still come first

  std::ofstream(dir / "r.tlr") << "garbage";
  auto broken = RulesPolicy::Build(c.value());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("routing.learned.model"), std::string::npos);
  auto missing = ParseConfig(std::string(kConfig) + "  learned: {model: nope.tlr}\n",
                             (dir / "t.yaml").string(), [](const char*) -> const char* { return nullptr; });
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no such file"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Features, TaskTypes) {
  EXPECT_EQ(ClassifyTask("Write a Python function to reverse a list"), "code");
  EXPECT_EQ(ClassifyTask("Solve the equation 3x + 5 = 20 for x"), "math");
  EXPECT_EQ(ClassifyTask("Translate 'good morning' into French"), "translation");
  EXPECT_EQ(ClassifyTask("Summarize this article in three key points: ..."), "summary");
  EXPECT_EQ(ClassifyTask("Extract all the named entities from the text below as JSON"), "extraction");
  EXPECT_EQ(ClassifyTask("hi there, thanks!"), "chitchat");
  EXPECT_EQ(ClassifyTask("What were the main causes of the French Revolution and its long-term effects on "
                         "European politics and society?"),
            "general");
  // The first KiB and the last 512 bytes decide; keywords are found in any case, also inside words.
  EXPECT_EQ(ClassifyTask("Summarize this." + std::string(5000, ' ') + "Thanks."), "summary");
  EXPECT_EQ(ClassifyTask(std::string(5000, ' ') + "Now summarize it."), "summary");
  EXPECT_EQ(ClassifyTask(std::string(2000, ' ') + "Summarize" + std::string(2000, ' ')), "general");
  EXPECT_EQ(ClassifyTask("Please SUMMARIZE the following text and give the KEY POINTS"), "summary");
}

void NeedlesAreFoundWhereverASubstringSearchFindsThem();
TEST(Features, NeedlesAreFoundWhereverASubstringSearchFindsThemAtEverySimdLevel) {
  ForEachSimdLevel([](route_simd::Level) { NeedlesAreFoundWhereverASubstringSearchFindsThem(); });
}

void NeedlesAreFoundWhereverASubstringSearchFindsThem() {
  std::mt19937 rng(3);
  const auto& needles = TaskNeedles();
  const std::string filler[] = {" ", "the ", "x", "\n", "In ", "TO ", "tHe", "co", "123", "{", "=", "`"};
  int found = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int parts = static_cast<int>(rng() % 12) + 1;
    for (int i = 0; i < parts; ++i) {
      std::string piece = rng() % 2 ? needles[rng() % needles.size()] : filler[rng() % 12];
      if (rng() % 3 == 0) {
        for (char& c : piece) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      if (rng() % 4 == 0 && piece.size() > 1) piece.pop_back();  // a near miss
      text += piece;
    }
    std::string lower = text;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::vector<bool> got = TaskNeedlesIn(text);
    ASSERT_EQ(got.size(), needles.size());
    for (size_t i = 0; i < needles.size(); ++i) {
      ASSERT_EQ(got[i], lower.find(needles[i]) != std::string::npos) << "needle '" << needles[i] << "' in [" << text << "]";
      found += got[i];
    }
  }
  EXPECT_GT(found, 2000);
}

void KeywordsAreFoundInAnyCase();
TEST(Rules, KeywordsAreFoundInAnyCaseTheSameAtEverySimdLevel) {
  ForEachSimdLevel([](route_simd::Level) { KeywordsAreFoundInAnyCase(); });
}

void KeywordsAreFoundInAnyCase() {
  const KeywordSet set({"Step by step", "prove", "a", "analyze", "x", "compare and contrast", "\xc3\xa9t\xc3\xa9"});
  std::mt19937 rng(9);
  const char* pieces[] = {"STEP BY STEP", "step by ste", "Prove", "pro", "ANALYZE", "analyse", "compare and",
                          "Compare And Contrast", " ", "\n", "\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", "0123456789"};
  const KeywordSet no_short({"step by step", "prove", "analyze", "compare and contrast"});
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int parts = static_cast<int>(rng() % 30);
    for (int i = 0; i < parts; ++i) text += pieces[rng() % (sizeof pieces / sizeof *pieces)];
    for (const KeywordSet* s : {&set, &no_short}) {
      const std::string* simd = s->FirstIn(text);
      const std::string* scalar = s->FirstIn(text, /*force_scalar=*/true);
      ASSERT_EQ(simd, scalar) << "[" << text << "]";
    }
  }
  EXPECT_EQ(*no_short.FirstIn("Please ANALYZE this, then Prove it"), "prove");  // the first in the rule's order
  EXPECT_EQ(no_short.FirstIn("nothing here"), nullptr);
  EXPECT_EQ(no_short.FirstIn(""), nullptr);
}

}  // namespace
}  // namespace tandem
