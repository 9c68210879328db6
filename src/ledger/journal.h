// Journal: the ledger's write-ahead file, so recording a request costs one write() on the request path.
//
// Each row is appended as one JSON line with a single write() before the client gets its last bytes;
// once write() returns, the row is in the OS page cache and survives the process being killed (SIGKILL),
// which is the guarantee the gateway gives. The SQLite store catches up in the background; at start-up any
// journal lines the store lacks are inserted (idempotent on request_id) and the journal is emptied.
// Thread-safe: appends are serialized by the caller (Ledger holds the lock).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ledger/record.h"

namespace tandem {

std::string RowToJson(const LedgerRecord& r);
bool RowFromJson(std::string_view line, LedgerRecord& r);

class Journal {
 public:
  static Result<std::unique_ptr<Journal>> Open(const std::string& path);
  ~Journal();

  // Appends one row as one line. Not thread-safe on its own.
  Status append(const LedgerRecord& r);
  // Empties the journal (every row in it has been committed to the store).
  Status truncate();
  int64_t size() const { return size_; }
  // Rows in a journal file left by an earlier process (torn or malformed lines are skipped).
  static std::vector<LedgerRecord> ReadAll(const std::string& path);

 private:
  Journal(int fd, int64_t size) : fd_(fd), size_(size) {}
  int fd_;
  int64_t size_;
  std::string line_;
};

}  // namespace tandem
