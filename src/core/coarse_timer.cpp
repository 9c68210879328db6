#include "core/coarse_timer.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <vector>

namespace tandem {

struct Deadline::Entry {
  int64_t at_us = 0;
  bool armed = false;
  bool fired = false;
  std::function<void()> fire;
};

namespace {

// The tick of one event loop, and the deadlines it sweeps. One per thread (each worker runs one loop).
struct Wheel {
  asio::execution_context* context = nullptr;  // the loop the tick runs on
  std::vector<std::weak_ptr<Deadline::Entry>> entries;

  void sweep() {
    int64_t now = Deadline::NowUs();
    size_t keep = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      std::shared_ptr<Deadline::Entry> e = entries[i].lock();
      if (!e) continue;  // its Deadline is gone
      entries[keep++] = entries[i];
      if (e->armed && e->at_us <= now) {
        e->armed = false;
        e->fired = true;
        auto fire = std::move(e->fire);
        e->fire = nullptr;
        if (fire) fire();
      }
    }
    entries.resize(keep);
  }
};

Wheel& ThisThreadWheel() {
  thread_local Wheel wheel;
  return wheel;
}

asio::awaitable<void> Tick(Wheel* wheel, asio::steady_timer* timer) {
  std::unique_ptr<asio::steady_timer> owned(timer);
  struct Forget {  // the loop is gone (its io_context destroyed this frame): the next loop starts afresh
    Wheel* wheel;
    ~Forget() { wheel->context = nullptr; }
  } forget{wheel};
  for (;;) {
    timer->expires_after(std::chrono::milliseconds(Deadline::kTickMs));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    wheel->sweep();
  }
}

}  // namespace

int64_t Deadline::NowUs() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

Deadline::Deadline(const asio::any_io_executor& exec) : entry_(std::make_shared<Entry>()) {
  Wheel& wheel = ThisThreadWheel();
  asio::execution_context* ctx = &asio::query(exec, asio::execution::context);
  if (wheel.context != ctx) {  // first use on this loop: start its tick
    wheel.context = ctx;
    wheel.entries.clear();
    asio::co_spawn(exec, Tick(&wheel, new asio::steady_timer(exec)), asio::detached);
  }
  wheel.entries.push_back(entry_);
}

Deadline::~Deadline() { disarm(); }

void Deadline::arm_at(int64_t mono_us, std::function<void()> fire) {
  entry_->at_us = mono_us;
  entry_->armed = true;
  entry_->fired = false;
  entry_->fire = std::move(fire);
}

void Deadline::arm_after_ms(int64_t ms, std::function<void()> fire) {
  arm_at(NowUs() + ms * 1000, std::move(fire));
}

void Deadline::disarm() {
  entry_->armed = false;
  entry_->fire = nullptr;
}

bool Deadline::fired() const { return entry_->fired; }

}  // namespace tandem
