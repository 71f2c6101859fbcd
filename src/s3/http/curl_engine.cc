#include "s3/http/curl_engine.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "s3/http/http_util.h"

namespace stagefs::s3::http {

struct CurlEngine::Transfer {
  const HttpRequest* request = nullptr;
  const BodyHandler* handler = nullptr;
  const CurlEngine::Options* options = nullptr;
  HttpResponse response;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  uint64_t read_pos = 0;
  bool head_decided = false;
  bool streaming = false;
  std::string read_error;
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // GUARDED_BY(mu)
};

namespace {

using Transfer = CurlEngine::Transfer;

void InitCurlOnce() {
  // libcurl needs one process-wide init before any other call; this is the only
  // global state in the client, and it is never torn down.
  static const bool initialized = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)initialized;
}

size_t OnHeader(char* data, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t len = size * nitems;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new (possibly final) response begins
    return len;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response.headers.emplace_back(ToLower(Trim(line.substr(0, colon))),
                                     std::string(Trim(line.substr(colon + 1))));
  }
  return len;
}

size_t OnWrite(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t len = size * nmemb;
  HttpResponse& r = t->response;
  if (!t->head_decided) {
    t->head_decided = true;
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    r.status = static_cast<int>(code);
    t->streaming = t->handler != nullptr && t->handler->on_head &&
                   t->handler->on_head(r.status, r.headers);
  }
  r.bytes_received += len;
  if (t->streaming) {
    if (!t->handler->on_data(data, len)) {
      r.cancelled = true;
      return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
    return len;
  }
  bool error_status = r.status < 200 || r.status >= 300;
  size_t keep = len;
  if (error_status) keep = std::min(len, t->options->max_error_body - std::min(t->options->max_error_body, r.body.size()));
  r.body.append(data, keep);
  return len;
}

size_t OnRead(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const BodySource& b = *t->request->body;
  uint64_t remaining = b.size() - std::min<uint64_t>(b.size(), t->read_pos);
  size_t want = static_cast<size_t>(std::min<uint64_t>(size * nitems, remaining));
  if (want == 0) return 0;
  size_t got = 0;
  if (b.fd >= 0) {
    ssize_t n;
    do {
      n = pread(b.fd, buffer, want, static_cast<off_t>(b.offset + t->read_pos));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      t->read_error = n < 0 ? std::string("pread: ") + std::strerror(errno)
                            : "body file is shorter than the declared length";
      return CURL_READFUNC_ABORT;
    }
    got = static_cast<size_t>(n);
  } else {
    std::memcpy(buffer, b.data.data() + t->read_pos, want);
    got = want;
  }
  t->read_pos += got;
  t->response.bytes_sent += got;
  return got;
}

int OnSeek(void* userdata, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userdata);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->request->body->size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->read_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

void SetMethodAndBody(Transfer* t) {
  CURL* e = t->easy;
  const HttpRequest& req = *t->request;
  const curl_off_t size = req.body ? static_cast<curl_off_t>(req.body->size()) : 0;
  if (req.body) {
    curl_easy_setopt(e, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(e, CURLOPT_READDATA, t);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &OnSeek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, t);
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, size);
    if (!req.body) curl_easy_setopt(e, CURLOPT_READFUNCTION, +[](char*, size_t, size_t, void*) -> size_t { return 0; });
  } else if (req.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, size);
    if (!req.body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
  } else if (req.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
}

void SetupEasy(Transfer* t, const CurlEngine::Options& o) {
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, t->request->url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);  // keys may contain "/../"
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>(o.low_speed_timeout.count() / 1000)));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o.verify_tls ? 2L : 0L);
  curl_easy_setopt(e, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!o.ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, o.ca_bundle.c_str());
  if (!o.user_agent.empty()) curl_easy_setopt(e, CURLOPT_USERAGENT, o.user_agent.c_str());
  bool has_content_type = false;
  for (const auto& [name, value] : t->request->headers) {
    if (ToLower(name) == "content-type") has_content_type = true;
    t->header_list = curl_slist_append(t->header_list, (name + ": " + value).c_str());
  }
  // No 100-continue round trip, and no curl default Content-Type on POST.
  t->header_list = curl_slist_append(t->header_list, "Expect:");
  if (!has_content_type) t->header_list = curl_slist_append(t->header_list, "Content-Type:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
  SetMethodAndBody(t);
}

}  // namespace

