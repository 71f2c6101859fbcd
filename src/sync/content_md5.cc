#include "sync/content_md5.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <memory>
#include <vector>

namespace stagefs::sync {
namespace {

using Ctx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string Finish(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out + "\"";
}

}  // namespace

std::string SinglePartEtag(std::string_view data) {
  Ctx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  return Finish(ctx.get());
}

Result<std::string> SinglePartEtagOfFile(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (size == 0) return SinglePartEtag("");
    return Status(ErrorCode::kIo, "cannot open " + path);
  }
  Ctx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - done),
                        static_cast<off_t>(done));
    if (n <= 0) {
      ::close(fd);
      return Status(ErrorCode::kIo, "short read of " + path);
    }
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return Finish(ctx.get());
}

std::string MultipartEtag(const std::vector<s3::CompletedPart>& parts) {
  std::string binary;
  for (const auto& part : parts) {
    std::string e = part.etag;
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    if (e.size() != 32) return "";
    for (size_t i = 0; i < 32; i += 2) {
      int v = 0;
      for (size_t k = i; k < i + 2; ++k) {
        char c = e[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return "";
        v = v * 16 + d;
      }
      binary += static_cast<char>(v);
    }
  }
  std::string md5 = SinglePartEtag(binary);  // quoted
  return md5.substr(0, md5.size() - 1) + "-" + std::to_string(parts.size()) + "\"";
}

}  // namespace stagefs::sync
