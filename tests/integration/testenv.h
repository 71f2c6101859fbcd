// testenv.h: the real S3 server an integration test talks to, and an independent
// client (awscli) to check our writes with.
//
// scripts/test starts Ceph RGW and s3rver on 127.0.0.1 and exports their env files;
// CTest sets STAGEFS_TEST_SERVER=rgw|s3rver per run. LoadS3TestServer() turns
// STAGEFS_<SERVER>_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _REGION into ClientOptions.
// When they are missing, the S3IntegrationTest fixture fails every test if CI is
// set (a CI run must not pass by skipping) and skips it otherwise (a developer
// running the binary by hand).
//
// Buckets: CreateTestBucket() makes a bucket with a unique name per call through
// awscli (ObjectClient has no CreateBucket on purpose: stagefs never creates
// buckets). Helpers here are for tests only: they block, shell out and are not
// thread-safe unless stated.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "base/clock.h"
#include "base/metrics.h"
#include "s3/http/client_options.h"
#include "s3/http/curl_object_client.h"
#include "s3/object_client.h"

namespace stagefs::testing {

struct S3TestServer {
  std::string name;  // "rgw" or "s3rver"
  s3::ClientOptions options;

  bool is_rgw() const { return name == "rgw"; }
  // s3rver accepts any signature, ignores preconditions, has no UploadPartCopy
  // and answers suffix ranges with the wrong bytes (DESIGN.md section 5).
  bool is_s3rver() const { return name == "s3rver"; }
};

inline std::string GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

inline bool InCi() {
  std::string ci = GetEnv("CI");
  return !ci.empty() && ci != "0" && ci != "false";
}

// Reads the server named by STAGEFS_TEST_SERVER. On failure returns nullopt and
// says why in `*why`.
inline std::optional<S3TestServer> LoadS3TestServer(std::string* why) {
  S3TestServer s;
  s.name = GetEnv("STAGEFS_TEST_SERVER");
  if (s.name != "rgw" && s.name != "s3rver") {
    *why = "STAGEFS_TEST_SERVER must be rgw or s3rver (got '" + s.name +
           "'); run through scripts/test or ctest";
    return std::nullopt;
  }
  std::string up = s.name == "rgw" ? "RGW" : "S3RVER";
  auto var = [&](const char* suffix) { return "STAGEFS_" + up + "_" + suffix; };
  s.options.endpoint_url = GetEnv(var("ENDPOINT").c_str());
  s.options.credentials.access_key_id = GetEnv(var("ACCESS_KEY").c_str());
  s.options.credentials.secret_access_key = GetEnv(var("SECRET_KEY").c_str());
  std::string region = GetEnv(var("REGION").c_str());
  if (!region.empty()) s.options.region = region;
  if (s.options.endpoint_url.empty() || s.options.credentials.empty() ||
      s.options.credentials.secret_access_key.empty()) {
    *why = var("ENDPOINT") + ", " + var("ACCESS_KEY") + " and " + var("SECRET_KEY") +
           " must be set (scripts/testbed/" + s.name + "-up DIR writes them to DIR/env; " +
           "scripts/test exports them)";
    return std::nullopt;
  }
  s.options.addressing = s3::ClientOptions::Addressing::kPath;
  // Fail fast on a dead server instead of backing off for minutes.
  s.options.retry.max_attempts = 3;
  s.options.retry.max_delay = std::chrono::milliseconds(500);
  return s;
}

// Asserts that an S3Result (evaluated once) is ok, printing the error if not.
#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    const auto& stagefs_r_ = (expr);                                       \
    ASSERT_TRUE(stagefs_r_.ok()) << #expr << ": " << stagefs_r_.error().ToString(); \
  } while (0)

// Expects `expr` (evaluated once) to have failed with `expected_kind`.
#define EXPECT_S3_ERROR(expr, expected_kind)                                         \
  do {                                                                               \
    const auto& stagefs_e_ = (expr);                                                 \
    ASSERT_FALSE(stagefs_e_.ok()) << #expr << ": expected "                          \
                                  << ::stagefs::s3::S3ErrorKindName(expected_kind);             \
    EXPECT_EQ(stagefs_e_.error().kind, expected_kind) << stagefs_e_.error().ToString(); \
  } while (0)

