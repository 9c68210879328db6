#include "ledger/sqlite_store.h"

#include <sqlite3.h>

#include "ledger/sqlite_util.h"

namespace tandem {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY,
  ts_us INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  requested_model TEXT NOT NULL,
  model TEXT NOT NULL,
  tier TEXT NOT NULL,
  locality TEXT NOT NULL,
  reasons TEXT NOT NULL,
  rule TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  usage_estimated INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  baseline_usd REAL NOT NULL,
  ttft_us INTEGER NOT NULL,
  total_us INTEGER NOT NULL,
  overhead_us INTEGER NOT NULL,
  http_status INTEGER NOT NULL,
  status TEXT NOT NULL,
  error TEXT NOT NULL,
  pii TEXT NOT NULL,
  local_only INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  escalation TEXT NOT NULL,
  draft_tokens INTEGER NOT NULL DEFAULT 0,
  draft_cost_usd REAL NOT NULL DEFAULT 0,
  signals TEXT NOT NULL DEFAULT '',
  p_right REAL NOT NULL DEFAULT -1,
  shadow_of TEXT NOT NULL DEFAULT '',
  verdict INTEGER NOT NULL DEFAULT -1
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts_us);
CREATE UNIQUE INDEX IF NOT EXISTS requests_request_id ON requests(request_id);
)sql";

const char* kInsert =
    "INSERT OR IGNORE INTO requests (ts_us, request_id, key_id, requested_model, model, tier, locality, "
    "reasons, rule,"
    " prompt_tokens, completion_tokens, usage_estimated, cost_usd, baseline_usd, ttft_us, total_us, "
    "overhead_us,"
    " http_status, status, error, pii, local_only, stream, attempts, escalation, draft_tokens, draft_cost_usd,"
    " signals, p_right, shadow_of, verdict)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,"
    "?28,?29,?30,?31)";

// Columns later versions added, for a ledger an older gateway created (ALTER TABLE when missing).
const char* kAddedColumns[][2] = {
    {"draft_tokens", "INTEGER NOT NULL DEFAULT 0"}, {"draft_cost_usd", "REAL NOT NULL DEFAULT 0"},
    {"signals", "TEXT NOT NULL DEFAULT ''"},        {"p_right", "REAL NOT NULL DEFAULT -1"},
    {"shadow_of", "TEXT NOT NULL DEFAULT ''"},      {"verdict", "INTEGER NOT NULL DEFAULT -1"},
};

