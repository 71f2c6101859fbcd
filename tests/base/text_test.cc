// The shared escaping of byte strings (names, keys) for every encoder.
#include "base/text.h"

#include "base/metrics.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace stagefs {
namespace {

TEST(Text, ValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain.txt"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9t\xc3\xa9"));              // été
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));              // emoji
  EXPECT_TRUE(IsValidUtf8("e\xcc\x81"));                     // combining mark
  EXPECT_TRUE(IsValidUtf8("\xef\xbf\xbd"));                  // U+FFFD
  EXPECT_FALSE(IsValidUtf8("bad-\xff\xfe-name.txt"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));                     // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));                 // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));             // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));                     // truncated
  EXPECT_FALSE(IsValidUtf8("caf\xe9"));                      // Latin-1
}

TEST(Text, EscapesOnlyWhatIsNotPrintableUtf8) {
  EXPECT_EQ(EscapeBytes("bad-\xff\xfe-name.txt"), "bad-\\xff\\xfe-name.txt");
  EXPECT_EQ(EscapeBytes("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(EscapeBytes("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(EscapeBytes("back\\slash"), "back\\\\slash");
  EXPECT_EQ(EscapeBytes(std::string("nul\0x", 5)), "nul\\x00x");
}

void CheckEncodes(const std::string& s) {
  std::string e = EscapeBytes(s);
  ASSERT_TRUE(IsValidUtf8(e));
  for (unsigned char c : e) ASSERT_TRUE(c >= 0x20 && c != 0x7f) << "control byte in output";
  ASSERT_EQ(UnescapeBytes(e), s);
  nlohmann::json j = e;
  ASSERT_NO_THROW((void)j.dump());
}

TEST(Text, EveryByteValueAndRandomStringsRoundTrip) {
  for (int b = 0; b < 256; ++b) {
    CheckEncodes(std::string(1, static_cast<char>(b)));
    CheckEncodes("x" + std::string(1, static_cast<char>(b)) + "\\x41");
  }
  std::mt19937 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    CheckEncodes(s);
  }
}

}  // namespace
}  // namespace stagefs

namespace stagefs {
namespace {

// Label values that carry any bytes render as valid exposition-format text.
TEST(Text, MetricLabelsSurviveEveryByteValue) {
  MetricsRegistry m;
  for (int b = 0; b < 256; ++b)
    m.GetCounter("t_total", "test", {{"name", "x" + std::string(1, static_cast<char>(b))}})->Inc();
  std::string text = m.RenderPrometheus();
  EXPECT_TRUE(IsValidUtf8(text));
  int samples = 0;
  for (size_t pos = 0; (pos = text.find("t_total{", pos)) != std::string::npos; ++pos) ++samples;
  EXPECT_EQ(samples, 256);  // one line each: no raw newline split a sample
  EXPECT_NE(text.find("name=\"x\\\\xff\""), std::string::npos);
  EXPECT_NE(text.find("name=\"x\\\""), std::string::npos);
}

}  // namespace
}  // namespace stagefs
