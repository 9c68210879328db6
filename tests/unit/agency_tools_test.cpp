#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agency/builtin_tools.h"
#include "agency/json_schema.h"
#include "core/clock.h"

namespace tandem::agency {
namespace {

namespace fs = std::filesystem;

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

// Both ways the sandbox resolves paths: openat2 beneath the root (where the kernel has it) and the walk that
// follows no symbolic link at all (walk_only, as on kernels without openat2).
class FileTools : public testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / (GetParam() ? "files-walk" : "files-auto");
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "outside");
    std::ofstream(dir_ / "outside" / "secret.txt") << "SECRET";
    root_ = dir_ / "sandbox";
    tools_ = MakeFileTools(root_.string(), GetParam());
  }
  ToolResult Call(int tool, const std::string& args) {
    return CallTool(*tools_[tool], args.c_str(), std::chrono::milliseconds(1000));
  }
  ToolResult Read(const std::string& path) { return Call(0, R"({"path":")" + path + R"("})"); }
  ToolResult Write(const std::string& path, const std::string& content) {
    return Call(1, R"({"path":")" + path + R"(","content":")" + content + R"("})");
  }
  static bool Has(const ToolResult& r, const char* text) { return r.content.find(text) != std::string::npos; }

  fs::path dir_, root_;
  std::vector<std::shared_ptr<Tool>> tools_;
};

TEST_P(FileTools, ReadWriteAndListInsideTheSandbox) {
  EXPECT_FALSE(Write("notes/deep/a.txt", "hello").is_error);
  EXPECT_FALSE(Call(1, R"({"path":"notes/deep/a.txt","content":" world","append":true})").is_error);
  EXPECT_EQ(Read("notes/deep/a.txt").content, "hello world");
  EXPECT_EQ(Read("./notes//deep/a.txt").content, "hello world");
  EXPECT_FALSE(Write("b.txt", "x").is_error);
  EXPECT_EQ(Call(2, R"({})").content, R"(["b.txt","notes/"])");
  EXPECT_EQ(Call(2, R"({"path":"notes"})").content, R"(["deep/"])");
  ToolResult missing = Read("nope.txt");
  EXPECT_TRUE(missing.is_error);
  EXPECT_TRUE(Has(missing, "no such file")) << missing.content;
  ToolResult folder = Read("notes");
  EXPECT_TRUE(folder.is_error);
  EXPECT_TRUE(Has(folder, "not a regular file")) << folder.content;
}

TEST_P(FileTools, NothingOutsideIsReadOrWritten) {
  const fs::path secret = dir_ / "outside" / "secret.txt";
  ToolResult up = Read("../outside/secret.txt");
  EXPECT_TRUE(up.is_error);
  EXPECT_TRUE(Has(up, "'..'")) << up.content;
  ToolResult absolute = Read(secret.string());
  EXPECT_TRUE(absolute.is_error);
  EXPECT_TRUE(Has(absolute, "absolute")) << absolute.content;
  // A link to a file outside, a link to a folder outside, and a link to a file that does not exist yet (writing
  // through it would create it wherever it points): each is refused, and nothing outside changes.
  fs::create_symlink(secret, root_ / "link.txt");
  fs::create_directory_symlink(dir_ / "outside", root_ / "out");
  const fs::path planted = dir_ / "outside" / "planted.txt";
  fs::create_symlink(planted, root_ / "dangling.txt");
  // Each refusal names why: the kernel's check sees a link leading outside; the walk follows no link at all.
  const char* why = GetParam() ? "symbolic link" : "outside the sandbox";
  for (const ToolResult& r : {Read("link.txt"), Read("out/secret.txt"), Write("out/new.txt", "x"),
                              Write("out/sub/new.txt", "x"), Write("dangling.txt", "x"), Write("link.txt", "x"),
                              Call(2, R"({"path":"out"})")}) {
    EXPECT_TRUE(r.is_error) << r.content;
    EXPECT_TRUE(Has(r, why)) << r.content;
    EXPECT_FALSE(Has(r, "SECRET")) << r.content;
  }
  EXPECT_FALSE(fs::exists(planted));
  EXPECT_FALSE(fs::exists(dir_ / "outside" / "new.txt"));
  EXPECT_FALSE(fs::exists(dir_ / "outside" / "sub"));
  std::ifstream in(secret);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "SECRET");
}

