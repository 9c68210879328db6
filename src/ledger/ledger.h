// Ledger: durable, group-committed recording of LedgerRecords on a writer thread of its own.
//
// append() queues a row and returns at once; `done` runs on the writer thread after the row's
// transaction has committed (or failed). The gateway waits for `done` before sending the last bytes of
// an answer, so a client that received a complete answer always has its row on disk, even if the process
// is killed right after. Rows arriving together share one transaction. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "ledger/sqlite_store.h"

namespace tandem {

class Ledger {
 public:
  using Done = std::function<void(const Status&)>;

  static Result<std::unique_ptr<Ledger>> Open(const std::string& path);
  ~Ledger();  // drains the queue, then stops

  void append(LedgerRecord row, Done done);
  // Rows committed so far by this process, and write failures.
  int64_t committed() const;
  int64_t failures() const;

 private:
  explicit Ledger(std::unique_ptr<SqliteStore> store);
  void run();

  std::unique_ptr<SqliteStore> store_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<LedgerRecord, Done>> queue_;
  bool stopping_ = false;
  int64_t committed_ = 0;
  int64_t failures_ = 0;
  std::thread thread_;
};

}  // namespace tandem
