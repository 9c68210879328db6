// Ledger: durable recording of LedgerRecords, cheap on the request path.
//
// append() writes the row to the journal (one write(): from then on it survives a SIGKILL of the process)
// and queues it for the SQLite store, which a writer thread fills in batches (every 50 ms, or sooner when
// rows pile up), one transaction per batch.
// The gateway calls append() before sending the last bytes of an answer, so a client that received a
// complete answer always has its row. At Open(), rows a previous process journaled but did not commit are
// recovered into the store. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "ledger/journal.h"
#include "ledger/sqlite_store.h"

namespace tandem {

class Ledger {
 public:
  static Result<std::unique_ptr<Ledger>> Open(const std::string& path);
  ~Ledger();  // commits what is queued, then stops

  Status append(const LedgerRecord& row);
  // Blocks until every row appended so far is in the store (tests, shutdown).
  void flush();
  int64_t committed() const;
  int64_t failures() const;
  int64_t recovered() const { return recovered_; }

 private:
  Ledger(std::unique_ptr<SqliteStore> store, std::unique_ptr<Journal> journal)
      : store_(std::move(store)), journal_(std::move(journal)) {}
  void run();

  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Journal> journal_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // work for the writer
  std::condition_variable drained_;  // the writer caught up
  std::deque<LedgerRecord> queue_;
  bool writing_ = false;
  bool stopping_ = false;
  int64_t committed_ = 0;
  int64_t failures_ = 0;
  int64_t recovered_ = 0;
  std::thread thread_;
};

}  // namespace tandem
