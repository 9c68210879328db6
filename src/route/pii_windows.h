// PiiWindows: the parts of a text that can hold personal data, found without running a regex.
//
// Every pattern of PiiDetector contains an *anchor* — a byte or a short byte sequence that the text around it
// must have for any match to exist: '@' (email), eight digits within sixteen bytes (card, ssn, phone), four
// digits and three dots (IPv4), two capitals before two digits (IBAN), a colon between hex digits (IPv6), and the fixed parts of the secret
// patterns ("sk-", "AKIA", "gh?_", "xox?-", "AIza", "--", "arer" of Bearer, and ':' or '=' after a word ending
// like password/secret/api key/token). Anchor bytes are found 64 at a time with AVX-512 or 32 with AVX2
// (scan_simd.h; a scalar loop on other CPUs, giving identical results); each is confirmed by a few scalar comparisons; each confirmed anchor becomes
// a window wide enough for the longest match that can contain it (kWindowReach bytes each side, more across
// runs of whitespace or an email's domain), and overlapping windows are merged. A regex then reads only the
// windows, with the rest of the text as context for \b. On prose with no personal data that is a few percent
// of the bytes. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace tandem {

struct TextSpan {
  size_t begin = 0;
  size_t end = 0;  // exclusive
};

// Each pattern's match spans at most this many bytes on either side of its anchor (card: 37 bytes in all,
// IBAN 42, private-key header 50), except where whitespace or a domain name stretches it; see the .cpp.
inline constexpr size_t kWindowReach = 100;

// The merged windows of `text`, in order, replacing `*out`. `force_scalar` selects the portable candidate scan
// (tests compare the two).
void PiiWindows(std::string_view text, std::vector<TextSpan>* out, bool force_scalar = false);

}  // namespace tandem
