#include "core/sse.h"

#include <gtest/gtest.h>

#include <vector>

namespace tandem {
namespace {

TEST(SseParser, HandlesAnySplitOfTheBytes) {
  const std::string stream =
      "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: a comment\n\ndata: line1\ndata: line2\n\ndata: "
      "[DONE]\n\n";
  for (size_t step = 1; step <= stream.size(); ++step) {
    SseParser p;
    std::vector<std::pair<std::string, std::string>> got;
    for (size_t i = 0; i < stream.size(); i += step) {
      p.feed(stream.substr(i, step), [&](std::string_view e, std::string_view d) { got.emplace_back(e, d); });
    }
    ASSERT_EQ(got.size(), 3u) << "step " << step;
    EXPECT_EQ(got[0].first, "message_start");
    EXPECT_EQ(got[0].second, "{\"a\":1}");
    EXPECT_EQ(got[1].first, "");
    EXPECT_EQ(got[1].second, "line1\nline2");
    EXPECT_EQ(got[2].second, "[DONE]");
    EXPECT_EQ(p.pending(), 0u);
  }
}

TEST(SseParser, KeepsAnIncompleteEventPending) {
  SseParser p;
  int events = 0;
  p.feed("data: {\"partial\":", [&](std::string_view, std::string_view) { ++events; });
  EXPECT_EQ(events, 0);
  EXPECT_GT(p.pending(), 0u);
}

}  // namespace
}  // namespace tandem
