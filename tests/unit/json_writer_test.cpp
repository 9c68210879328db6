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

TEST(JsonWriter, NonFiniteNumbersBecomeNull) {
  std::string out;
  JsonWriter(out).begin_array().value(1.0 / 0.0).end_array();
  EXPECT_EQ(out, "[null]");
}

}  // namespace
}  // namespace tandem
