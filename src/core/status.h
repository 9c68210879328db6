// Status and Result<T>: errors as values on the request path.
//
// A Status is a code plus a human-readable message. Codes map one-to-one onto the HTTP status and the
// OpenAI error "type" that the gateway puts on the wire, so a Status can travel from a provider or the
// request parser to the client unchanged. Status is a small value type; it is not thread-safe to mutate
// one object from two threads, but copies are independent.
//
// Both types are [[nodiscard]]: a call whose Status or Result is dropped does not compile (-Werror). Where
// dropping one is right, say why: `store.Flush().IgnoreError("best effort: ...")`.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace tandem {

enum class Code {
  kOk = 0,
  kInvalidArgument,   // 400: malformed JSON, a missing or invalid field
  kUnauthenticated,   // 401: missing or unknown client key
  kPermissionDenied,  // 403: e.g. privacy policy forbids every candidate
  kNotFound,          // 404: unknown model or path
  kPayloadTooLarge,   // 413: request body over the limit
  kRateLimited,       // 429: upstream said slow down
  kUpstream,          // 502: upstream failed or answered garbage
  kUnavailable,       // 503: nothing could serve (breaker open, no provider)
  kDeadlineExceeded,  // 504: an upstream timeout fired
  kCancelled,         // client went away; never reaches the wire
  kInternal,          // 500: a bug
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, int upstream_http = 0)
      : code_(code), message_(std::move(message)), upstream_http_(upstream_http) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The HTTP status an upstream answered with, if this error came from one (0 otherwise).
  int upstream_http() const { return upstream_http_; }

  // HTTP status for the client.
  int http_status() const;
  // OpenAI error type ("invalid_request_error", "authentication_error", ...).
  const char* error_type() const;
  // Short machine code ("model_not_found", "rate_limited", ...), used in the error body and the ledger.
  const char* code_name() const;

  // Drops this status on purpose; `reason` says why that loses nothing (it documents the call site).
  void IgnoreError(const char* reason) const { (void)reason; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  int upstream_http_ = 0;
};

// A value or the Status explaining why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace tandem
