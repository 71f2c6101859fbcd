// The ETag S3 gives a single-part upload of some content: the quoted hex MD5.
// The exporter uses it to recognise its own earlier upload when a retry finds
// the object already changed (the first attempt's response was lost).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "s3/types.h"

namespace stagefs::sync {

std::string SinglePartEtag(std::string_view data);
// The same for the first `size` bytes of the file at `path`.
Result<std::string> SinglePartEtagOfFile(const std::string& path, uint64_t size);
// The ETag of a completed multipart upload: the MD5 of the parts' binary MD5s
// followed by "-<number of parts>", quoted. "" if a part ETag is not an MD5.
std::string MultipartEtag(const std::vector<s3::CompletedPart>& parts);

}  // namespace stagefs::sync
