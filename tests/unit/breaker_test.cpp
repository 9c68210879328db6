#include "providers/breaker.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndProbesAfterCooldown) {
  ManualClock clock;
  CircuitBreaker b(BreakerPolicy{3, 1000}, clock);
  EXPECT_TRUE(b.allow());
  b.failure();
  b.failure();
  b.success();  // resets the count
  b.failure();
  b.failure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  b.failure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.allow());
  clock.advance_us(999'000);
  EXPECT_FALSE(b.allow());
  clock.advance_us(2'000);
  EXPECT_TRUE(b.allow());   // the probe
  EXPECT_FALSE(b.allow());  // only one at a time
  b.failure();              // probe failed: open again
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  clock.advance_us(1'001'000);
  EXPECT_TRUE(b.allow());
  b.success();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.allow());
}

TEST(CircuitBreaker, AnAbandonedProbeDoesNotWedgeTheBreaker) {
  ManualClock clock;
  CircuitBreaker b(BreakerPolicy{1, 1000}, clock);
  b.failure();
  clock.advance_us(1'001'000);
  EXPECT_TRUE(b.allow());  // the probe...
  b.abandon();             // ...whose client went away
  EXPECT_TRUE(b.allow());  // another probe may go
}

}  // namespace
}  // namespace tandem
