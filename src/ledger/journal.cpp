#include "ledger/journal.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "core/json_writer.h"

namespace tandem {

std::string RowToJson(const LedgerRecord& r) {
  std::string out;
  out.reserve(512);
  JsonWriter w(out);
  w.begin_object().kv("ts_us", r.ts_us).kv("request_id", r.request_id).kv("key_id", r.key_id);
  w.kv("requested_model", r.requested_model)
      .kv("model", r.model)
      .kv("tier", r.tier)
      .kv("locality", r.locality);
  w.kv("reasons", r.reasons).kv("rule", r.rule).kv("prompt_tokens", r.prompt_tokens);
  w.kv("completion_tokens", r.completion_tokens).kv("usage_estimated", r.usage_estimated);
  w.kv("cost_usd", r.cost_usd).kv("baseline_usd", r.baseline_usd).kv("ttft_us", r.ttft_us);
  w.kv("total_us", r.total_us).kv("overhead_us", r.overhead_us).kv("http_status", r.http_status);
  w.kv("status", r.status).kv("error", r.error).kv("pii", r.pii).kv("local_only", r.local_only);
  w.kv("stream", r.stream).kv("attempts", r.attempts).kv("escalation", r.escalation);
  w.kv("draft_tokens", r.draft_tokens).kv("draft_cost_usd", r.draft_cost_usd).kv("signals", r.signals);
  w.kv("p_right", r.p_right).kv("shadow_of", r.shadow_of).kv("verdict", int64_t{r.verdict}).end_object();
  return out;
}

bool RowFromJson(std::string_view line, LedgerRecord& r) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(line.data(), line.size()).get(e) || !e.is_object()) return false;
  auto str = [&](const char* k, std::string& out) {
    std::string_view v;
    if (e[k].get(v)) return false;
    out = std::string(v);
    return true;
  };
  auto num = [&](const char* k, int64_t& out) { return !e[k].get(out); };
  auto dbl = [&](const char* k, double& out) { return !e[k].get(out); };
  auto flag = [&](const char* k, bool& out) { return !e[k].get(out); };
  int64_t status = 0, attempts = 0;
  bool ok = num("ts_us", r.ts_us) && str("request_id", r.request_id) && str("key_id", r.key_id) &&
            str("requested_model", r.requested_model) && str("model", r.model) && str("tier", r.tier) &&
            str("locality", r.locality) && str("reasons", r.reasons) && str("rule", r.rule) &&
            num("prompt_tokens", r.prompt_tokens) && num("completion_tokens", r.completion_tokens) &&
            flag("usage_estimated", r.usage_estimated) && dbl("cost_usd", r.cost_usd) &&
            dbl("baseline_usd", r.baseline_usd) && num("ttft_us", r.ttft_us) && num("total_us", r.total_us) &&
            num("overhead_us", r.overhead_us) && num("http_status", status) && str("status", r.status) &&
            str("error", r.error) && str("pii", r.pii) && flag("local_only", r.local_only) &&
            flag("stream", r.stream) && num("attempts", attempts) && str("escalation", r.escalation);
  r.http_status = static_cast<int>(status);
  r.attempts = static_cast<int>(attempts);
  // Fields later versions added: a journal an older gateway wrote lacks them.
  int64_t verdict = -1;
  num("draft_tokens", r.draft_tokens);
  dbl("draft_cost_usd", r.draft_cost_usd);
  str("signals", r.signals);
  dbl("p_right", r.p_right);
  str("shadow_of", r.shadow_of);
  num("verdict", verdict);
  r.verdict = static_cast<int>(verdict);
  return ok;
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return Status(Code::kInternal, "cannot open ledger journal " + path + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  return std::unique_ptr<Journal>(new Journal(fd, st.st_size));
}

Journal::~Journal() { ::close(fd_); }

Status Journal::append(const LedgerRecord& r) {
  line_ = RowToJson(r);
  line_.push_back('\n');
  const char* p = line_.data();
  size_t left = line_.size();
  while (left > 0) {  // one write() in practice; loop only on a short write
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(Code::kInternal, std::string("ledger journal write failed: ") + std::strerror(errno));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(line_.size());
  return Status::Ok();
}

Status Journal::truncate() {
  if (::ftruncate(fd_, 0) != 0) {
    return Status(Code::kInternal, std::string("ledger journal truncate failed: ") + std::strerror(errno));
  }
  size_ = 0;
  return Status::Ok();
}

std::vector<LedgerRecord> Journal::ReadAll(const std::string& path) {
  std::vector<LedgerRecord> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    LedgerRecord r;
    if (RowFromJson(line, r)) rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace tandem
