// Clock: the time source, injected so tests can control it.
//
// SystemClock is the real one. Both wall time (for ledger timestamps) and a monotonic clock (for
// latencies, timeouts, breaker cool-downs) are exposed. Implementations must be thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tandem {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch.
  virtual int64_t wall_us() const = 0;
  // Monotonic microseconds, arbitrary origin.
  virtual int64_t mono_us() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t wall_us() const override;
  int64_t mono_us() const override;
  static const SystemClock& Get();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  int64_t wall_us() const override { return wall_.load(); }
  int64_t mono_us() const override { return mono_.load(); }
  void advance_us(int64_t us) {
    wall_ += us;
    mono_ += us;
  }
  void set_wall_us(int64_t us) { wall_ = us; }

 private:
  std::atomic<int64_t> wall_{1'700'000'000'000'000};
  std::atomic<int64_t> mono_{1'000'000};
};

}  // namespace tandem
