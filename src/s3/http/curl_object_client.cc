#include "s3/http/curl_object_client.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "s3/http/curl_object_client_impl.h"
#include "s3/http/http_util.h"
#include "s3/http/object_headers.h"
#include "s3/http/s3_xml.h"

namespace stagefs::s3 {

std::unique_ptr<ObjectClient> MakeCurlObjectClient(const ClientOptions& options, Clock* clock,
                                                   MetricsRegistry* metrics) {
  return std::make_unique<http::CurlObjectClient>(options, clock, metrics);
}

}  // namespace stagefs::s3

namespace stagefs::s3::http {
namespace {

CurlEngine::Options EngineOptions(const ClientOptions& o) {
  CurlEngine::Options e;
  e.max_in_flight = o.max_in_flight;
  e.verify_tls = o.verify_tls;
  e.ca_bundle = o.ca_bundle;
  e.connect_timeout = o.connect_timeout;
  e.low_speed_timeout = o.low_speed_timeout;
  e.user_agent = o.user_agent;
  return e;
}

// Hex SHA-256 of a body, reading a file body in chunks (never all in memory).
std::optional<std::string> PayloadSha256(const BodySource* body, std::string* error) {
  if (body == nullptr) return std::string(kEmptyPayloadSha256);
  if (body->fd < 0) return Sha256Hex(body->data);
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  while (done < body->length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), body->length - done));
    ssize_t n = pread(body->fd, buf.data(), want, static_cast<off_t>(body->offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = n < 0 ? std::string("pread: ") + std::strerror(errno) : "body file too short";
      EVP_MD_CTX_free(ctx);
      return std::nullopt;
    }
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

}  // namespace

CurlObjectClient::CurlObjectClient(const ClientOptions& options, Clock* clock,
                                   MetricsRegistry* metrics)
    : options_(options),
      endpoint_(ParseEndpoint(options)),
      clock_(clock),
      metrics_(metrics),
      policy_(options.retry),
      engine_(EngineOptions(options)),
      rng_(std::random_device{}()) {
  for (int i = 0; i < kOpCount; ++i) {
    requests_[i] = metrics_->GetCounter("stagefs_s3_requests_total",
                                        "S3 HTTP requests sent, every attempt counted",
                                        {{"op", OpName(static_cast<Op>(i))}});
  }
  bytes_sent_ = metrics_->GetCounter("stagefs_s3_bytes_sent_total", "Request body bytes sent to S3");
  bytes_received_ = metrics_->GetCounter("stagefs_s3_bytes_received_total",
                                         "Response body bytes received from S3");
}

double CurlObjectClient::NextRandom() {
  std::lock_guard lock(rng_mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

void CurlObjectClient::CountError(Op op, const S3Error& e) {
  metrics_->GetCounter("stagefs_s3_errors_total", "S3 request attempts that failed",
                       {{"op", OpName(op)}, {"kind", S3ErrorKindName(e.kind)}})
      ->Inc();
}

HttpRequest CurlObjectClient::BuildHttpRequest(const S3Request& req, std::string* payload_error) {
  const bool path_style = UsePathStyle(options_.addressing, endpoint_, req.bucket);
  Target target = BuildTarget(endpoint_, path_style, req.bucket, req.key, req.query);
  HttpRequest http;
  http.method = req.method;
  http.url = std::move(target.url);
  http.body = req.body;
  std::string payload_hash(kUnsignedPayload);
  if (options_.sign_payload || req.body == nullptr) {
    std::optional<std::string> h = PayloadSha256(req.body, payload_error);
    if (!h) return http;
    payload_hash = std::move(*h);
  }
  const std::string amz_date = FormatAmzDate(clock_->WallNanos());
  http.headers = req.headers;
  http.headers.emplace_back("host", target.host);
  http.headers.emplace_back("x-amz-date", amz_date);
  http.headers.emplace_back("x-amz-content-sha256", payload_hash);
  if (!options_.credentials.session_token.empty()) {
    http.headers.emplace_back("x-amz-security-token", options_.credentials.session_token);
  }
  if (!options_.credentials.empty()) {
    SigV4Input in{req.method,   target.canonical_uri, req.query,      http.headers,
                  payload_hash, options_.credentials, options_.region, "s3",
                  amz_date};
    http.headers.emplace_back("authorization", SignV4(in).authorization);
  }
  return http;
}

S3Result<HttpResponse> CurlObjectClient::SendOnce(const S3Request& req,
                                                  const BodyHandler* handler) {
  requests_[static_cast<int>(req.op)]->Inc();
  std::string payload_error;
  HttpRequest http = BuildHttpRequest(req, &payload_error);
  if (!payload_error.empty()) {
    S3Error e;
    e.kind = S3ErrorKind::kTransport;
    e.message = "reading request body: " + payload_error;
    CountError(req.op, e);
    return e;
  }
  HttpResponse r = engine_.Execute(http, handler);
  bytes_sent_->Inc(r.bytes_sent);
  bytes_received_->Inc(r.bytes_received);
  if (r.curl_code != 0) {
    S3Error e = TransportError(r);
    CountError(req.op, e);
    return e;
  }
  if (r.status < 200 || r.status >= 300) {
    const std::string* rid = r.Header("x-amz-request-id");
    S3Error e = ErrorFromResponse(r.status, r.body, rid ? *rid : "");
    CountError(req.op, e);
    return e;
  }
  return r;
}

S3Result<HttpResponse> CurlObjectClient::Send(const S3Request& req) {
  return RunWithRetries<HttpResponse>(
      policy_, clock_, [this] { return NextRandom(); },
      [&](int) -> S3Result<HttpResponse> { return SendOnce(req, nullptr); });
}

S3Result<Empty> CurlObjectClient::HeadBucket(const HeadBucketParams& p) {
  S3Request req{Op::kHeadBucket, "HEAD", p.bucket, "", {}, {}, nullptr};
  auto r = Send(req);
  if (!r.ok()) {
    S3Error e = std::move(r).error();
    if (e.kind == S3ErrorKind::kNoSuchKey) e.kind = S3ErrorKind::kNoSuchBucket;
    return e;
  }
  return Empty{};
}

S3Result<HeadObjectResult> CurlObjectClient::HeadObject(const HeadObjectParams& p) {
  S3Request req{Op::kHeadObject, "HEAD", p.bucket, p.key, {}, {}, nullptr};
  if (!p.version_id.empty()) req.query.emplace_back("versionId", p.version_id);
  if (!p.if_match.empty()) req.headers.emplace_back("If-Match", p.if_match);
  auto r = Send(req);
  if (!r.ok()) return std::move(r).error();
  ObjectInfo info = ObjectInfoFromHeaders(r->headers, r->status);
  info.key = p.key;
  return info;
}

}  // namespace stagefs::s3::http
