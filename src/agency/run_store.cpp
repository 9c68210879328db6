#include "agency/run_store.h"

#include <sqlite3.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <random>

#include "core/clock.h"
#include "ledger/sqlite_util.h"

namespace tandem::agency {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,
  input TEXT NOT NULL,
  status TEXT NOT NULL,
  output TEXT NOT NULL,
  error TEXT NOT NULL,
  owner TEXT NOT NULL,
  key_id TEXT NOT NULL DEFAULT '',
  lease TEXT NOT NULL DEFAULT '',
  lease_until_us INTEGER NOT NULL DEFAULT 0,
  created_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS run_steps (
  run_id TEXT NOT NULL,
  key TEXT NOT NULL,
  parent TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  input TEXT NOT NULL,
  output TEXT NOT NULL,
  model TEXT NOT NULL,
  tier TEXT NOT NULL,
  reasons TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  start_us INTEGER NOT NULL,
  ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  error TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (run_id, key)
);
)sql";

int64_t NowUs() { return SystemClock::Get().wall_us(); }

RunRecord ReadRun(sqlite3_stmt* s) {
  RunRecord r;
  r.id = ColumnText(s, 0);
  r.kind = ColumnText(s, 1);
  r.name = ColumnText(s, 2);
  r.spec = ColumnText(s, 3);
  r.input = ColumnText(s, 4);
  r.status = ColumnText(s, 5);
  r.output = ColumnText(s, 6);
  r.error = ColumnText(s, 7);
  r.created_us = sqlite3_column_int64(s, 8);
  r.updated_us = sqlite3_column_int64(s, 9);
  r.owner = ColumnText(s, 10);
  r.key_id = ColumnText(s, 11);
  return r;
}

constexpr char kRunColumns[] =
    "id, kind, name, spec, input, status, output, error, created_us, updated_us, owner, key_id";

}  // namespace

std::string NewRunId() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}() ^ (uint64_t)NowUs());
  std::lock_guard<std::mutex> lock(mu);
  char buf[24];
  std::snprintf(buf, sizeof buf, "run_%016llx", (unsigned long long)rng());
  return buf;
}

RunStore::RunStore(std::unique_ptr<SqliteStore> db) : db_(std::move(db)) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  holder_ = std::string(host) + ":" + std::to_string(getpid());
}

Status RunStore::Claim(const std::string& run_id, int ttl_s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_.count(run_id)) return Status(Code::kUnavailable, "run " + run_id + " is already running in this process");
  Status st = db_->transact({}, [&](sqlite3* db) -> Status {
    SqliteStmt q(db, "SELECT lease, lease_until_us FROM runs WHERE id = ?1");
    if (!q.ok()) return SqliteError(db, "runs query");
    q.text(1, run_id);
    if (sqlite3_step(q.get()) != SQLITE_ROW) return Status(Code::kNotFound, "no run '" + run_id + "' in the ledger");
    const std::string lease = ColumnText(q.get(), 0);
    const int64_t until = sqlite3_column_int64(q.get(), 1);
    const int64_t now = NowUs();
    bool free = lease.empty() || lease == holder_ || until < now;
    if (!free) {
      // Held by a process on this host that no longer exists (killed): the claim is void.
      const size_t colon = lease.rfind(':');
      const std::string host = holder_.substr(0, holder_.rfind(':'));
      if (colon != std::string::npos && lease.substr(0, colon) == host) {
        const pid_t pid = static_cast<pid_t>(std::strtol(lease.c_str() + colon + 1, nullptr, 10));
        free = pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
      }
    }
    if (!free)
      return Status(Code::kUnavailable, "run " + run_id + " is being run by " + lease + " (its claim lasts " +
                                            std::to_string((until - now) / 1000000) + " s more)");
    SqliteStmt u(db, "UPDATE runs SET lease = ?2, lease_until_us = ?3 WHERE id = ?1");
    u.text(1, run_id);
    u.text(2, holder_);
    u.i64(3, now + int64_t{ttl_s} * 1000000);
    if (sqlite3_step(u.get()) != SQLITE_DONE) return SqliteError(db, "cannot claim run " + run_id);
    return Status::Ok();
  });
  if (st.ok()) running_.insert(run_id);
  return st;
}

