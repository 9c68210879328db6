#include "engine/runtime/thread_pool.h"

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#define TANDEM_PAUSE() _mm_pause()
#else
#define TANDEM_PAUSE() std::this_thread::yield()
#endif

namespace tandem::engine {
namespace {
constexpr int kSpinIterations = 1 << 16;  // ~ a few hundred microseconds before sleeping
}

ThreadPool::ThreadPool(int n_threads) : n_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_; ++i) threads_.emplace_back([this, i] { Worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    epoch_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Split(int64_t total, int i, int n, int64_t* b, int64_t* e, int64_t align) {
  const int64_t units = (total + align - 1) / align;
  const int64_t per = units / n, extra = units % n;
  const int64_t ub = i * per + (i < extra ? i : extra);
  const int64_t ue = ub + per + (i < extra ? 1 : 0);
  *b = ub * align < total ? ub * align : total;
  *e = ue * align < total ? ue * align : total;
}

void ThreadPool::Run(const std::function<void(int, int)>& fn) {
  if (n_ == 1) {
    fn(0, 1);
    return;
  }
  job_ = &fn;
  pending_.store(n_ - 1, std::memory_order_relaxed);
  // Dekker-style hand-off (both sides sequentially consistent): either we see a sleeper and wake it under the
  // lock, or the sleeper's predicate sees the new epoch before it blocks.
  epoch_.fetch_add(1);
  if (sleeping_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  fn(0, n_);
  // Spin briefly (the others usually finish within microseconds), then yield: on a machine shared with other
  // processes a descheduled worker must get the core back rather than watch us spin.
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
    if (i < 2048) {
      TANDEM_PAUSE();
    } else {
      std::this_thread::yield();
    }
  }
  job_ = nullptr;
}

void ThreadPool::Worker(int index) {
  uint64_t seen = 0;
  while (true) {
    uint64_t e = epoch_.load(std::memory_order_acquire);
    for (int spin = 0; e == seen && spin < kSpinIterations; ++spin) {
      if (spin < 2048 || spin % 64 != 0) {
        TANDEM_PAUSE();
      } else {
        std::this_thread::yield();
      }
      e = epoch_.load(std::memory_order_acquire);
    }
    if (e == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      sleeping_.fetch_add(1);
      wake_.wait(lock, [&] { return epoch_.load() != seen; });
      sleeping_.fetch_sub(1);
      e = epoch_.load(std::memory_order_acquire);
    }
    seen = e;
    if (stop_.load()) return;
    (*job_)(index, n_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace tandem::engine
