#include "agency/bfcl.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>

#include "core/json_writer.h"

namespace tandem::agency {
namespace {

const std::string kData = std::string(TANDEM_SOURCE_DIR) + "/../shared/data/agency/bfcl";
const std::vector<std::string> kCategories = {"simple_python", "multiple", "parallel", "parallel_multiple",
                                              "irrelevance"};

std::string Sanitized(std::string_view name) {
  std::string s(name);
  for (char& c : s)
    if (c == '.') c = '_';
  return s;
}

// A value in BFCL's answer format as a model would write it: a dict lists allowed values per key.
void Materialize(JsonWriter& w, simdjson::dom::element v) {
  if (v.is_object()) {
    w.begin_object();
    for (auto f : v.get_object()) {
      if (!f.value.is_array()) continue;
      for (simdjson::dom::element option : f.value.get_array()) {
        if (option.is_string() && option.get_string().value().empty()) continue;
        w.key(f.key);
        Materialize(w, option);
        break;
      }
    }
    w.end_object();
  } else if (v.is_array()) {
    w.begin_array();
    for (simdjson::dom::element e : v.get_array()) Materialize(w, e);
    w.end_array();
  } else {
    w.raw(simdjson::minify(v));
  }
}

// The calls a model that knows the answer would make: the first allowed value of every required parameter.
// `wrong` spoils one value (or the function name when there is no value to spoil).
std::vector<ModelCall> Answer(const BfclCase& c, bool wrong) {
  std::vector<ModelCall> calls;
  if (c.ground_truth.empty()) {
    if (wrong) calls.push_back({"some_function", "{}"});
    return calls;
  }
  simdjson::dom::parser parser, fparser;
  simdjson::dom::element truth = parser.parse(c.ground_truth).value();
  std::vector<std::string> required;  // "function/param"
  for (simdjson::dom::element f : fparser.parse(c.functions).get_array()) {
    simdjson::dom::array req;
    if (f["parameters"]["required"].get(req)) continue;
    for (simdjson::dom::element r : req)
      required.push_back(std::string(f["name"].get_string().value()) + "/" + std::string(r.get_string().value()));
  }
  bool spoiled = false;
  for (simdjson::dom::element entry : truth.get_array()) {
    for (auto fn : entry.get_object()) {
      std::string args;
      JsonWriter w(args);
      w.begin_object();
      for (auto p : fn.value.get_object()) {
        bool optional = false;  // left out when it may be (the answer may name parameters the function lacks)
        for (simdjson::dom::element option : p.value.get_array())
          optional = optional || (option.is_string() && option.get_string().value().empty());
        const std::string key = std::string(fn.key) + "/" + std::string(p.key);
        if (optional && std::find(required.begin(), required.end(), key) == required.end()) continue;
        for (simdjson::dom::element option : p.value.get_array()) {
          w.key(p.key);
          if (wrong && !spoiled) {
            spoiled = true;
            if (option.is_string()) w.value(std::string(option.get_string().value()) + " nope");
            else if (option.is_bool()) w.value(!option.get_bool().value());
            else if (option.is_int64()) w.value(option.get_int64().value() + 7);
            else if (option.is_double()) w.value(option.get_double().value() + 7.5);
            else w.value("nope");
          } else {
            Materialize(w, option);
          }
          break;
        }
      }
      w.end_object();
      std::string name = Sanitized(fn.key);
      if (wrong && !spoiled) {
        spoiled = true;
        name += "_v2";
      }
      calls.push_back({name, args});
    }
  }
  return calls;
}

TEST(Bfcl, ScoresAPerfectModelAt100AndAWrongOneAt0) {
  if (!std::filesystem::exists(kData)) GTEST_SKIP() << "../shared/data is not beside the checkout";
  auto cases = LoadBfcl(kData, kCategories);
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  ASSERT_EQ(cases->size(), 1240u);
  size_t right = 0, wrong_right = 0;
  for (const auto& c : *cases) {
    CheckResult good = CheckCalls(c, Answer(c, false));
    right += good.correct;
    EXPECT_TRUE(good.correct) << c.id << ": " << good.why;
    CheckResult bad = CheckCalls(c, Answer(c, true));
    wrong_right += bad.correct;
    EXPECT_FALSE(bad.correct) << c.id;
  }
  EXPECT_EQ(right, cases->size());
  EXPECT_EQ(wrong_right, 0u);
}

TEST(Bfcl, AstRules) {
  BfclCase c;
  c.functions = R"([{"name":"math.hypot","parameters":{"type":"dict","properties":{"x":{"type":"integer"},)"
                R"("y":{"type":"integer"},"z":{"type":"float"},"unit":{"type":"string"}},"required":["x","y"]}}])";
  c.ground_truth = R"([{"math.hypot":{"x":[4],"y":[5],"z":["",0.0],"unit":["Meters","m"]}}])";
  auto check = [&](std::string args) { return CheckCalls(c, {{"math_hypot", std::move(args)}}); };
  EXPECT_TRUE(check(R"({"x":4,"y":5,"unit":"meters"})").correct);      // case and spacing do not matter
  EXPECT_TRUE(check(R"({"x":4,"y":5,"z":0,"unit":"m"})").correct);     // an integer for a float
  EXPECT_EQ(check(R"({"x":4,"y":5})").why, "missing parameter 'unit' for math.hypot");
  EXPECT_EQ(check(R"({"x":4.0,"y":5,"unit":"m"})").why, "wrong value for 'x' of math.hypot: 4.0");
  EXPECT_EQ(check(R"({"x":4,"y":5,"unit":"m","w":1})").why, "unexpected parameter 'w' for math.hypot");
  EXPECT_EQ(CheckCalls(c, {}).why, "expected 1 call(s), got 0");
  EXPECT_EQ(CheckCalls(c, {{"hypot", "{}"}}).why, "called hypot instead of math.hypot");
  // Tools carry sanitized names and JSON Schema types.
  const std::string tools = BfclTools(c);
  EXPECT_NE(tools.find(R"("name":"math_hypot")"), std::string::npos) << tools;
  EXPECT_NE(tools.find(R"("type":"object")"), std::string::npos) << tools;
  EXPECT_NE(tools.find(R"("z":{"type":"number"})"), std::string::npos) << tools;
}

TEST(Bfcl, ParsesCallsWrittenAsText) {
  bool ok = false;
  auto py = ParseTextCalls(R"([get_weather(city="Oslo", days=3), f(x=[1, 2.5], flag=True, opt=None)])", &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(py.size(), 2u);
  EXPECT_EQ(py[0].name, "get_weather");
  EXPECT_EQ(py[0].arguments, R"({"city":"Oslo","days":3})");
  EXPECT_EQ(py[1].arguments, R"({"x":[1,2.5],"flag":true,"opt":null})");
  auto js = ParseTextCalls("```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n```", &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(js[0].arguments, R"({"city":"Oslo"})");
  auto list = ParseTextCalls(R"({"tool_calls":[{"name":"a","arguments":"{\"k\":1}"},{"name":"b","arguments":{}}]})", &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(list[0].arguments, R"({"k":1})");
  EXPECT_EQ(list.size(), 2u);
  ParseTextCalls("The weather in Oslo is sunny.", &ok);
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace tandem::agency
