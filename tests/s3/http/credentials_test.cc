#include "s3/http/credentials.h"

#include <gtest/gtest.h>

namespace stagefs::s3 {
namespace {

constexpr char kCredentials[] = R"(
# comment
[default]
aws_access_key_id = FILE_DEFAULT_KEY
aws_secret_access_key = FILE_DEFAULT_SECRET

[work]
aws_access_key_id=FILE_WORK_KEY
aws_secret_access_key=FILE_WORK_SECRET
aws_session_token=FILE_WORK_TOKEN
)";

constexpr char kConfig[] = R"(
[default]
region = eu-west-1
endpoint_url = http://default.example:9000

[profile work]
region = ap-south-1
s3 =
  endpoint_url = http://nested.example:7480
  addressing_style = path
ca_bundle = /etc/work-ca.pem

[profile onlyconfig]
aws_access_key_id = CFG_KEY
aws_secret_access_key = CFG_SECRET
)";

ConfigSources Files() {
  ConfigSources s;
  s.credentials_file = kCredentials;
  s.config_file = kConfig;
  return s;
}

TEST(CredentialsTest, ProfileFilesAlone) {
  auto r = ResolveClientOptions(Files());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->credentials.access_key_id, "FILE_DEFAULT_KEY");
  EXPECT_EQ(r->credentials.secret_access_key, "FILE_DEFAULT_SECRET");
  EXPECT_EQ(r->region, "eu-west-1");
  EXPECT_EQ(r->endpoint_url, "http://default.example:9000");
}

TEST(CredentialsTest, NamedProfileWithNestedS3Endpoint) {
  ConfigSources s = Files();
  s.env["AWS_PROFILE"] = "work";
  auto r = ResolveClientOptions(s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->credentials.access_key_id, "FILE_WORK_KEY");
  EXPECT_EQ(r->credentials.session_token, "FILE_WORK_TOKEN");
  EXPECT_EQ(r->region, "ap-south-1");
  EXPECT_EQ(r->endpoint_url, "http://nested.example:7480");
  EXPECT_EQ(r->ca_bundle, "/etc/work-ca.pem");
}

TEST(CredentialsTest, CredentialsFromConfigFileProfile) {
  ConfigSources s = Files();
  s.flags.profile = "onlyconfig";
  auto r = ResolveClientOptions(s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->credentials.access_key_id, "CFG_KEY");
  EXPECT_EQ(r->region, "us-east-1");  // nothing set anywhere
  EXPECT_EQ(r->endpoint_url, "");
}

TEST(CredentialsTest, EnvironmentBeatsFiles) {
  ConfigSources s = Files();
  s.env = {{"AWS_ACCESS_KEY_ID", "ENV_KEY"},  {"AWS_SECRET_ACCESS_KEY", "ENV_SECRET"},
           {"AWS_SESSION_TOKEN", "ENV_TOKEN"}, {"AWS_DEFAULT_REGION", "us-west-1"},
           {"AWS_ENDPOINT_URL", "http://env-generic:1"}, {"AWS_CA_BUNDLE", "/env/ca.pem"}};
  auto r = ResolveClientOptions(s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->credentials.access_key_id, "ENV_KEY");
  EXPECT_EQ(r->credentials.session_token, "ENV_TOKEN");
  EXPECT_EQ(r->region, "us-west-1");
  EXPECT_EQ(r->endpoint_url, "http://env-generic:1");
  EXPECT_EQ(r->ca_bundle, "/env/ca.pem");
  // The more specific variables win over the generic ones.
  s.env["AWS_REGION"] = "us-west-2";
  s.env["AWS_ENDPOINT_URL_S3"] = "http://env-s3:2";
  r = ResolveClientOptions(s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->region, "us-west-2");
  EXPECT_EQ(r->endpoint_url, "http://env-s3:2");
}

TEST(CredentialsTest, FlagsBeatEverything) {
  ConfigSources s = Files();
  s.env = {{"AWS_ACCESS_KEY_ID", "ENV_KEY"}, {"AWS_SECRET_ACCESS_KEY", "ENV_SECRET"},
           {"AWS_SESSION_TOKEN", "ENV_TOKEN"}, {"AWS_REGION", "us-west-2"},
           {"AWS_ENDPOINT_URL_S3", "http://env-s3:2"}};
  s.flags = {"FLAG_KEY", "FLAG_SECRET", "", "sa-east-1", "http://127.0.0.1:7480", ""};
  ClientOptions base;
  base.max_in_flight = 7;
  auto r = ResolveClientOptions(s, base);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->credentials.access_key_id, "FLAG_KEY");
  EXPECT_EQ(r->credentials.session_token, "");  // never mixed with the env token
  EXPECT_EQ(r->region, "sa-east-1");
  EXPECT_EQ(r->endpoint_url, "http://127.0.0.1:7480");
  EXPECT_EQ(r->max_in_flight, 7);  // untouched fields are kept
}

TEST(CredentialsTest, ClearErrors) {
  ConfigSources s = Files();
  s.flags.profile = "missing";
  auto r = ResolveClientOptions(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("missing"), std::string::npos);

  ConfigSources half;
  half.flags.access_key_id = "ONLY_KEY";
  r = ResolveClientOptions(half);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);

  ConfigSources env_half;
  env_half.env["AWS_SECRET_ACCESS_KEY"] = "x";
  EXPECT_FALSE(ResolveClientOptions(env_half).ok());

  ConfigSources nothing;
  r = ResolveClientOptions(nothing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no S3 credentials"), std::string::npos);
}

TEST(CredentialsTest, FilePaths) {
  auto p = AwsFilePathsFromEnv({{"HOME", "/home/u"}});
  EXPECT_EQ(p.credentials, "/home/u/.aws/credentials");
  EXPECT_EQ(p.config, "/home/u/.aws/config");
  p = AwsFilePathsFromEnv({{"HOME", "/home/u"}, {"AWS_SHARED_CREDENTIALS_FILE", "/c"},
                           {"AWS_CONFIG_FILE", "/f"}});
  EXPECT_EQ(p.credentials, "/c");
  EXPECT_EQ(p.config, "/f");
  EXPECT_EQ(AwsFilePathsFromEnv({}).config, "");
}

TEST(CredentialsTest, IniParsing) {
  IniFile ini = ParseIni("[a]\nK = v = w\n; c\n[b]\ns3 =\n  x = 1\ny = 2\n");
  EXPECT_EQ(ini["a"]["k"], "v = w");
  EXPECT_EQ(ini["b"]["s3.x"], "1");
  EXPECT_EQ(ini["b"]["y"], "2");
}

}  // namespace
}  // namespace stagefs::s3