void ReportStoreError(const Status& st, const std::string& run_id) {
  if (!st.ok()) std::fprintf(stderr, "tandem: run %s: %s\n", run_id.c_str(), st.message().c_str());
}

void RunStore::Release(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(run_id);
  Status st = db_->transact({}, [&](sqlite3* db) -> Status {
    SqliteStmt u(db, "UPDATE runs SET lease = '', lease_until_us = 0 WHERE id = ?1 AND lease = ?2");
    u.text(1, run_id);
    u.text(2, holder_);
    if (sqlite3_step(u.get()) != SQLITE_DONE) return SqliteError(db, "cannot release run " + run_id);
    return Status::Ok();
  });
  // A lease that stays behind expires at lease_until_us: another runner waits for that, nothing is lost.
  ReportStoreError(st, run_id);
}

Result<std::unique_ptr<RunStore>> RunStore::Open(const std::string& path) {
  auto db = SqliteStore::Open(path);
  if (!db.ok()) return db.status();
  char* msg = nullptr;
  if (sqlite3_exec(db.value()->handle(), kSchema, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return Status(Code::kInternal, "cannot create the run tables in " + path + ": " + m);
  }
  // Files made before a column existed get it (the error for a column already there is expected).
  for (const char* column : {"owner TEXT NOT NULL DEFAULT 'cli'", "key_id TEXT NOT NULL DEFAULT ''",
                             "lease TEXT NOT NULL DEFAULT ''",
                             "lease_until_us INTEGER NOT NULL DEFAULT 0"})
    sqlite3_exec(db.value()->handle(), (std::string("ALTER TABLE runs ADD COLUMN ") + column).c_str(), nullptr,
                 nullptr, nullptr);
  return std::unique_ptr<RunStore>(new RunStore(std::move(db.value())));
}

Status RunStore::CreateRun(const RunRecord& run) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->transact({}, [&](sqlite3* db) -> Status {
    SqliteStmt s(db,
           "INSERT INTO runs (id, kind, name, spec, input, status, output, error, created_us, updated_us, owner, key_id)"
           " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,?10,?11)");
    if (!s.ok()) return SqliteError(db, "runs insert");
    s.text(1, run.id);
    s.text(2, run.kind);
    s.text(3, run.name);
    s.text(4, run.spec);
    s.text(5, run.input);
    s.text(6, run.status.empty() ? "running" : run.status);
    s.text(7, run.output);
    s.text(8, run.error);
    s.i64(9, run.created_us ? run.created_us : NowUs());
    s.text(10, run.owner.empty() ? "cli" : run.owner);
    s.text(11, run.key_id);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return SqliteError(db, "cannot record run " + run.id);
    return Status::Ok();
  });
}

Status RunStore::UpdateRun(const std::string& id, const std::string& status, const std::string& output,
                           const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->transact({}, [&](sqlite3* db) -> Status {
    SqliteStmt s(db, "UPDATE runs SET status = ?2, output = ?3, error = ?4, updated_us = ?5 WHERE id = ?1");
    if (!s.ok()) return SqliteError(db, "runs update");
    s.text(1, id);
    s.text(2, status);
    s.text(3, output);
    s.text(4, error);
    s.i64(5, NowUs());
    if (sqlite3_step(s.get()) != SQLITE_DONE) return SqliteError(db, "cannot update run " + id);
    if (sqlite3_changes(db) == 0) return Status(Code::kNotFound, "no run " + id);
    return Status::Ok();
  });
}

