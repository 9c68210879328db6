// A fixed team of threads for data-parallel kernels: Run(fn) calls fn(i, n) once on each of the n threads (the
// caller is thread 0) and returns when all have finished. Workers spin briefly between jobs (jobs arrive back to
// back during generation) and then sleep. One Run at a time: a ThreadPool belongs to one generating session or is
// shared under the caller's lock. Not copyable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem::engine {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_; }
  void Run(const std::function<void(int, int)>& fn);

  // Splits [0, total) into n nearly equal contiguous parts, `align`-sized where possible; part i is [*b, *e).
  static void Split(int64_t total, int i, int n, int64_t* b, int64_t* e, int64_t align = 1);

 private:
  void Worker(int index);

  const int n_;
  std::vector<std::thread> threads_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<int> sleeping_{0};
};

}  // namespace tandem::engine
