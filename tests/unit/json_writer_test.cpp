#include "core/json_writer.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(JsonWriter, WritesNestedStructuresWithCommas) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("a", 1).key("b").begin_array().value("x").value(true).null().end_array();
  w.kv("c", 1.5).key("d").begin_object().end_object().end_object();
  EXPECT_EQ(out, R"({"a":1,"b":["x",true,null],"c":1.5,"d":{}})");
}

TEST(JsonWriter, EscapesControlCharactersQuotesAndBackslashes) {
  std::string out;
  AppendJsonString(out, std::string("a\"b\\c\n\t\x01", 8));
  EXPECT_EQ(out, R"("a\"b\\c\n\t\u0001")");
}

TEST(JsonWriter, KeepsUtf8AsIs) {
  std::string out;
  AppendJsonString(out, "h\xC3\xA9llo \xE2\x9C\x93");
  EXPECT_EQ(out, "\"h\xC3\xA9llo \xE2\x9C\x93\"");
}

// JSON must be UTF-8: each maximal subpart of an ill-formed sequence becomes one U+FFFD (as Python's
// errors="replace" and WHATWG decoders read it), and the valid text around them is kept (a truncated emoji from
// a model's last token, a Latin-1 byte, an overlong or surrogate form, a lone continuation byte).
TEST(JsonWriter, ReplacesIllFormedUtf8WithReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  const struct {
    std::string in, want;
  } cases[] = {
      {"ok \xF0\x9F\x98", "ok " + fffd},                         // emoji cut after three of its four bytes
      {"caf\xE9!", "caf" + fffd + "!"},                             // Latin-1 e-acute
      {"\xC0\xAF", fffd + fffd},                                    // overlong '/'
      {"\xED\xA0\x80" "x", fffd + fffd + fffd + "x"},              // UTF-16 surrogate
      {"\x80" "a", fffd + "a"},                                      // lone continuation byte
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},            // above U+10FFFF
      {"\xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF", "\xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"},  // valid 4-byte forms stay
  };
  for (const auto& c : cases) EXPECT_EQ(JsonString(c.in), "\"" + c.want + "\"") << c.in;
}

TEST(JsonWriter, NonFiniteNumbersBecomeNull) {
  std::string out;
  JsonWriter(out).begin_array().value(1.0 / 0.0).end_array();
  EXPECT_EQ(out, "[null]");
}

}  // namespace
}  // namespace tandem
