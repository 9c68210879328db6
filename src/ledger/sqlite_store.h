// SqliteStore: the ledger's rows in a SQLite file (WAL mode).
//
// Insert() writes a batch in one transaction; once it returns OK the rows survive the process being
// killed (WAL with synchronous=NORMAL: the commit has reached the OS, which outlives the process; a power
// loss can lose the last commits, a SIGKILL cannot). Not thread-safe: one thread owns a store (the
// Ledger's writer thread); readers (report) open their own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "ledger/record.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tandem {

class SqliteStore {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, bool read_only = false);
  ~SqliteStore();

  Status insert(const std::vector<LedgerRecord>& rows);
  // Runs `body` on this connection, then inserts `rows`, in one transaction: tables that share the file (the
  // agency's runs and steps) commit together with their ledger rows, or not at all.
  Status transact(const std::vector<LedgerRecord>& rows, const std::function<Status(sqlite3*)>& body);
  sqlite3* handle() const { return db_; }
  // Rows with ts_us >= since_us, oldest first.
  Result<std::vector<LedgerRecord>> rows_since(int64_t since_us) const;
  int64_t count() const;

 private:
  SqliteStore() = default;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

}  // namespace tandem
