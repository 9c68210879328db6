// SseParser: incremental parser for text/event-stream (Server-Sent Events).
//
// Feed it bytes as they arrive from the network in any split; it calls back once per complete event
// with the event name ("" when absent) and the data (multiple data: lines joined with '\n'). Comment
// lines (":...") and ids are ignored. Not thread-safe; one parser per stream.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tandem {

class SseParser {
 public:
  using Callback = std::function<void(std::string_view event, std::string_view data)>;

  // Consumes `bytes`; invokes `cb` for each event completed by them.
  void feed(std::string_view bytes, const Callback& cb);
  // Bytes received but not yet part of a complete event.
  size_t pending() const { return buf_.size(); }

 private:
  void line(std::string_view l, const Callback& cb);
  std::string buf_;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace tandem
