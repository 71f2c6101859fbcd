// The ETags S3 gives objects, computed locally: the quoted hex MD5 of a
// single-part upload, and for a completed multipart upload the MD5 of the
// parts' binary MD5s followed by "-<number of parts>". The exporter uses them
// to recognise its own earlier upload when a response was lost; the fake
// client gives its objects the ETags S3 would.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "s3/types.h"

namespace stagefs::s3 {

// Incremental form of SinglePartEtag, for content read in pieces.
class EtagHasher {
 public:
  EtagHasher();
  ~EtagHasher();
  void Update(std::string_view data);
  std::string Finish();  // quoted lower-case hex MD5

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string SinglePartEtag(std::string_view data);
// "" if a part's ETag is not a hex MD5.
std::string MultipartEtag(const std::vector<CompletedPart>& parts);

}  // namespace stagefs::s3
