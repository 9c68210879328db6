#include "core/coarse_timer.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace tandem {
namespace {

TEST(Deadline, FiresOnceAfterItsTimeUnlessDisarmed) {
  asio::io_context ioc(1);
  auto exec = ioc.get_executor();
  Deadline fires(exec), disarmed(exec), rearmed(exec);
  int fired = 0, never = 0;
  int64_t at = -1;
  const int64_t start = Deadline::NowUs();
  fires.arm_after_ms(30, [&] {
    ++fired;
    at = Deadline::NowUs() - start;
  });
  disarmed.arm_after_ms(10, [&] { ++never; });
  disarmed.disarm();
  rearmed.arm_after_ms(10, [&] { ++never; });
  rearmed.arm_after_ms(100000, [&] { ++never; });  // moved far away: must not fire in this test
  ioc.run_for(std::chrono::milliseconds(150));
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(fires.fired());
  EXPECT_GE(at, 30000);
  EXPECT_LT(at, 30000 + 5 * Deadline::kTickMs * 1000);  // within a few ticks, even on a busy machine
  EXPECT_EQ(never, 0);
  EXPECT_FALSE(disarmed.fired());
  EXPECT_FALSE(rearmed.fired());
}

TEST(Deadline, ADestroyedDeadlineIsForgottenAndANewLoopGetsItsOwnTick) {
  for (int loop = 0; loop < 2; ++loop) {  // the second io_context may reuse the first one's address
    asio::io_context ioc(1);
    int fired = 0, kept = 0;
    {
      Deadline gone(ioc.get_executor());
      gone.arm_after_ms(5, [&] { ++fired; });
    }
    Deadline d(ioc.get_executor());
    d.arm_after_ms(5, [&] { ++kept; });
    ioc.run_for(std::chrono::milliseconds(80));
    EXPECT_EQ(fired, 0) << loop;
    EXPECT_EQ(kept, 1) << loop;
  }
}

}  // namespace
}  // namespace tandem
