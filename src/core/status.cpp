#include "core/status.h"

namespace tandem {

int Status::http_status() const {
  switch (code_) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kPayloadTooLarge:
      return 413;
    case Code::kRateLimited:
      return 429;
    case Code::kUpstream:
      return 502;
    case Code::kUnavailable:
      return 503;
    case Code::kDeadlineExceeded:
      return 504;
    case Code::kCancelled:
      return 499;
    case Code::kInternal:
      return 500;
  }
  return 500;
}

const char* Status::error_type() const {
  switch (code_) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kPayloadTooLarge:
      return "invalid_request_error";
    case Code::kUnauthenticated:
      return "authentication_error";
    case Code::kPermissionDenied:
      return "permission_error";
    case Code::kRateLimited:
      return "rate_limit_error";
    case Code::kUpstream:
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
      return "upstream_error";
    default:
      return "server_error";
  }
}

const char* Status::code_name() const {
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_request";
    case Code::kUnauthenticated:
      return "invalid_api_key";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kNotFound:
      return "not_found";
    case Code::kPayloadTooLarge:
      return "payload_too_large";
    case Code::kRateLimited:
      return "rate_limited";
    case Code::kUpstream:
      return "upstream_failed";
    case Code::kUnavailable:
      return "no_upstream_available";
    case Code::kDeadlineExceeded:
      return "upstream_timeout";
    case Code::kCancelled:
      return "client_cancelled";
    case Code::kInternal:
      return "internal_error";
  }
  return "internal_error";
}

}  // namespace tandem
