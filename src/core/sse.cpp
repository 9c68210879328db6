#include "core/sse.h"

namespace tandem {

void SseParser::feed(std::string_view bytes, const Callback& cb) {
  buf_.append(bytes);
  size_t start = 0;
  while (true) {
    size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    size_t end = nl;
    if (end > start && buf_[end - 1] == '\r') --end;
    line(std::string_view(buf_).substr(start, end - start), cb);
    start = nl + 1;
  }
  buf_.erase(0, start);
}

void SseParser::line(std::string_view l, const Callback& cb) {
  if (l.empty()) {  // dispatch
    if (has_data_) cb(event_, data_);
    event_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (l[0] == ':') return;
  size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  }
}

}  // namespace tandem
