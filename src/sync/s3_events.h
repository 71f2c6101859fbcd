// Parsing of S3 event notifications: the JSON that AWS S3 (directly or through
// an SNS HTTP subscription), Ceph RGW bucket notifications and MinIO webhooks
// send. Only what stagefs needs is kept.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace stagefs::sync {

struct ObjectEvent {
  std::string event_name;  // "ObjectCreated:Put", "ObjectRemoved:Delete", ...
  std::string bucket;
  std::string key;  // URL-decoded
  std::string etag;
  uint64_t size = 0;
  std::string sequencer;
  bool created() const { return event_name.rfind("ObjectCreated", 0) == 0; }
  bool removed() const { return event_name.rfind("ObjectRemoved", 0) == 0; }
};

// Accepts {"Records":[...]} directly, or wrapped in an SNS envelope
// ({"Type":"Notification","Message":"<json string>"}). An SNS
// SubscriptionConfirmation yields no events. Any malformed record fails the
// whole batch (nothing is applied).
Result<std::vector<ObjectEvent>> ParseS3Events(const std::string& body);

// Decodes the URL-encoded object key of an event ('+' is a space).
std::string DecodeEventKey(const std::string& encoded);

}  // namespace stagefs::sync
