#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>

#include "engine/generate/json_constraint.h"
#include "gguf_builder.h"

namespace tandem::engine {
namespace {

// A model that writes garbage: every step picks a random token among those the constraint allows. If the
// constraint is right, whatever it writes parses and fits the schema.
struct RandomWriter {
  std::vector<uint8_t> storage;
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<Tokenizer> tok;
  std::shared_ptr<const TokenTrie> trie;

  RandomWriter() {
    storage = tandem::testing::ByteBpeVocab({"\" :", "{ \"", "\" ,", "n u", "nu ll", "t r", "tr ue", "1 2", "\" }"});
    file = std::move(*GgufFile::Parse(storage.data(), storage.size(), "vocab"));
    tok = std::move(*Tokenizer::FromGguf(*file));
    trie = std::make_shared<TokenTrie>(*tok);
  }

  // Returns the text and whether the constraint completed on its own (false: closed at the budget).
  std::pair<std::string, bool> Write(const std::string& schema, uint64_t seed, int budget) {
    auto c = JsonConstraint::Create(*tok, trie, schema);
    EXPECT_TRUE(c.ok()) << c.status().message();
    std::mt19937_64 rng(seed);
    std::string text;
    for (int step = 0; step < budget; ++step) {
      std::vector<bool> allowed(static_cast<size_t>(tok->n_vocab()), false);
      if (!(*c)->Allowed(&allowed)) return {text, true};
      std::vector<int32_t> ids;
      for (int32_t i = 0; i < tok->n_vocab(); ++i)
        if (allowed[static_cast<size_t>(i)]) ids.push_back(i);
      EXPECT_FALSE(ids.empty()) << "dead end after " << text;
      if (ids.empty()) return {text, false};
      // Prefer structure now and then so documents finish: half the time pick among short tokens.
      const int32_t id = ids[rng() % ids.size()];
      if (tok->IsEog(id)) return {text, true};
      (*c)->Accept(id);
      text += tok->Piece(id);
      if ((*c)->Complete()) return {text, true};
    }
    return {text + (*c)->Close(), false};
  }
};

simdjson::dom::element Parse(simdjson::dom::parser& p, const std::string& text) {
  simdjson::dom::element e;
  EXPECT_EQ(p.parse(text).get(e), simdjson::SUCCESS) << text;
  return e;
}

TEST(JsonConstraintTest, AnyObjectAlwaysParses) {
  RandomWriter w;
  simdjson::dom::parser p;
  int completed = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto [text, done] = w.Write("", seed, 60);
    completed += done;
    auto e = Parse(p, text);
    EXPECT_TRUE(e.is_object()) << text;
  }
  EXPECT_GT(completed, 0);
}

TEST(JsonConstraintTest, SchemaIsFollowedEvenWhenCutShort) {
  const std::string schema = R"({"type":"object","properties":{
      "name":{"type":"string"}, "age":{"type":"integer"}, "score":{"type":"number"},
      "ok":{"type":"boolean"}, "color":{"enum":["red","green",3]}, "tags":{"type":"array","items":{"type":"string"}},
      "nested":{"type":"object","properties":{"x":{"type":"null"}},"required":["x"]}},
      "required":["name","age","score","ok","color","tags","nested"]})";
  RandomWriter w;
  simdjson::dom::parser p;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    for (int budget : {3, 25, 400}) {
      auto [text, done] = w.Write(schema, seed, budget);
      auto e = Parse(p, text);
      ASSERT_TRUE(e.is_object()) << text;
      std::string_view name;
      int64_t age;
      double score;
      bool ok;
      simdjson::dom::array tags;
      EXPECT_EQ(e["name"].get(name), simdjson::SUCCESS) << text;
      EXPECT_EQ(e["age"].get(age), simdjson::SUCCESS) << text;
      EXPECT_EQ(e["score"].get(score), simdjson::SUCCESS) << text;
      EXPECT_EQ(e["ok"].get(ok), simdjson::SUCCESS) << text;
      EXPECT_EQ(e["tags"].get(tags), simdjson::SUCCESS) << text;
      for (auto t : tags) EXPECT_TRUE(t.is_string()) << text;
      const std::string color = simdjson::minify(e["color"]);
      EXPECT_TRUE(color == "\"red\"" || color == "\"green\"" || color == "3") << text;
      EXPECT_TRUE(e["nested"]["x"].is_null()) << text;
    }
  }
}

