#include "sync/s3_events.h"

#include <nlohmann/json.hpp>

namespace stagefs::sync {
namespace {

Status Bad(const std::string& why) { return Status(ErrorCode::kInvalidArgument, why); }

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string DecodeEventKey(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && HexVal(in[i + 1]) >= 0 &&
               HexVal(in[i + 2]) >= 0) {
      out += static_cast<char>(HexVal(in[i + 1]) * 16 + HexVal(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

Result<std::vector<ObjectEvent>> ParseS3Events(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("body is not a JSON object");
  if (j.contains("Type") && j["Type"].is_string()) {
    std::string type = j["Type"];
    if (type == "SubscriptionConfirmation" || type == "UnsubscribeConfirmation")
      return std::vector<ObjectEvent>{};
    if (type == "Notification") {
      if (!j.contains("Message") || !j["Message"].is_string()) return Bad("SNS message without Message");
      return ParseS3Events(j["Message"].get<std::string>());
    }
  }
  if (j.contains("Event") && j["Event"] == "s3:TestEvent") return std::vector<ObjectEvent>{};
  if (!j.contains("Records") || !j["Records"].is_array()) return Bad("no Records array");
  std::vector<ObjectEvent> events;
  size_t i = 0;
  for (const auto& r : j["Records"]) {
    std::string at = "Records[" + std::to_string(i++) + "]";
    if (!r.is_object() || !r.contains("eventName") || !r["eventName"].is_string())
      return Bad(at + ".eventName missing");
    if (!r.contains("s3") || !r["s3"].is_object()) return Bad(at + ".s3 missing");
    const auto& s3 = r["s3"];
    if (!s3.contains("bucket") || !s3["bucket"].contains("name") || !s3["bucket"]["name"].is_string())
      return Bad(at + ".s3.bucket.name missing");
    if (!s3.contains("object") || !s3["object"].contains("key") || !s3["object"]["key"].is_string())
      return Bad(at + ".s3.object.key missing");
    ObjectEvent e;
    e.event_name = r["eventName"].get<std::string>();
    // Ceph sends "s3:ObjectCreated:Put"; AWS sends "ObjectCreated:Put".
    if (e.event_name.rfind("s3:", 0) == 0) e.event_name = e.event_name.substr(3);
    if (!e.created() && !e.removed()) continue;  // other event types are ignored
    e.bucket = s3["bucket"]["name"].get<std::string>();
    // AWS (and MinIO) URL-encode the key, with '+' for a space; Ceph RGW sends
    // it raw (captured from RGW 16.2 in tests/data/events/).
    bool raw_key = r.contains("eventSource") && r["eventSource"] == "ceph:s3";
    const std::string key = s3["object"]["key"].get<std::string>();
    e.key = raw_key ? key : DecodeEventKey(key);
    const auto& o = s3["object"];
    if (o.contains("eTag") && o["eTag"].is_string()) e.etag = o["eTag"].get<std::string>();
    if (o.contains("size") && o["size"].is_number_unsigned()) e.size = o["size"].get<uint64_t>();
    if (o.contains("sequencer") && o["sequencer"].is_string()) e.sequencer = o["sequencer"].get<std::string>();
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace stagefs::sync
