// libFuzzer target: names, keys and object metadata. Key-to-name validation, the UTF-8 check
// and the shared escaping (base/text.h) take any bytes; the escaping is
// always valid UTF-8, printable, reversible, and encodable as JSON (what the
// status xattr, `stagefs status`, the audit log and log lines rely on).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "base/text.h"
#include "core/object_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  (void)stagefs::core::InvalidNameReason(s);
  std::string e = stagefs::EscapeBytes(s);
  if (!stagefs::IsValidUtf8(e)) std::abort();
  for (unsigned char c : e)
    if (c < 0x20 || c == 0x7f) std::abort();
  if (stagefs::UnescapeBytes(e) != s) std::abort();
  nlohmann::json j = {{"path", e}};
  (void)j.dump();
  (void)stagefs::IsValidUtf8(s);
  // The same bytes as user metadata values (times, modes, ids of any writer).
  stagefs::s3::UserMetadata md;
  for (const char* k : {"file-permissions", "file-mtime", "file-atime", "file-owner", "mode",
                        "mtime", "uid", "file-rdev"})
    md[k] = s;
  (void)stagefs::core::DecodePosixAttrs(md, size % 2 == 0, 0, {});
  return 0;
}