TEST(JsonConstraintTest, MaxItemsCapsAnArray) {
  // A small model offered tools may repeat one call forever: maxItems bounds how many it can write.
  RandomWriter w;
  simdjson::dom::parser p;
  size_t longest = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    for (const auto& [schema, cap] : {std::pair<std::string, size_t>{R"({"type":"array","items":{"type":"integer"},"maxItems":2})", 2},
                                      {R"({"type":"array","maxItems":0})", 0}}) {
      auto [text, done] = w.Write(schema, seed, 200);
      simdjson::dom::array items;
      ASSERT_EQ(Parse(p, text).get(items), simdjson::SUCCESS) << text;
      EXPECT_LE(items.size(), cap) << text;
      if (cap == 2) longest = std::max(longest, items.size());
    }
  }
  EXPECT_EQ(longest, 2u);  // the cap is reached, not undercut
}

TEST(JsonConstraintTest, TaggedUnionPicksTheArgumentsSchemaByName) {
  // Tool calls: the name decides which arguments schema follows.
  const std::string schema = R"({"type":"array","items":{"anyOf":[
      {"type":"object","properties":{"name":{"const":"weather"},
        "arguments":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},
                     "required":["city","days"]}},"required":["name","arguments"]},
      {"type":"object","properties":{"name":{"const":"time"},
        "arguments":{"type":"object","properties":{"zone":{"enum":["utc","cet"]}},"required":["zone"]}},
       "required":["name","arguments"]}]}})";
  RandomWriter w;
  simdjson::dom::parser p;
  int weather = 0, time = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    for (int budget : {4, 30, 300}) {
      auto [text, done] = w.Write(schema, seed, budget);
      auto e = Parse(p, text);
      ASSERT_TRUE(e.is_array()) << text;
      for (auto call : e.get_array()) {
        std::string_view name;
        ASSERT_EQ(call["name"].get(name), simdjson::SUCCESS) << text;
        simdjson::dom::object args;
        ASSERT_EQ(call["arguments"].get(args), simdjson::SUCCESS) << text;
        if (name == "weather") {
          ++weather;
          std::string_view city;
          int64_t days;
          EXPECT_EQ(args["city"].get(city), simdjson::SUCCESS) << text;
          EXPECT_EQ(args["days"].get(days), simdjson::SUCCESS) << text;
          EXPECT_EQ(args.size(), 2u) << text;
        } else {
          ASSERT_EQ(name, "time") << text;
          ++time;
          std::string_view zone;
          EXPECT_EQ(args["zone"].get(zone), simdjson::SUCCESS) << text;
          EXPECT_TRUE(zone == "utc" || zone == "cet") << text;
          EXPECT_EQ(args.size(), 1u) << text;
        }
      }
    }
  }
  EXPECT_GT(weather, 20);
  EXPECT_GT(time, 20);
  auto bad = JsonConstraint::Create(*w.tok, w.trie, R"({"anyOf":[{"type":"string"},{"type":"integer"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tagged union"), std::string::npos);
}

TEST(JsonConstraintTest, RejectsBadSchemas) {
  RandomWriter w;
  EXPECT_FALSE(JsonConstraint::Create(*w.tok, w.trie, "{not json").ok());
  auto c = JsonConstraint::Create(*w.tok, w.trie, R"({"type":"tuple"})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'tuple'"), std::string::npos);
}

}  // namespace
}  // namespace tandem::engine
