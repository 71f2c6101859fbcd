// Log lines carry names with any bytes in the escaped form of base/text.h.
#include "base/log_sink.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "base/text.h"

namespace stagefs {
namespace {

TEST(EscapingSink, EscapesNamesInLogLines) {
  std::ostringstream out;
  auto logger = MakeEscapingLogger(std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("%v");
  logger->info("export of /bad-\xff\xfe-name.txt failed");
  logger->info("plain line");
  logger->flush();
  EXPECT_EQ(out.str(), "export of /bad-\\xff\\xfe-name.txt failed\nplain line\n");
}

TEST(EscapingSink, EveryByteValueGivesOneValidLine) {
  std::ostringstream out;
  auto logger = MakeEscapingLogger(std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("%v");
  for (int b = 0; b < 256; ++b) {
    out.str("");
    logger->info("name {}", std::string(1, static_cast<char>(b)));
    logger->flush();
    std::string line = out.str();
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    EXPECT_TRUE(IsValidUtf8(line)) << b;
    EXPECT_EQ(line.find('\n'), std::string::npos) << b;
    EXPECT_EQ(UnescapeBytes(line), "name " + std::string(1, static_cast<char>(b)));
  }
}

}  // namespace
}  // namespace stagefs
