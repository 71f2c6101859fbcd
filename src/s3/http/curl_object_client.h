// CurlObjectClient: the real ObjectClient, over one libcurl multi handle driven by
// a dedicated event-loop thread. Callers block on their own request; up to
// ClientOptions::max_in_flight requests run at once, the rest queue. Connections
// are reused. Response bodies stream to the caller's DataSink; request bodies
// stream from memory or from a file descriptor. Requests are signed with SigV4
// and retried with exponential backoff and jitter per the retry policy, with time
// taken from the injected Clock.
//
// Request counters per operation are kept in the MetricsRegistry as
// stagefs_s3_requests_total{op="GetObject"} (every attempt counts) together with
// stagefs_s3_bytes_sent_total and stagefs_s3_bytes_received_total; every failed
// attempt also counts in stagefs_s3_errors_total{op, kind}.
//
// Interrupted GETs: when a GET fails with a retryable error after the DataSink
// already received bytes, the retry requests only the remaining bytes
// ("Range: bytes=<next>-<last>") pinned with "If-Match: <first ETag>", so the
// sink never receives a byte twice. If that is impossible (no ETag in the first
// response) the GET fails with a non-retryable kTransport error; if the object
// changed meanwhile it fails with kPreconditionFailed.
//
// DataSinks run on the client's event-loop thread: they must be quick and must
// not call this client (that would deadlock). S3 error responses with a 200
// status (<Error> bodies from CopyObject, UploadPartCopy and
// CompleteMultipartUpload) are errors; malformed or truncated success bodies are
// kMalformedResponse. Keys in ListObjectsV2 are requested with
// encoding-type=url and decoded, so keys with any bytes round-trip.
#pragma once

#include <memory>

#include "base/clock.h"
#include "base/metrics.h"
#include "s3/http/client_options.h"
#include "s3/object_client.h"

namespace stagefs::s3 {

// `clock` and `metrics` must outlive the client.
std::unique_ptr<ObjectClient> MakeCurlObjectClient(const ClientOptions& options, Clock* clock,
                                                   MetricsRegistry* metrics);

}  // namespace stagefs::s3
