// Object metadata decoding: values from any writer, including absurd ones.
#include "core/object_format.h"

#include <gtest/gtest.h>

namespace stagefs::core {
namespace {

// Found by fuzz_names: times beyond int64 nanoseconds and RFC 3339 offsets
// of millions of hours overflowed (undefined behaviour); they are ignored now.
TEST(ObjectFormat, OutOfRangeTimesFallBackToLastModified) {
  for (const char* v : {"99999999999999999999ns", "18446744073709551615", "9999999999999",
                        "2024-01-01T00:00:00+55552777:00", "2024-01-01T00:00:00-99:99"}) {
    s3::UserMetadata md{{"file-mtime", v}};
    PosixAttrs a = DecodePosixAttrs(md, false, 1234, {});
    EXPECT_EQ(a.mtime_ns, 1234) << v;
  }
  s3::UserMetadata ok{{"file-mtime", "2024-01-01T01:00:00+01:00"}};
  EXPECT_EQ(DecodePosixAttrs(ok, false, 0, {}).mtime_ns, 1704067200LL * 1'000'000'000);
}

}  // namespace
}  // namespace stagefs::core
