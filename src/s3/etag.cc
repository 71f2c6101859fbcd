#include "s3/etag.h"

#include <openssl/evp.h>

namespace stagefs::s3 {

struct EtagHasher::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

EtagHasher::EtagHasher() : ctx_(std::make_unique<Ctx>()) {
  EVP_DigestInit_ex(ctx_->md, EVP_md5(), nullptr);
}

EtagHasher::~EtagHasher() = default;

void EtagHasher::Update(std::string_view data) {
  EVP_DigestUpdate(ctx_->md, data.data(), data.size());
}

std::string EtagHasher::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, md, &n);
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out + "\"";
}

std::string SinglePartEtag(std::string_view data) {
  EtagHasher h;
  h.Update(data);
  return h.Finish();
}

std::string MultipartEtag(const std::vector<CompletedPart>& parts) {
  auto nibble = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  std::string binary;
  for (const auto& part : parts) {
    std::string e = NormalizeEtag(part.etag);
    if (e.size() != 34) return "";
    for (size_t i = 1; i < 33; i += 2) {
      int hi = nibble(e[i]), lo = nibble(e[i + 1]);
      if (hi < 0 || lo < 0) return "";
      binary += static_cast<char>(hi * 16 + lo);
    }
  }
  std::string md5 = SinglePartEtag(binary);  // quoted
  return md5.substr(0, md5.size() - 1) + "-" + std::to_string(parts.size()) + "\"";
}

}  // namespace stagefs::s3