TEST_P(FileTools, LinksThatStayInsideAreFollowedOnlyByTheKernelCheck) {
  ASSERT_FALSE(Write("real/a.txt", "inside").is_error);
  fs::create_directory_symlink("real", root_ / "alias");
  ToolResult r = Read("alias/a.txt");
  if (GetParam()) {
    EXPECT_TRUE(r.is_error);
    EXPECT_TRUE(Has(r, "symbolic link")) << r.content;
  } else {
    EXPECT_FALSE(r.is_error) << r.content;
    EXPECT_EQ(r.content, "inside");
  }
}

TEST_P(FileTools, AFifoDoesNotHangTheCall) {
  ASSERT_EQ(::mkfifo((root_ / "pipe").c_str(), 0600), 0);
  ToolResult r = Read("pipe");
  EXPECT_TRUE(r.is_error);
  EXPECT_TRUE(Has(r, "not a regular file")) << r.content;
  ToolResult w = Write("pipe", "x");  // no reader: refused at the open or by the file-type check
  EXPECT_TRUE(w.is_error) << w.content;
}

// A hard link is a second name for the same file, so a path inside can reach a file outside without any symbolic
// link. Neither tool opens a file with more than one name; a write refused this way changes nothing.
TEST_P(FileTools, AHardLinkToAFileOutsideIsNeitherReadNorWritten) {
  const fs::path secret = dir_ / "outside" / "secret.txt";
  ASSERT_FALSE(Write("keep.txt", "x").is_error);  // creates the root
  fs::create_hard_link(secret, root_ / "hard.txt");
  ToolResult r = Read("hard.txt");
  EXPECT_TRUE(r.is_error);
  EXPECT_TRUE(Has(r, "hard links")) << r.content;
  EXPECT_FALSE(Has(r, "SECRET")) << r.content;
  for (const char* append : {"false", "true"}) {
    ToolResult w = Call(1, std::string(R"({"path":"hard.txt","content":"OVERWRITTEN","append":)") + append + "}");
    EXPECT_TRUE(w.is_error) << w.content;
    EXPECT_TRUE(Has(w, "hard links")) << w.content;
  }
  std::ifstream in(secret);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "SECRET");
  // Once the outside name is gone the file has one name again, and it is the sandbox's.
  fs::remove(secret);
  EXPECT_EQ(Read("hard.txt").content, "SECRET");
  EXPECT_FALSE(Write("hard.txt", "mine").is_error);
  EXPECT_EQ(Read("hard.txt").content, "mine");
}

// The gap the sandbox closes: another process swaps a folder for a link to the outside between a check and the
// open. Here a thread swaps "d" back and forth (a real folder, then a link out) while the tool reads through it;
// a resolver that checks the path first and opens it by name afterwards leaks the outside file on some reads.
TEST_P(FileTools, ASwappedInLinkNeverLeaksTheOutside) {
  ASSERT_FALSE(Write("d/secret.txt", "inside").is_error);
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    while (!stop.load()) {
      fs::rename(root_ / "d", root_ / "stash");
      fs::create_directory_symlink(dir_ / "outside", root_ / "d");
      fs::remove(root_ / "d");
      fs::rename(root_ / "stash", root_ / "d");
    }
  });
  int leaked = 0, inside = 0;
  for (int i = 0; i < 4000; ++i) {
    ToolResult r = Read("d/secret.txt");
    if (Has(r, "SECRET")) ++leaked;
    if (r.content == "inside") ++inside;
  }
  stop = true;
  swapper.join();
  EXPECT_EQ(leaked, 0);
  if (!GetParam()) {
    EXPECT_GT(inside, 0) << "the swap never showed the inside link: the test proves nothing";
  }
}

INSTANTIATE_TEST_SUITE_P(Resolution, FileTools, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& p) { return p.param ? "Walk" : "Kernel"; });

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
