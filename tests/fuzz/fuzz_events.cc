// libFuzzer target: S3 event notification bodies (S3, SNS, EventBridge, RGW
// JSON) and event key decoding take any bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sync/s3_events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  (void)stagefs::sync::ParseS3Events(body);
  (void)stagefs::sync::DecodeEventKey(body);
  return 0;
}