Status Migrate(sqlite3* db, const std::string& path) {
  for (const auto& [name, type] : kAddedColumns) {
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('requests') WHERE name = ?1", -1, &q, nullptr) !=
        SQLITE_OK)
      return SqliteError(db, "cannot inspect ledger " + path);
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    const bool present = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (present) continue;
    const std::string alter = std::string("ALTER TABLE requests ADD COLUMN ") + name + " " + type;
    if (sqlite3_exec(db, alter.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
      return SqliteError(db, "cannot upgrade ledger " + path);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, bool read_only) {
  std::unique_ptr<SqliteStore> s(new SqliteStore());
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &s->db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return SqliteError(s->db_, "cannot open ledger " + path);
  }
  sqlite3_busy_timeout(s->db_, 5000);
  if (!read_only) {
    char* msg = nullptr;
    std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
    if (sqlite3_exec(s->db_, (pragmas + kSchema).c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return Status(Code::kInternal, "cannot initialise ledger " + path + ": " + m);
    }
    if (Status m = Migrate(s->db_, path); !m.ok()) return m;
    if (sqlite3_prepare_v2(s->db_, kInsert, -1, &s->insert_, nullptr) != SQLITE_OK) {
      return SqliteError(s->db_, "cannot prepare ledger insert");
    }
  }
  return s;
}

SqliteStore::~SqliteStore() {
  sqlite3_finalize(insert_);
  sqlite3_close(db_);
}

Status SqliteStore::insert(const std::vector<LedgerRecord>& rows) { return transact(rows, nullptr); }

Status SqliteStore::transact(const std::vector<LedgerRecord>& rows, const std::function<Status(sqlite3*)>& body) {
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db_, "ledger BEGIN");
  if (body) {
    Status st = body(db_);
    if (!st.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return st;
    }
  }
  for (const auto& r : rows) {
    sqlite3_stmt* s = insert_;
    sqlite3_reset(s);
    auto text = [&](int i, const std::string& v) {
      sqlite3_bind_text(s, i, v.data(), (int)v.size(), SQLITE_STATIC);
    };
    sqlite3_bind_int64(s, 1, r.ts_us);
    text(2, r.request_id);
    text(3, r.key_id);
    text(4, r.requested_model);
    text(5, r.model);
    text(6, r.tier);
    text(7, r.locality);
    text(8, r.reasons);
    text(9, r.rule);
    sqlite3_bind_int64(s, 10, r.prompt_tokens);
    sqlite3_bind_int64(s, 11, r.completion_tokens);
    sqlite3_bind_int(s, 12, r.usage_estimated);
    sqlite3_bind_double(s, 13, r.cost_usd);
    sqlite3_bind_double(s, 14, r.baseline_usd);
    sqlite3_bind_int64(s, 15, r.ttft_us);
    sqlite3_bind_int64(s, 16, r.total_us);
    sqlite3_bind_int64(s, 17, r.overhead_us);
    sqlite3_bind_int(s, 18, r.http_status);
    text(19, r.status);
    text(20, r.error);
    text(21, r.pii);
    sqlite3_bind_int(s, 22, r.local_only);
    sqlite3_bind_int(s, 23, r.stream);
    sqlite3_bind_int(s, 24, r.attempts);
    text(25, r.escalation);
    sqlite3_bind_int64(s, 26, r.draft_tokens);
    sqlite3_bind_double(s, 27, r.draft_cost_usd);
    text(28, r.signals);
    sqlite3_bind_double(s, 29, r.p_right);
    text(30, r.shadow_of);
    sqlite3_bind_int(s, 31, r.verdict);
    if (sqlite3_step(s) != SQLITE_DONE) {
      Status st = SqliteError(db_, "ledger insert");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return st;
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Status st = SqliteError(db_, "ledger COMMIT");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  return Status::Ok();
}

Result<std::vector<LedgerRecord>> SqliteStore::rows_since(int64_t since_us) const {
  sqlite3_stmt* s = nullptr;
  const char* q =
      "SELECT ts_us, request_id, key_id, requested_model, model, tier, locality, reasons, rule, "
      "prompt_tokens,"
      " completion_tokens, usage_estimated, cost_usd, baseline_usd, ttft_us, total_us, overhead_us, "
      "http_status,"
      " status, error, pii, local_only, stream, attempts, escalation, draft_tokens, draft_cost_usd, signals,"
      " p_right, shadow_of, verdict FROM requests WHERE ts_us >= ?1 ORDER "
      "BY ts_us";
  if (sqlite3_prepare_v2(db_, q, -1, &s, nullptr) != SQLITE_OK) return SqliteError(db_, "ledger query");
  sqlite3_bind_int64(s, 1, since_us);
  std::vector<LedgerRecord> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    LedgerRecord r;
    r.ts_us = sqlite3_column_int64(s, 0);
    r.request_id = ColumnText(s, 1);
    r.key_id = ColumnText(s, 2);
    r.requested_model = ColumnText(s, 3);
    r.model = ColumnText(s, 4);
    r.tier = ColumnText(s, 5);
    r.locality = ColumnText(s, 6);
    r.reasons = ColumnText(s, 7);
    r.rule = ColumnText(s, 8);
    r.prompt_tokens = sqlite3_column_int64(s, 9);
    r.completion_tokens = sqlite3_column_int64(s, 10);
    r.usage_estimated = sqlite3_column_int(s, 11);
    r.cost_usd = sqlite3_column_double(s, 12);
    r.baseline_usd = sqlite3_column_double(s, 13);
    r.ttft_us = sqlite3_column_int64(s, 14);
    r.total_us = sqlite3_column_int64(s, 15);
    r.overhead_us = sqlite3_column_int64(s, 16);
    r.http_status = sqlite3_column_int(s, 17);
    r.status = ColumnText(s, 18);
    r.error = ColumnText(s, 19);
    r.pii = ColumnText(s, 20);
    r.local_only = sqlite3_column_int(s, 21);
    r.stream = sqlite3_column_int(s, 22);
    r.attempts = sqlite3_column_int(s, 23);
    r.escalation = ColumnText(s, 24);
    r.draft_tokens = sqlite3_column_int64(s, 25);
    r.draft_cost_usd = sqlite3_column_double(s, 26);
    r.signals = ColumnText(s, 27);
    r.p_right = sqlite3_column_double(s, 28);
    r.shadow_of = ColumnText(s, 29);
    r.verdict = sqlite3_column_int(s, 30);
    out.push_back(std::move(r));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return SqliteError(db_, "ledger query");
  return out;
}

int64_t SqliteStore::count() const {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM requests", -1, &s, nullptr) != SQLITE_OK) return -1;
  int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  return n;
}

}  // namespace tandem
