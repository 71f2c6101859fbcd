// CurlEngine: runs HTTP requests over one libcurl multi handle driven by a
// dedicated event-loop thread. Execute() blocks the calling thread until its own
// request finishes; any number of threads may call it at once. At most
// Options::max_in_flight transfers run at the same time, the rest wait in FIFO
// order. Idle connections are kept in the multi handle's cache and reused.
//
// Streaming: request bodies are read from a BodySource on demand (memcpy from
// memory, or pread from a file descriptor) and response bodies are either
// buffered or handed chunk by chunk to a BodyHandler, so memory use per transfer
// is bounded by curl's buffer size when streaming.
//
// Threading contract: BodyHandler callbacks and BodySource reads run on the
// event-loop thread. They must be quick and must never call back into the same
// client (that would deadlock the loop). The HttpRequest, its BodySource and the
// BodyHandler must stay alive until Execute returns (they do, since it blocks).
//
// curl_global_init is called once, from a function-static guard, the first time
// an engine is constructed (libcurl requires a process-wide init).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "s3/http/sigv4.h"
#include "s3/s3_error.h"
#include "s3/types.h"

namespace stagefs::s3::http {

struct HttpRequest {
  std::string method;      // GET, HEAD, PUT, POST or DELETE
  std::string url;
  KeyValues headers;       // sent as given (Host included)
  const BodySource* body = nullptr;  // PUT and POST only; nullptr = empty body
};

struct HttpResponse {
  int status = 0;              // 0 when no response arrived
  KeyValues headers;           // of the final response; names lower-case
  std::string body;            // whatever was not streamed to a handler
  uint64_t bytes_received = 0; // body bytes
  uint64_t bytes_sent = 0;     // request body bytes
  int curl_code = 0;           // CURLcode; 0 = transfer completed
  std::string curl_error;
  bool cancelled = false;      // the handler's on_data returned false

  // Value of the first header called `lower_name`, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
};

// Decides, once the final response's headers are known (just before the first
// body byte), whether the body goes to on_data (return true) or is buffered into
// HttpResponse::body. Not called for responses without a body.
struct BodyHandler {
  std::function<bool(int status, const KeyValues& headers)> on_head;
  DataSink on_data;
};

class CurlEngine {
 public:
  struct Options {
    int max_in_flight = 64;
    bool verify_tls = true;
    std::string ca_bundle;
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds low_speed_timeout{30'000};
    std::string user_agent;
    // Error bodies (non-2xx) are buffered up to this size; the rest is dropped.
    size_t max_error_body = 1 << 20;
  };

  explicit CurlEngine(Options options);
  ~CurlEngine();  // fails queued and running transfers, then joins the loop
  CurlEngine(const CurlEngine&) = delete;
  CurlEngine& operator=(const CurlEngine&) = delete;

  HttpResponse Execute(const HttpRequest& request, const BodyHandler* handler);

  struct Transfer;  // internal, public only for the C callbacks

 private:
  void Loop();
  void StartQueued();
  void FinishDone();
  void FailAll(const char* why);

  const Options options_;
  void* multi_ = nullptr;  // CURLM*, used only by the loop thread
  std::mutex mu_;
  std::deque<Transfer*> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;            // GUARDED_BY(mu_)
  std::vector<Transfer*> active_;  // in the multi handle; loop thread only
  std::thread loop_;
};

// Maps a failed transfer (curl_code != 0) to a typed S3 error: timeouts and
// connection failures are retryable; certificate failures and local read errors
// are not; a cancelled sink is kCancelled.
S3Error TransportError(const HttpResponse& r);

}  // namespace stagefs::s3::http
