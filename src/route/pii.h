// PiiDetector: finds personal data and secrets in text, in linear time (RE2) plus checksums.
//
// Kinds: email, phone, card (13-19 digits passing the Luhn check), iban (ISO 13616 mod-97 check), ssn
// (US format with the invalid area/group/serial ranges excluded), ip (IPv4 and IPv6), secret (API keys
// of common vendors, private key blocks, bearer tokens, password assignments), and media (any image, audio or
// file part: what no text scan can read is treated as personal data). A hostile prompt cannot
// stall detection: every pattern is RE2 and the checksum passes are linear. kinds_in() runs the patterns only
// on the windows around anchor bytes (pii_windows.h), so prose costs a SIMD pass; scan() reads everything.
// Thread-safe after construction (RE2 objects are const).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

struct PiiFinding {
  std::string kind;
  size_t offset = 0;
  size_t length = 0;
};

class PiiDetector {
 public:
  // `kinds` selects the enabled detectors (names as in AllPiiKinds()).
  explicit PiiDetector(const std::vector<std::string>& kinds);
  ~PiiDetector();
  PiiDetector(const PiiDetector&) = delete;
  PiiDetector& operator=(const PiiDetector&) = delete;

  // Whether the "media" kind is enabled: an image, audio or file part counts as personal data, since no text
  // scan can read it (ComputeFeatures applies it; scan() and kinds_in() read text only).
  bool counts_media() const { return media_; }

  // All findings, at most `limit`.
  std::vector<PiiFinding> scan(std::string_view text, size_t limit = 16) const;
  // The distinct kinds found (cheaper: stops at the first hit of each kind).
  std::vector<std::string> kinds_in(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool media_ = false;
};

// Checksums, exposed for tests.
bool LuhnValid(std::string_view digits);
bool IbanValid(std::string_view iban_without_spaces);

}  // namespace tandem
