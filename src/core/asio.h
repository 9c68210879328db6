// The one way to include Asio's coroutine support. Boost 1.74's awaitable.hpp uses std::exchange without
// including <utility>, so <utility> must come first; clang-format must not reorder these two.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio/awaitable.hpp>
// clang-format on
