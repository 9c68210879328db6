// CoarseTimers and Deadline: per-thread, tick-driven deadlines that cost no system call to arm or disarm.
//
// The request path needs many timeouts (connect, first byte, total, idle, write) that almost never fire.
// Asio timers reprogram the kernel timer (timerfd_settime) whenever the earliest deadline changes, which
// on a loaded gateway means several system calls per request. Here every event-loop thread instead runs
// one periodic tick (kTickMs); a Deadline is a plain entry the tick sweeps, so arming and disarming are
// memory writes. Precision is one tick, plenty for timeouts of hundreds of milliseconds and more.
// A Deadline belongs to the event-loop thread that created it and must be used only there; its `fire`
// callback runs on that thread, from the tick.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include "core/asio.h"

namespace tandem {

namespace asio = boost::asio;

class Deadline {
 public:
  static constexpr int kTickMs = 20;

  // `exec` is the calling thread's event loop; the first Deadline on a loop starts its tick.
  explicit Deadline(const asio::any_io_executor& exec);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Calls `fire` once, at the first tick at or after `mono_us` (steady clock, microseconds), unless
  // disarmed or re-armed first.
  void arm_at(int64_t mono_us, std::function<void()> fire);
  void arm_after_ms(int64_t ms, std::function<void()> fire);
  void disarm();
  bool fired() const;

  static int64_t NowUs();

  struct Entry;

 private:
  std::shared_ptr<Entry> entry_;
};

}  // namespace tandem
