// Options for the real S3 client: endpoint, addressing, credentials, TLS,
// concurrency and retry policy. Built once in main (app/) from flags, the
// environment and ~/.aws files (see credentials.h), then passed by value.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace stagefs::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional
  bool empty() const { return access_key_id.empty(); }
};

struct RetryOptions {
  int max_attempts = 10;  // per request; the sync engine may retry further itself
  std::chrono::milliseconds base_delay{50};
  std::chrono::milliseconds max_delay{20'000};
};

struct ClientOptions {
  // "https://s3.us-east-1.amazonaws.com" or "http://127.0.0.1:7480". Empty: AWS
  // for `region`.
  std::string endpoint_url;
  std::string region = "us-east-1";
  Credentials credentials;
  // Path-style ("host/bucket/key") vs virtual-hosted ("bucket.host/key"). kAuto
  // picks path-style for IP addresses, localhost and non-AWS endpoints with a
  // port, virtual-hosted otherwise.
  enum class Addressing { kAuto, kPath, kVirtual };
  Addressing addressing = Addressing::kAuto;
  bool verify_tls = true;   // never off unless the user says so
  std::string ca_bundle;    // optional path (AWS_CA_BUNDLE)
  int max_in_flight = 64;   // concurrent HTTP requests
  bool sign_payload = false;  // false: UNSIGNED-PAYLOAD (TLS protects integrity)
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer making less than 1 byte/s progress for this long is a timeout.
  std::chrono::milliseconds low_speed_timeout{30'000};
  RetryOptions retry;
  std::string user_agent = "stagefs/0.1";
};

}  // namespace stagefs::s3
