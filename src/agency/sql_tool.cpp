// sql: one statement on a SQLite file; rows come back as JSON. The statement reaches no other file: ATTACH and
// VACUUM INTO (which writes a copy of the database to any path, even from a read-only connection) are refused by
// an authorizer, and a read-only tool runs only statements that change nothing.
#include <simdjson.h>
#include <sqlite3.h>

#include <mutex>

#include "agency/builtin_tools.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

constexpr int kMaxRows = 200;

// SQLite asks before every action; ATTACH (also what VACUUM INTO asks for) and DETACH would open other files.
int DenyOtherFiles(void*, int action, const char*, const char*, const char*, const char*) {
  return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
}

class SqlTool final : public Tool {
 public:
  SqlTool(std::string path, bool writable) : path_(std::move(path)), writable_(writable) {
    spec_.name = "sql";
    spec_.description = std::string("Run one SQL statement on the SQLite database") +
                        (writable ? "" : " (read-only)") + "; rows come back as JSON (at most 200).";
    spec_.parameters = R"({"type":"object","properties":{"query":{"type":"string","description":"One SQL statement"}},)"
                       R"("required":["query"],"additionalProperties":false})";
  }
  const ToolSpec& spec() const override { return spec_; }

  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds timeout) override {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view query;
    if (parser.parse(args.data(), args.size()).get(doc) || doc["query"].get(query))
      return ToolResult{"expected {\"query\": \"...\"}", true};
    sqlite3* db = nullptr;
    const int flags = writable_ ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path_.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      return ToolResult{"cannot open the database: " + msg, true};
    }
    sqlite3_busy_timeout(db, static_cast<int>(std::min<int64_t>(timeout.count(), 30000)));
    sqlite3_set_authorizer(db, DenyOtherFiles, nullptr);
    // The statement's run time is bounded by the timeout: the progress handler aborts it.
    struct Deadline {
      std::chrono::steady_clock::time_point at;
    } deadline{std::chrono::steady_clock::now() + timeout};
    sqlite3_progress_handler(
        db, 10000, [](void* p) { return std::chrono::steady_clock::now() > static_cast<Deadline*>(p)->at ? 1 : 0; },
        &deadline);
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(db, query.data(), static_cast<int>(query.size()), &st, &tail) != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(db);
      sqlite3_close(db);
      return ToolResult{"SQL error: " + msg, true};
    }
    if (!writable_ && st && !sqlite3_stmt_readonly(st)) {  // e.g. a PRAGMA that sets something
      sqlite3_finalize(st);
      sqlite3_close(db);
      return ToolResult{"SQL error: the database is readonly for this tool; only statements that change nothing run",
                        true};
    }
    std::string out;
    JsonWriter w(out);
    const int cols = sqlite3_column_count(st);
    w.begin_object().key("columns").begin_array();
    for (int c = 0; c < cols; ++c) w.value(sqlite3_column_name(st, c));
    w.end_array().key("rows").begin_array();
    int rows = 0, rc;
    bool truncated = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (rows == kMaxRows) {
        truncated = true;
        break;
      }
      w.begin_array();
      for (int c = 0; c < cols; ++c) {
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_INTEGER:
            w.value(static_cast<int64_t>(sqlite3_column_int64(st, c)));
            break;
          case SQLITE_FLOAT:
            w.value(sqlite3_column_double(st, c));
            break;
          case SQLITE_NULL:
            w.null();
            break;
          default:
            w.value(std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                                     static_cast<size_t>(sqlite3_column_bytes(st, c))));
        }
      }
      w.end_array();
      ++rows;
    }
    w.end_array();
    std::string error;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      error = rc == SQLITE_INTERRUPT ? "the query ran past its time limit" : sqlite3_errmsg(db);
    if (truncated) w.kv("truncated", true);
    w.kv("changes", static_cast<int64_t>(sqlite3_changes(db))).end_object();
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (!error.empty()) return ToolResult{"SQL error: " + error, true};
    return ToolResult{out, false};
  }

 private:
  std::string path_;
  bool writable_;
  ToolSpec spec_;
};

}  // namespace

std::shared_ptr<Tool> MakeSqlTool(const std::string& sqlite_path, bool writable) {
  return std::make_shared<SqlTool>(sqlite_path, writable);
}

}  // namespace tandem::agency