const std::string* HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

CurlEngine::CurlEngine(Options options) : options_(std::move(options)) {
  InitCurlOnce();
  multi_ = curl_multi_init();
  long cache = std::max(1, options_.max_in_flight);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, cache);
  loop_ = std::thread([this] { Loop(); });
}

CurlEngine::~CurlEngine() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  curl_multi_wakeup(multi_);
  loop_.join();
  curl_multi_cleanup(multi_);
}

HttpResponse CurlEngine::Execute(const HttpRequest& request, const BodyHandler* handler) {
  Transfer t;
  t.request = &request;
  t.handler = handler;
  t.options = &options_;
  t.easy = curl_easy_init();
  SetupEasy(&t, options_);
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      t.response.curl_code = CURLE_ABORTED_BY_CALLBACK;
      t.response.curl_error = "client is shutting down";
      t.done = true;
    } else {
      queue_.push_back(&t);
    }
  }
  curl_multi_wakeup(multi_);
  {
    std::unique_lock lock(t.mu);
    t.cv.wait(lock, [&] { return t.done; });
  }
  curl_easy_cleanup(t.easy);
  curl_slist_free_all(t.header_list);
  return std::move(t.response);
}

void CurlEngine::StartQueued() {
  std::lock_guard lock(mu_);
  while (!queue_.empty() && static_cast<int>(active_.size()) < std::max(1, options_.max_in_flight)) {
    Transfer* t = queue_.front();
    queue_.pop_front();
    curl_multi_add_handle(multi_, t->easy);
    active_.push_back(t);
  }
}

void CurlEngine::FinishDone() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    long code = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
    HttpResponse& r = t->response;
    r.status = static_cast<int>(code);
    r.curl_code = msg->data.result;
    if (r.curl_code != CURLE_OK) {
      r.curl_error = !t->read_error.empty() ? t->read_error
                     : t->errbuf[0] != '\0' ? std::string(t->errbuf)
                                            : curl_easy_strerror(msg->data.result);
    }
    curl_multi_remove_handle(multi_, msg->easy_handle);
    active_.erase(std::find(active_.begin(), active_.end(), t));
    std::lock_guard lock(t->mu);
    t->done = true;
    t->cv.notify_one();
  }
}

void CurlEngine::FailAll(const char* why) {
  std::deque<Transfer*> queued;
  {
    std::lock_guard lock(mu_);
    queued.swap(queue_);
  }
  auto fail = [&](Transfer* t) {
    t->response.curl_code = CURLE_ABORTED_BY_CALLBACK;
    t->response.curl_error = why;
    std::lock_guard lock(t->mu);
    t->done = true;
    t->cv.notify_one();
  };
  for (Transfer* t : queued) fail(t);
  // Running transfers: remove them from the multi handle first.
  for (Transfer* t : active_) {
    curl_multi_remove_handle(multi_, t->easy);
    fail(t);
  }
  active_.clear();
}

void CurlEngine::Loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    StartQueued();
    int still_running = 0;
    curl_multi_perform(multi_, &still_running);
    FinishDone();
    StartQueued();
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
  FailAll("client is shutting down");
}

S3Error TransportError(const HttpResponse& r) {
  S3Error e;
  e.http_status = r.status;
  e.message = r.curl_error;
  if (r.cancelled) {
    e.kind = S3ErrorKind::kCancelled;
    e.message = "the data sink stopped the transfer";
    return e;
  }
  switch (static_cast<CURLcode>(r.curl_code)) {
    case CURLE_OPERATION_TIMEDOUT:
      e.kind = S3ErrorKind::kTimeout;
      e.retryable = true;
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_READ_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      e.kind = S3ErrorKind::kTransport;
      e.retryable = false;
      break;
    default:  // refused, reset, DNS, partial body, send/recv errors, TLS handshake
      e.kind = S3ErrorKind::kTransport;
      e.retryable = true;
      break;
  }
  return e;
}

}  // namespace stagefs::s3::http
