#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "agency/builtin_tools.h"
#include "agency/json_schema.h"
#include "core/clock.h"

namespace tandem::agency {
namespace {

const char* kSchema = R"({"type":"dict","properties":{
  "city":{"type":"string","minLength":2},
  "days":{"type":"integer","minimum":1,"maximum":14},
  "unit":{"type":"string","enum":["c","f"]},
  "tags":{"type":"array","items":{"type":"string"},"maxItems":2},
  "ratio":{"type":"float"}},
  "required":["city","days"],"additionalProperties":false})";

TEST(JsonSchema, AcceptsAValidCallAndNamesEveryViolation) {
  EXPECT_TRUE(ValidateJson(kSchema, R"({"city":"Oslo","days":3,"unit":"c","tags":["a"],"ratio":0.5})").empty());
  EXPECT_TRUE(ValidateJson(kSchema, R"({"city":"Oslo","days":3.0})").empty());  // 3.0 is an integer
  auto e = ValidateJson(kSchema, R"({"city":"O","days":"3","unit":"k","tags":["a",1,"c"],"extra":true})");
  std::string all;
  for (const auto& x : e) all += x + "\n";
  EXPECT_NE(all.find("$.city: must be at least 2 characters long"), std::string::npos) << all;
  EXPECT_NE(all.find("$.days: expected an integer, got a string"), std::string::npos) << all;
  EXPECT_NE(all.find("$.unit: must be one of [\"c\",\"f\"]"), std::string::npos) << all;
  EXPECT_NE(all.find("$.tags: must have at most 2 items"), std::string::npos) << all;
  EXPECT_NE(all.find("$.tags[1]: expected a string, got an integer"), std::string::npos) << all;
  EXPECT_NE(all.find("$: unexpected property 'extra'"), std::string::npos) << all;
  auto missing = ValidateJson(kSchema, R"({"days":20})");
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(missing[0], "$: missing required property 'city'");
  EXPECT_EQ(missing[1], "$.days: must be <= 14");
  EXPECT_EQ(ValidateJson(kSchema, "{not json").front().rfind("$: not valid JSON", 0), 0u);
  EXPECT_TRUE(CheckJson(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", "7").ok());
  EXPECT_FALSE(CheckJson(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", "true").ok());
  EXPECT_FALSE(CheckJson(R"({"type":"string","pattern":"^[A-Z]{3}$"})", R"("usd")").ok());
}

TEST(Calculator, EvaluatesArithmeticAndRefusesTheRest) {
  EXPECT_DOUBLE_EQ(*EvaluateExpression("1 + 2 * 3"), 7);
  EXPECT_DOUBLE_EQ(*EvaluateExpression("(1 + 2) * 3"), 9);
  EXPECT_DOUBLE_EQ(*EvaluateExpression("-2 ^ 2"), -4);  // unary minus binds looser than ^
  EXPECT_DOUBLE_EQ(*EvaluateExpression("2 ^ 3 ^ 2"), 512);
  EXPECT_DOUBLE_EQ(*EvaluateExpression("sqrt(16) + max(1, 5, 3) - 10 % 4"), 7);
  EXPECT_NEAR(*EvaluateExpression("sin(pi / 2) + ln(e)"), 2, 1e-12);
  EXPECT_EQ(EvaluateExpression("1 / 0").status().message(), "division by zero at position 6");
  EXPECT_FALSE(EvaluateExpression("system(\"ls\")").ok());
  EXPECT_FALSE(EvaluateExpression("2 +").ok());
  EXPECT_FALSE(EvaluateExpression(std::string(300, '(') + "1" + std::string(300, ')')).ok());
  auto calc = MakeCalculatorTool();
  ToolResult r = CallTool(*calc, R"({"expression":"17.5 * 4"})", std::chrono::milliseconds(100));
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(r.content, "70");
  ToolResult bad = CallTool(*calc, R"({"expr":"1"})", std::chrono::milliseconds(100));
  EXPECT_TRUE(bad.is_error);
  EXPECT_NE(bad.content.find("invalid arguments for calculator"), std::string::npos) << bad.content;
}

class FixedClock final : public Clock {
 public:
  int64_t wall_us() const override { return 1767225600LL * 1000000; }  // 2026-01-01T00:00:00Z
  int64_t mono_us() const override { return 0; }
};

TEST(ClockTool, TellsTheInjectedTime) {
  FixedClock clock;
  auto tool = MakeClockTool(clock);
  ToolResult r = CallTool(*tool, R"({"utc_offset_minutes":90})", std::chrono::milliseconds(100));
  EXPECT_EQ(r.content, R"({"iso8601":"2026-01-01T01:30:00+01:30","unix_seconds":1767225600,"weekday":"Thursday"})");
}

TEST(FileTools, StayInsideTheSandbox) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(testing::TempDir()) / "sandbox";
  fs::remove_all(root);
  const fs::path outside = fs::path(testing::TempDir()) / "outside.txt";
  std::ofstream(outside) << "secret";
  auto tools = MakeFileTools(root.string());
  Tool& read = *tools[0];
  Tool& write = *tools[1];
  Tool& list = *tools[2];
  const auto t = std::chrono::milliseconds(1000);
  EXPECT_FALSE(CallTool(write, R"({"path":"notes/a.txt","content":"hello"})", t).is_error);
  EXPECT_FALSE(CallTool(write, R"({"path":"notes/a.txt","content":" world","append":true})", t).is_error);
  EXPECT_EQ(CallTool(read, R"({"path":"notes/a.txt"})", t).content, "hello world");
  EXPECT_EQ(CallTool(list, R"({})", t).content, R"(["notes/"])");
  ToolResult up = CallTool(read, R"({"path":"../outside.txt"})", t);
  EXPECT_TRUE(up.is_error);
  EXPECT_NE(up.content.find("'..'"), std::string::npos);
  EXPECT_TRUE(CallTool(read, ("{\"path\":\"" + outside.string() + "\"}").c_str(), t).is_error);
  fs::create_symlink(outside, root / "link.txt");
  ToolResult link = CallTool(read, R"({"path":"link.txt"})", t);
  EXPECT_TRUE(link.is_error);
  EXPECT_NE(link.content.find("outside the sandbox"), std::string::npos) << link.content;
  EXPECT_TRUE(CallTool(read, R"({"path":"nope.txt"})", t).is_error);
  // A link to a file that does not exist yet would create it wherever it points.
  const fs::path planted = fs::path(testing::TempDir()) / "planted.txt";
  fs::remove(planted);
  fs::create_symlink(planted, root / "dangling.txt");
  ToolResult through = CallTool(write, R"({"path":"dangling.txt","content":"x"})", t);
  EXPECT_TRUE(through.is_error);
  EXPECT_NE(through.content.find("symbolic link"), std::string::npos) << through.content;
  EXPECT_FALSE(fs::exists(planted));
}

TEST(SqlTool, RowsAsJsonAndReadOnlyByDefault) {
  const std::string db = testing::TempDir() + "/tool.db";
  std::remove(db.c_str());
  auto rw = MakeSqlTool(db, true);
  const auto t = std::chrono::milliseconds(2000);
  EXPECT_FALSE(CallTool(*rw, R"j({"query":"CREATE TABLE t(id INTEGER, name TEXT, score REAL)"})j", t).is_error);
  EXPECT_FALSE(CallTool(*rw, R"j({"query":"INSERT INTO t VALUES (1,'ada',9.5),(2,'bob',NULL)"})j", t).is_error);
  auto ro = MakeSqlTool(db, false);
  ToolResult r = CallTool(*ro, R"({"query":"SELECT id, name, score FROM t ORDER BY id"})", t);
  ASSERT_FALSE(r.is_error) << r.content;
  EXPECT_EQ(r.content, R"({"columns":["id","name","score"],"rows":[[1,"ada",9.5],[2,"bob",null]],"changes":0})");
  ToolResult denied = CallTool(*ro, R"({"query":"DELETE FROM t"})", t);
  EXPECT_TRUE(denied.is_error);
  EXPECT_NE(denied.content.find("readonly"), std::string::npos) << denied.content;
  ToolResult syntax = CallTool(*ro, R"({"query":"SELEC 1"})", t);
  EXPECT_TRUE(syntax.is_error);
  EXPECT_NE(syntax.content.find("SQL error"), std::string::npos);
}

// One statement reaches no file but the tool's own: VACUUM INTO (which SQLite runs even on a read-only
// connection) and ATTACH are refused in both modes, and a read-only tool refuses a PRAGMA that sets something.
TEST(SqlTool, NoStatementReachesAnotherFile) {
  const std::string db = testing::TempDir() + "/tool2.db", copy = testing::TempDir() + "/tool2-copy.db";
  std::remove(db.c_str());
  std::remove(copy.c_str());
  const auto t = std::chrono::milliseconds(2000);
  auto rw = MakeSqlTool(db, true);
  ASSERT_FALSE(CallTool(*rw, R"j({"query":"CREATE TABLE t(secret TEXT)"})j", t).is_error);
  auto ro = MakeSqlTool(db, false);
  for (Tool* tool : {rw.get(), ro.get()}) {
    ToolResult vacuum = CallTool(*tool, ("{\"query\":\"VACUUM INTO '" + copy + "'\"}").c_str(), t);
    EXPECT_TRUE(vacuum.is_error) << vacuum.content;
    EXPECT_FALSE(std::filesystem::exists(copy));
    ToolResult attach = CallTool(*tool, ("{\"query\":\"ATTACH '" + db + "' AS other\"}").c_str(), t);
    EXPECT_TRUE(attach.is_error) << attach.content;
    EXPECT_NE(attach.content.find("not authorized"), std::string::npos) << attach.content;
  }
  ToolResult pragma = CallTool(*ro, R"({"query":"PRAGMA user_version = 7"})", t);
  EXPECT_TRUE(pragma.is_error);
  EXPECT_NE(pragma.content.find("readonly"), std::string::npos) << pragma.content;
  EXPECT_FALSE(CallTool(*ro, R"({"query":"PRAGMA user_version"})", t).is_error);
}

}  // namespace
}  // namespace tandem::agency
