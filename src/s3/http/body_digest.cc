#include "s3/http/body_digest.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "s3/etag.h"

namespace stagefs::s3::http {

S3Result<BodyDigest> DigestBody(const BodySource& body) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  if (body.fd < 0) {
    EVP_DigestUpdate(ctx, body.data.data(), body.data.size());
  } else {
    std::vector<char> buf(1 << 20);
    uint64_t done = 0;
    while (done < body.length) {
      ssize_t n = ::pread(body.fd, buf.data(), std::min<uint64_t>(buf.size(), body.length - done),
                          static_cast<off_t>(body.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        EVP_MD_CTX_free(ctx);
        S3Error e;
        e.kind = S3ErrorKind::kTransport;
        e.message = std::string("reading the upload body: ") +
                    (n == 0 ? "the file is shorter than the declared length" : std::strerror(errno));
        return e;
      }
      EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
      done += static_cast<uint64_t>(n);
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  BodyDigest d;
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  d.content_md5.assign(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
  static constexpr char kHex[] = "0123456789abcdef";
  d.etag = "\"";
  for (unsigned i = 0; i < len; ++i) {
    d.etag.push_back(kHex[md[i] >> 4]);
    d.etag.push_back(kHex[md[i] & 0xf]);
  }
  d.etag += "\"";
  return d;
}

std::optional<S3Error> CheckUploadEtag(const BodyDigest& digest, const std::string& etag,
                                       const ServerSideEncryption& sse) {
  if (sse.mode == ServerSideEncryption::Mode::kKms) return std::nullopt;
  if (NormalizeEtag(etag) == digest.etag) return std::nullopt;
  S3Error e;
  e.kind = S3ErrorKind::kServerError;  // a server that stores other bytes: retried
  e.code = "BadDigest";
  e.message = "the server answered ETag " + etag + " for bytes whose MD5 is " + digest.etag;
  e.retryable = true;
  return e;
}

}  // namespace stagefs::s3::http
