#include "core/sync_config.h"

#include <gtest/gtest.h>

namespace stagefs::core {
namespace {

TEST(SyncConfigTest, InvalidRulesNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({"importRules":[]})", "importRules"},
      {R"({"importRules":[{"prefix":"a/"}]})", "importRules"},
      {R"({"importRules":[{"prefix":""},{"prefix":""}]})", "importRules[1].prefix"},
      {R"({"importRules":[{"prefix":"","sizeLessThan":-1}]})", "importRules[0].sizeLessThan"},
      {R"({"importRules":[{"prefix":"","sizeLessThan":52776558133249}]})",
       "importRules[0].sizeLessThan"},
      {R"({"importRules":[{"prefix":"","trigger":"sometimes"}]})", "importRules[0].trigger"},
      {R"({"importRules":[{"prefix":"","colour":"red"}]})", "importRules[0]"},
      {R"({"importRules":[{"prefix":"/abs"},{"prefix":""}]})", "importRules[0].prefix"},
      {R"({"expiration":{"daysAfterLastAccess":0}})", "expiration.daysAfterLastAccess"},
      {R"({"expiration":{"daysAfterLastAccess":366}})", "expiration.daysAfterLastAccess"},
      {R"({"expiration":{"daysAfterLastAccess":"5y"}})", "expiration.daysAfterLastAccess"},
      {R"({"surprise":1})", "surprise"},
  };
  for (const auto& c : cases) {
    auto r = SyncConfigFromJson(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.error().message().find(c.field), std::string::npos)
        << c.json << " -> " << r.error().message();
  }
  std::string eleven = R"({"importRules":[{"prefix":""})";
  for (int i = 0; i < 10; ++i) eleven += R"(,{"prefix":"p)" + std::to_string(i) + R"("})";
  eleven += "]}";
  EXPECT_FALSE(SyncConfigFromJson(eleven).ok());
}

TEST(SyncConfigTest, LongestPrefixWinsAndRoundTrips) {
  auto c = SyncConfigFromJson(
      R"({"version":4,"importRules":[{"prefix":"","sizeLessThan":10},
          {"prefix":"data/","sizeLessThan":0},
          {"prefix":"data/hot/","sizeLessThan":1000,"trigger":"on-file-access"}],
          "expiration":{"daysAfterLastAccess":"90s"}})");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(MatchImportRule(*c, "x").size_less_than, 10u);
  EXPECT_EQ(MatchImportRule(*c, "data/x").size_less_than, 0u);
  EXPECT_EQ(MatchImportRule(*c, "data/hot/y").trigger, ImportTrigger::kOnFileAccess);
  EXPECT_EQ(c->expire_after, std::chrono::seconds(90));
  auto again = SyncConfigFromJson(SyncConfigToJson(*c));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, 4);
  EXPECT_EQ(again->import_rules.size(), 3u);
  EXPECT_EQ(again->expire_after, std::chrono::seconds(90));
}

}  // namespace
}  // namespace stagefs::core