Result<RunRecord> RunStore::GetRun(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3* db = db_->handle();
  SqliteStmt s(db, (std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1").c_str());
  if (!s.ok()) return SqliteError(db, "runs query");
  s.text(1, id);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return ReadRun(s.get());
  if (rc == SQLITE_DONE) return Status(Code::kNotFound, "no run '" + id + "' in the ledger");
  return SqliteError(db, "runs query");
}

Result<std::vector<RunRecord>> RunStore::ListRuns(const std::string& status, int limit,
                                                  const std::string* key_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3* db = db_->handle();
  std::string q = std::string("SELECT ") + kRunColumns + " FROM runs WHERE (?1 = '' OR status = ?1)";
  if (key_id) q += " AND key_id = ?2";
  q += " ORDER BY created_us DESC LIMIT " + std::to_string(limit);
  SqliteStmt s(db, q.c_str());
  if (!s.ok()) return SqliteError(db, "runs query");
  s.text(1, status);
  if (key_id) s.text(2, *key_id);
  std::vector<RunRecord> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(ReadRun(s.get()));
  if (rc != SQLITE_DONE) return SqliteError(db, "runs query");
  return out;
}

Status RunStore::PutStep(const StepRecord& st, const LedgerRecord* ledger_row) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<LedgerRecord> rows;
  if (ledger_row) rows.push_back(*ledger_row);
  return db_->transact(rows, [&](sqlite3* db) -> Status {
    SqliteStmt s(db,
           "INSERT OR REPLACE INTO run_steps (run_id, key, parent, kind, status, input, output, model, tier, reasons,"
           " prompt_tokens, completion_tokens, cost_usd, start_us, ms, attempts, error, seq)"
           " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
           " (SELECT COALESCE(MAX(seq), 0) + 1 FROM run_steps WHERE run_id = ?1))");
    if (!s.ok()) return SqliteError(db, "run_steps insert");
    s.text(1, st.run_id);
    s.text(2, st.key);
    s.text(3, st.parent);
    s.text(4, st.kind);
    s.text(5, st.status);
    s.text(6, st.input);
    s.text(7, st.output);
    s.text(8, st.model);
    s.text(9, st.tier);
    s.text(10, st.reasons);
    s.i64(11, st.prompt_tokens);
    s.i64(12, st.completion_tokens);
    s.real(13, st.cost_usd);
    s.i64(14, st.start_us);
    s.i64(15, st.ms);
    s.i64(16, st.attempts);
    s.text(17, st.error);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return SqliteError(db, "cannot record step " + st.key);
    // Each recorded step renews this process's claim.
    SqliteStmt touch(db,
                     "UPDATE runs SET updated_us = ?2, lease_until_us = MAX(lease_until_us, ?4) WHERE id = ?1 AND lease = ?3");
    const int64_t now = NowUs();
    touch.text(1, st.run_id);
    touch.i64(2, now);
    touch.text(3, holder_);
    touch.i64(4, now + int64_t{kClaimSeconds} * 1000000);
    sqlite3_step(touch.get());
    return Status::Ok();
  });
}

Result<std::vector<StepRecord>> RunStore::Steps(const std::string& run_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3* db = db_->handle();
  SqliteStmt s(db,
         "SELECT run_id, key, parent, kind, status, input, output, model, tier, reasons, prompt_tokens,"
         " completion_tokens, cost_usd, start_us, ms, attempts, error, seq FROM run_steps WHERE run_id = ?1"
         " ORDER BY seq");
  if (!s.ok()) return SqliteError(db, "run_steps query");
  s.text(1, run_id);
  std::vector<StepRecord> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    sqlite3_stmt* q = s.get();
    StepRecord r;
    r.run_id = ColumnText(q, 0);
    r.key = ColumnText(q, 1);
    r.parent = ColumnText(q, 2);
    r.kind = ColumnText(q, 3);
    r.status = ColumnText(q, 4);
    r.input = ColumnText(q, 5);
    r.output = ColumnText(q, 6);
    r.model = ColumnText(q, 7);
    r.tier = ColumnText(q, 8);
    r.reasons = ColumnText(q, 9);
    r.prompt_tokens = sqlite3_column_int64(q, 10);
    r.completion_tokens = sqlite3_column_int64(q, 11);
    r.cost_usd = sqlite3_column_double(q, 12);
    r.start_us = sqlite3_column_int64(q, 13);
    r.ms = sqlite3_column_int64(q, 14);
    r.attempts = (int)sqlite3_column_int64(q, 15);
    r.error = ColumnText(q, 16);
    r.seq = sqlite3_column_int64(q, 17);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return SqliteError(db, "run_steps query");
  return out;
}

}  // namespace tandem::agency
