// Capabilities: what a particular S3 server really supports, found by probing it
// through the ObjectClient interface, and a small per-bucket cache of the result.
// Servers differ (DESIGN.md section 3): s3rver answers UploadPartCopy with 501;
// some RGW versions ignore If-Match on PUT or even reject a correct one; not all
// servers honour If-None-Match: * on PUT. Callers fall back (for example to a
// HEAD right before a commit) when a capability is kNo or kUnknown.
//
// ProbeCapabilities writes a few tiny scratch objects under `scratch_prefix`
// (use RandomProbePrefix()) and deletes them again, also on failure, best
// effort. It needs PUT and DELETE permission on the bucket. kUnknown means the
// probe itself could not tell (for example a transport error mid-probe).
//
// CapabilityCache is thread-safe. Probing runs outside its lock, so two threads
// missing the cache at once may both probe; the results are the same.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/status.h"
#include "s3/object_client.h"

namespace stagefs::s3 {

enum class Tri { kUnknown, kYes, kNo };
const char* TriName(Tri t);

struct Capabilities {
  Tri upload_part_copy = Tri::kUnknown;
  Tri put_if_match = Tri::kUnknown;       // PUT If-Match honoured (412 on a wrong ETag)
  Tri put_if_none_match = Tri::kUnknown;  // PUT If-None-Match: * honoured (412 if it exists)
};

// ".stagefs-probe/<16 random hex digits>".
std::string RandomProbePrefix();

// Fails only when the first scratch PUT fails (no write access, no bucket, ...).
Result<Capabilities> ProbeCapabilities(ObjectClient& client, const std::string& bucket,
                                       const std::string& scratch_prefix);

class CapabilityCache {
 public:
  std::optional<Capabilities> Get(const std::string& bucket) const;
  void Put(const std::string& bucket, const Capabilities& caps);
  // Cached value, or probe with a fresh RandomProbePrefix(), cache and return it.
  Result<Capabilities> GetOrProbe(ObjectClient& client, const std::string& bucket);

 private:
  mutable std::mutex mu_;
  std::map<std::string, Capabilities> by_bucket_;  // GUARDED_BY(mu_)
};

}  // namespace stagefs::s3
