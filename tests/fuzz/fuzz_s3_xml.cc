// libFuzzer target: every S3 XML parser, and the error-response classifier,
// take any bytes without crashing, hanging or reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "s3/http/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stagefs::s3::http;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)ParseListObjectsV2(body, false);
  (void)ParseListObjectsV2(body, true);
  (void)ParseDeleteObjects(body);
  (void)ParseCopyResult(body);
  (void)ParseCompleteMultipartUpload(body);
  (void)ParseInitiateMultipartUpload(body);
  (void)ParseVersioningConfiguration(body);
  (void)ErrorFromResponse(size % 600, body, "");
  return 0;
}
