// GetObject for CurlObjectClient, with resumption of interrupted transfers.
//
// Resume contract: when a GET fails with a retryable error after some body bytes
// already went to the caller's sink, the retry asks only for the rest
// ("Range: bytes=<next>-<last>") pinned with "If-Match: <ETag of the first
// response>", so the sink never sees a byte twice or bytes of two different
// object versions. If the first response had no ETag or no usable range
// information, the GET fails (non-retryable kTransport) instead. If the object
// changed in between, the resumed request fails with kPreconditionFailed. If
// the server ignores the Range, the GET fails with kMalformedResponse.
#include <string>

#include "s3/http/curl_object_client_impl.h"
#include "s3/http/object_headers.h"
#include "s3/http/s3_xml.h"

namespace stagefs::s3::http {

struct CurlObjectClient::GetState {
  bool seen = false;        // headers of the first 2xx response processed
  bool resumable = false;   // [abs_start, abs_end] and the ETag are known
  bool resume_mismatch = false;
  std::string expect_etag;  // from If-Match: the object must be exactly that one
  bool etag_mismatch = false;
  ObjectInfo info;
  uint64_t abs_start = 0;
  uint64_t abs_end = 0;     // inclusive
  uint64_t delivered = 0;   // bytes handed to the sink so far
};

namespace {

using GetState = CurlObjectClient::GetState;

// Returns whether the body of this 2xx response goes to the sink.
bool AcceptHead(int status, const KeyValues& headers, GetState* st) {
  std::optional<ContentRange> cr;
  for (const auto& [name, value] : headers) {
    if (name == "content-range") cr = ParseContentRange(value);
  }
  if (!st->seen) {
    st->seen = true;
    st->info = ObjectInfoFromHeaders(headers, status);
    if (cr) {
      st->abs_start = cr->first;
      st->abs_end = cr->last;
      st->resumable = true;
    } else if (status == 200 && st->info.size > 0) {
      st->abs_start = 0;
      st->abs_end = st->info.size - 1;
      st->resumable = true;
    }
    st->resumable = st->resumable && !st->info.etag.empty();
    return true;
  }
  if (!cr || cr->first != st->abs_start + st->delivered) {
    st->resume_mismatch = true;
    return false;
  }
  return true;
}

}  // namespace

S3Result<Empty> CurlObjectClient::GetAttempt(const GetObjectParams& p, const DataSink& sink,
                                             GetState* st) {
  S3Request req{Op::kGetObject, "GET", p.bucket, p.key, {}, {}, nullptr};
  if (!p.version_id.empty()) req.query.emplace_back("versionId", p.version_id);
  const bool resuming = st->delivered > 0;
  if (!resuming) {
    st->seen = false;
    if (p.range) {
      req.headers.emplace_back("Range", RangeValue(*p.range));
    } else if (p.suffix_length) {
      req.headers.emplace_back("Range", "bytes=-" + std::to_string(*p.suffix_length));
    }
    if (!p.if_match.empty()) req.headers.emplace_back("If-Match", p.if_match);
    if (!p.if_none_match.empty()) req.headers.emplace_back("If-None-Match", p.if_none_match);
  } else {
    if (!st->resumable) {
      S3Error e;
      e.kind = S3ErrorKind::kTransport;
      e.message = "GET interrupted after " + std::to_string(st->delivered) +
                  " bytes and cannot be resumed (no ETag or range)";
      return e;
    }
    req.headers.emplace_back(
        "Range", RangeValue({st->abs_start + st->delivered, st->abs_end}));
    req.headers.emplace_back("If-Match", st->info.etag);
  }
  BodyHandler handler;
  st->expect_etag = p.if_match.empty() ? "" : NormalizeEtag(p.if_match);
  handler.on_head = [st](int status, const KeyValues& headers) {
    if (status < 200 || status >= 300) return false;
    // A server that answers If-Match with another object lies: its bytes
    // must not reach the sink.
    for (const auto& [name, value] : headers)
      if (name == "etag" && !st->expect_etag.empty() && NormalizeEtag(value) != st->expect_etag) {
        st->etag_mismatch = true;
        return false;
      }
    return AcceptHead(status, headers, st);
  };
  handler.on_data = [st, &sink](const char* data, size_t len) {
    st->delivered += len;
    return sink(data, len);
  };
  auto r = SendOnce(req, &handler);
  if (!r.ok()) {
    S3Error e = std::move(r).error();
    if (resuming && e.kind == S3ErrorKind::kPreconditionFailed) {
      e.message = "object changed while resuming an interrupted GET: " + e.message;
    }
    return e;
  }
  if (st->etag_mismatch) {
    S3Error e;
    e.kind = S3ErrorKind::kServerError;  // a lying answer: retried like a 5xx
    e.message = "the server answered a GET with If-Match " + st->expect_etag + " with another ETag";
    e.code = "ETagMismatch";
    e.retryable = true;
    return e;
  }
  if (st->resume_mismatch) {
    return MalformedResponse("server did not honour the Range of a resumed GET");
  }
  if (!st->seen) AcceptHead(r->status, r->headers, st);  // response without a body
  return Empty{};
}

S3Result<GetObjectResult> CurlObjectClient::GetObject(const GetObjectParams& p) {
  GetObjectResult result;
  DataSink sink = p.sink;
  if (!sink) {
    sink = [&result](const char* data, size_t len) {
      result.body.append(data, len);
      return true;
    };
  }
  GetState st;
  auto r = RunWithRetries<Empty>(policy_, clock_, [this] { return NextRandom(); },
                                 [&](int) { return GetAttempt(p, sink, &st); });
  if (!r.ok()) return std::move(r).error();
  result.info = std::move(st.info);
  result.info.key = p.key;
  result.bytes_received = st.delivered;
  return result;
}

}  // namespace stagefs::s3::http
