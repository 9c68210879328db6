#include "ledger/ledger.h"

#include <chrono>
#include <cstdio>

namespace tandem {

namespace {
constexpr int64_t kTruncateJournalBytes = 1 << 20;
constexpr size_t kWakeBatch = 256;
constexpr auto kCommitInterval = std::chrono::milliseconds(50);
}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path) {
  auto store = SqliteStore::Open(path);
  if (!store.ok()) return store.status();
  std::string journal_path = path + ".journal";
  std::vector<LedgerRecord> leftover = Journal::ReadAll(journal_path);
  if (!leftover.empty()) {  // a previous process died before its store caught up
    Status s = store.value()->insert(leftover);
    if (!s.ok()) return s;
  }
  auto journal = Journal::Open(journal_path);
  if (!journal.ok()) return journal.status();
  Status t = journal.value()->truncate();
  if (!t.ok()) return t;
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(store.value()), std::move(journal.value())));
  ledger->recovered_ = static_cast<int64_t>(leftover.size());
  ledger->thread_ = std::thread([l = ledger.get()] { l->run(); });
  return ledger;
}

Ledger::~Ledger() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

Status Ledger::append(const LedgerRecord& row) {
  Status s;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = journal_->append(row);
    queue_.push_back(row);
    // The row is durable already; waking the writer per row would cost a context switch per request on the
    // request path, so it batches: woken at kWakeBatch rows, else it wakes itself every kCommitInterval.
    wake = queue_.size() == kWakeBatch;
  }
  if (wake) cv_.notify_one();
  return s;
}

void Ledger::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.notify_one();
  drained_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

int64_t Ledger::committed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committed_;
}

int64_t Ledger::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

void Ledger::run() {
  std::vector<LedgerRecord> rows;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      writing_ = false;
      if (queue_.empty()) {
        // Everything journaled is committed: the journal can be emptied.
        if (journal_->size() > kTruncateJournalBytes && failures_ == 0) {
          Status t = journal_->truncate();
          if (!t.ok()) std::fprintf(stderr, "tandem: %s\n", t.message().c_str());
        }
        drained_.notify_all();
      }
      cv_.wait_for(lock, kCommitInterval, [&] { return stopping_ || queue_.size() >= kWakeBatch; });
      if (queue_.empty() && !stopping_) continue;
      if (queue_.empty() && stopping_) {
        if (failures_ == 0)  // else the next start recovers the rows
          journal_->truncate().IgnoreError("the rows are committed; a journal left full is replayed idempotently");
        return;
      }
      while (!queue_.empty() && rows.size() < 1024) {
        rows.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      writing_ = true;
    }
    Status s = store_->insert(rows);
    if (!s.ok())
      std::fprintf(stderr, "tandem: ledger write failed (rows stay in the journal): %s\n",
                   s.message().c_str());
    {
      std::lock_guard<std::mutex> lock(mu_);
      (s.ok() ? committed_ : failures_) += static_cast<int64_t>(rows.size());
    }
    rows.clear();
  }
}

}  // namespace tandem
