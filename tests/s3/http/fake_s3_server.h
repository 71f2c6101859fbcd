// FakeS3Server: a tiny in-process S3-like HTTP server on 127.0.0.1 (cpp-httplib)
// for end-to-end tests of CurlObjectClient: stores objects by path, answers
// GET/HEAD (with single ranges), PUT and DELETE, records every request, and lets
// a test intercept requests to inject errors, truncation or odd responses.
// Test-only; the intercept hook runs on server threads and must be thread-safe.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "s3/etag.h"

namespace stagefs::s3::http::testing {

struct RecordedRequest {
  std::string method;
  std::string target;  // raw, as sent
  std::string path;    // decoded
  httplib::Headers headers;
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class FakeS3Server {
 public:
  // Return true when the response was produced by the hook.
  using Intercept = std::function<bool(const httplib::Request&, httplib::Response&)>;

  FakeS3Server() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
    server_.Get(".*", handler);
    server_.Put(".*", handler);
    server_.Post(".*", handler);
    server_.Delete(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeS3Server() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_intercept(Intercept f) {
    std::lock_guard lock(mu_);
    intercept_ = std::move(f);
  }
  void PutObject(const std::string& path, std::string body) {
    std::lock_guard lock(mu_);
    objects_[path] = std::move(body);
  }
  std::string Object(const std::string& path) {
    std::lock_guard lock(mu_);
    return objects_[path];
  }
  std::vector<RecordedRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // The MD5 ETag S3 gives a single-part upload (the client checks it).
  static std::string ETagOf(const std::string& body) { return SinglePartEtag(body); }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    Intercept hook;
    {
      std::lock_guard lock(mu_);
      requests_.push_back({req.method, req.target, req.path, req.headers, req.body});
      hook = intercept_;
    }
    if (hook && hook(req, res)) return;
    std::lock_guard lock(mu_);
    if (req.method == "PUT") {
      objects_[req.path] = req.body;
      res.set_header("ETag", ETagOf(req.body));
      res.status = 200;
      return;
    }
    if (req.method == "DELETE") {
      objects_.erase(req.path);
      res.status = 204;
      return;
    }
    auto it = objects_.find(req.path);
    if (it == objects_.end()) {
      res.status = 404;
      res.set_content("<Error><Code>NoSuchKey</Code><Message>no such key</Message>"
                      "<RequestId>rid-404</RequestId></Error>", "application/xml");
      return;
    }
    ServeObject(req, it->second, res);
  }

  static void ServeObject(const httplib::Request& req, const std::string& body,
                          httplib::Response& res) {
    res.set_header("ETag", ETagOf(body));
    res.set_header("Last-Modified", "Sun, 30 Aug 2015 12:36:00 GMT");
    res.set_header("x-amz-meta-color", "blue");
    res.set_header("x-amz-version-id", "v1");
    // cpp-httplib answers a single Range itself (206 + Content-Range) from the
    // full content.
    res.status = 200;
    res.set_content(body, "application/octet-stream");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::string> objects_;
  std::vector<RecordedRequest> requests_;
  Intercept intercept_;
};

}  // namespace stagefs::s3::http::testing