// Single-quotes `s` for /bin/sh.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh, capturing its output.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs `aws --endpoint-url ... <args>` against `server` with its credentials
// (never from the user's profile). `args` is pasted into a shell command line:
// quote keys and paths with ShellQuote.
inline CommandResult RunAws(const S3TestServer& server, const std::string& args) {
  const auto& o = server.options;
  std::string cmd = "env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_CA_BUNDLE";
  cmd += " AWS_ACCESS_KEY_ID=" + ShellQuote(o.credentials.access_key_id);
  cmd += " AWS_SECRET_ACCESS_KEY=" + ShellQuote(o.credentials.secret_access_key);
  cmd += " AWS_DEFAULT_REGION=" + ShellQuote(o.region);
  cmd += " AWS_EC2_METADATA_DISABLED=true AWS_PAGER= AWS_CONFIG_FILE=/dev/null";
  cmd += " AWS_SHARED_CREDENTIALS_FILE=/dev/null";
  cmd += " aws --endpoint-url " + ShellQuote(o.endpoint_url) + " " + args;
  return RunCommand(cmd);
}

// A bucket name unique to this process and call: "stagefs-it-<tag>-<pid>-<hex>".
inline std::string UniqueBucketName(const std::string& tag) {
  static std::mt19937_64 rng(std::random_device{}());
  std::string name = "stagefs-it-" + tag + "-" + std::to_string(getpid()) + "-";
  static const char kHex[] = "0123456789abcdef";
  uint64_t r = rng();
  for (int i = 0; i < 8; ++i) name += kHex[(r >> (4 * i)) & 0xf];
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// Creates a fresh bucket with awscli. Returns its name, or "" with `*error` set.
inline std::string CreateTestBucket(const S3TestServer& server, const std::string& tag,
                                    std::string* error) {
  std::string bucket = UniqueBucketName(tag);
  CommandResult r = RunAws(server, "s3api create-bucket --bucket " + ShellQuote(bucket));
  if (r.exit_code != 0) {
    *error = "aws s3api create-bucket " + bucket + " failed (exit " +
             std::to_string(r.exit_code) + "): " + r.output;
    return "";
  }
  return bucket;
}

// Deletes the bucket and everything in it; failures are ignored (the test servers
// are thrown away after the run anyway).
inline void DeleteTestBucket(const S3TestServer& server, const std::string& bucket) {
  if (bucket.empty()) return;
  (void)RunAws(server, "s3 rb --force " + ShellQuote("s3://" + bucket));
}

// Random bytes, reproducible from `seed`.
inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&out[i], &v, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<char>(rng());
  return out;
}

// Base fixture: one server, one real client and one fresh bucket for the whole
// test binary, created by the first test's SetUp and deleted at exit. Each test
// works under its own key prefix, Prefix().
class S3IntegrationTest : public ::testing::Test {
 protected:
  struct Shared {
    S3TestServer server;
    RealClock clock;
    MetricsRegistry metrics;
    std::unique_ptr<s3::ObjectClient> client;
    std::string bucket;
    ~Shared() { DeleteTestBucket(server, bucket); }
  };

  void SetUp() override {
    static std::unique_ptr<Shared> shared;  // lives until exit
    static std::string setup_error;
    if (!shared && setup_error.empty()) {
      std::string why;
      auto server = LoadS3TestServer(&why);
      if (!server) {
        if (InCi()) FAIL() << "no S3 test server, and CI is set: " << why;
        static bool told = false;  // the full reason once, not once per test
        if (!told) {
          told = true;
          GTEST_SKIP() << "no S3 test server: " << why;
        }
        GTEST_SKIP() << "no S3 test server";
      }
      auto s = std::make_unique<Shared>();
      s->server = *std::move(server);
      s->client = s3::MakeCurlObjectClient(s->server.options, &s->clock, &s->metrics);
      s->bucket = CreateTestBucket(s->server, s->server.name, &setup_error);
      if (setup_error.empty()) shared = std::move(s);
    }
    ASSERT_TRUE(setup_error.empty()) << setup_error;
    shared_ = shared.get();
  }

  const S3TestServer& server() const { return shared_->server; }
  s3::ObjectClient& client() const { return *shared_->client; }
  MetricsRegistry& metrics() const { return shared_->metrics; }
  const std::string& bucket() const { return shared_->bucket; }
  const s3::ClientOptions& options() const { return shared_->server.options; }

  // "<TestName>/": keys of one test never collide with another's.
  static std::string Prefix() {
    return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
  }

  // A client with different options against the same server (wrong secret etc.).
  std::unique_ptr<s3::ObjectClient> MakeClient(const s3::ClientOptions& o) const {
    return s3::MakeCurlObjectClient(o, &shared_->clock, &shared_->metrics);
  }

 private:
  Shared* shared_ = nullptr;
};

}  // namespace stagefs::testing
