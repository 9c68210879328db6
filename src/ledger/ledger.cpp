#include "ledger/ledger.h"

#include <cstdio>

namespace tandem {

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path) {
  auto store = SqliteStore::Open(path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Ledger>(new Ledger(std::move(store.value())));
}

Ledger::Ledger(std::unique_ptr<SqliteStore> store) : store_(std::move(store)) {
  thread_ = std::thread([this] { run(); });
}

Ledger::~Ledger() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Ledger::append(LedgerRecord row, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(std::move(row), std::move(done));
  }
  cv_.notify_one();
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
  std::vector<Done> dones;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && rows.size() < 512) {
        rows.push_back(std::move(queue_.front().first));
        dones.push_back(std::move(queue_.front().second));
        queue_.pop_front();
      }
    }
    Status s = store_->insert(rows);
    if (!s.ok()) std::fprintf(stderr, "tandem: ledger write failed: %s\n", s.message().c_str());
    {
      std::lock_guard<std::mutex> lock(mu_);
      (s.ok() ? committed_ : failures_) += static_cast<int64_t>(rows.size());
    }
    for (auto& d : dones) {
      if (d) d(s);
    }
    rows.clear();
    dones.clear();
  }
}

}  // namespace tandem
