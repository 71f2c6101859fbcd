// End-to-end tests of the real client against FakeS3Server on 127.0.0.1.
#include "s3/http/curl_object_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "s3/http/fake_s3_server.h"

namespace stagefs::s3 {
namespace {

using http::testing::FakeS3Server;

class CurlObjectClientTest : public ::testing::Test {
 protected:
  ClientOptions Options(const std::string& endpoint) {
    ClientOptions o;
    o.endpoint_url = endpoint;
    o.credentials = {"AKIDTEST", "secret", ""};
    o.retry.max_attempts = 4;
    o.retry.base_delay = std::chrono::milliseconds(10);
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.low_speed_timeout = std::chrono::milliseconds(5000);
    return o;
  }
  std::unique_ptr<ObjectClient> Client(const ClientOptions& o) {
    return MakeCurlObjectClient(o, &clock_, &metrics_);
  }
  uint64_t Requests(const char* op) {
    return metrics_.CounterSum("stagefs_s3_requests_total", {{"op", op}});
  }

  FakeS3Server server_;
  FakeClock clock_;
  MetricsRegistry metrics_;
};

TEST_F(CurlObjectClientTest, PutGetHeadRoundTripWithSigningAndEncoding) {
  auto c = Client(Options(server_.endpoint()));
  const std::string key = "dir/a b+c%~.txt";
  PutObjectParams put;
  put.bucket = "bkt";
  put.key = key;
  put.body = BodySource::FromString("hello world");
  put.metadata = {{"mtime", "123"}};
  put.content_type = "text/plain";
  put.if_none_match = "*";
  auto pr = c->PutObject(put);
  ASSERT_TRUE(pr.ok()) << pr.error().ToString();
  EXPECT_EQ(pr->etag, FakeS3Server::ETagOf("hello world"));

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/bkt/dir/a%20b%2Bc%25~.txt");  // path-style, '/' kept
  EXPECT_EQ(reqs[0].Header("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_EQ(reqs[0].Header("x-amz-meta-mtime"), "123");
  EXPECT_EQ(reqs[0].Header("If-None-Match"), "*");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "text/plain");
  EXPECT_EQ(reqs[0].Header("Authorization").rfind("AWS4-HMAC-SHA256 Credential=AKIDTEST/", 0), 0u);
  EXPECT_NE(reqs[0].Header("Authorization").find("x-amz-meta-mtime"), std::string::npos);
  EXPECT_EQ(server_.Object("/bkt/" + key), "hello world");

  GetObjectParams get;
  get.bucket = "bkt";
  get.key = key;
  auto gr = c->GetObject(get);
  ASSERT_TRUE(gr.ok()) << gr.error().ToString();
  EXPECT_EQ(gr->body, "hello world");
  EXPECT_EQ(gr->info.size, 11u);
  EXPECT_EQ(gr->info.key, key);
  EXPECT_EQ(gr->info.metadata.at("color"), "blue");
  EXPECT_EQ(gr->info.version_id, "v1");
  EXPECT_EQ(gr->info.last_modified_ns, 1440938160LL * 1'000'000'000);

  auto hr = c->HeadObject({"bkt", key, "", ""});
  ASSERT_TRUE(hr.ok()) << hr.error().ToString();
  EXPECT_EQ(hr->size, 11u);
  EXPECT_EQ(hr->etag, FakeS3Server::ETagOf("hello world"));
  EXPECT_EQ(Requests("PutObject"), 1u);
  EXPECT_EQ(Requests("GetObject"), 1u);
  EXPECT_EQ(Requests("HeadObject"), 1u);
  EXPECT_EQ(metrics_.CounterSum("stagefs_s3_bytes_sent_total"), 11u);
}

TEST_F(CurlObjectClientTest, RangedGetReportsWholeObjectSize) {
  server_.PutObject("/bkt/k", "0123456789");
  auto c = Client(Options(server_.endpoint()));
  GetObjectParams get{"bkt", "k", ByteRange{2, 4}, std::nullopt, "", "", "", nullptr};
  auto r = c->GetObject(get);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "234");
  EXPECT_EQ(r->info.size, 10u);
  EXPECT_EQ(server_.requests().back().Header("Range"), "bytes=2-4");
}

TEST_F(CurlObjectClientTest, MissingKeyIsTypedAndNotRetried) {
  auto c = Client(Options(server_.endpoint()));
  auto r = c->GetObject({"bkt", "nope", std::nullopt, std::nullopt, "", "", "", nullptr});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, S3ErrorKind::kNoSuchKey);
  EXPECT_EQ(r.error().request_id, "rid-404");
  auto h = c->HeadObject({"bkt", "nope", "", ""});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().kind, S3ErrorKind::kNoSuchKey);
  EXPECT_EQ(Requests("GetObject"), 1u);
  EXPECT_EQ(clock_.total_slept(), Duration::zero());
  EXPECT_EQ(metrics_.CounterSum("stagefs_s3_errors_total", {{"kind", "NoSuchKey"}}), 2u);
}

TEST_F(CurlObjectClientTest, RetriesSlowDownWithBackoffOnTheClock) {
  server_.PutObject("/bkt/k", "data");
  std::atomic<int> calls{0};
  server_.set_intercept([&](const httplib::Request&, httplib::Response& res) {
    if (calls++ >= 2) return false;
    res.status = 503;
    res.set_content("<Error><Code>SlowDown</Code><Message>Please reduce</Message></Error>",
                    "application/xml");
    return true;
  });
  auto c = Client(Options(server_.endpoint()));
  auto r = c->GetObject({"bkt", "k", std::nullopt, std::nullopt, "", "", "", nullptr});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "data");
  EXPECT_EQ(Requests("GetObject"), 3u);
  EXPECT_GT(clock_.total_slept(), Duration::zero());
  EXPECT_EQ(metrics_.CounterSum("stagefs_s3_errors_total", {{"kind", "Throttled"}}), 2u);
}

TEST_F(CurlObjectClientTest, InterruptedGetResumesWithRangeAndIfMatch) {
  std::string body(100'000, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  server_.PutObject("/bkt/big", body);
  std::atomic<int> calls{0};
  server_.set_intercept([&](const httplib::Request&, httplib::Response& res) {
    if (calls++ > 0) return false;
    // Promise the whole body, send 40000 bytes, then drop the connection.
    res.status = 200;
    res.set_header("ETag", FakeS3Server::ETagOf(body));
    res.set_content_provider(body.size(), "application/octet-stream",
                             [&body](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset >= 40'000) return false;
                               sink.write(body.data() + offset, 40'000 - offset);
                               return true;
                             });
    return true;
  });
  auto c = Client(Options(server_.endpoint()));
  std::string got;
  GetObjectParams get{"bkt", "big", std::nullopt, std::nullopt, "", "", "", nullptr};
  get.sink = [&](const char* d, size_t n) {
    got.append(d, n);
    return true;
  };
  auto r = c->GetObject(get);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(r->info.size, body.size());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].Header("Range"), "bytes=40000-99999");
  EXPECT_EQ(reqs[1].Header("If-Match"), FakeS3Server::ETagOf(body));
}

TEST_F(CurlObjectClientTest, SinkCanCancel) {
  server_.PutObject("/bkt/k", std::string(50'000, 'z'));
  auto c = Client(Options(server_.endpoint()));
  GetObjectParams get{"bkt", "k", std::nullopt, std::nullopt, "", "", "", nullptr};
  get.sink = [](const char*, size_t) { return false; };
  auto r = c->GetObject(get);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, S3ErrorKind::kCancelled);
  EXPECT_EQ(Requests("GetObject"), 1u);
}

TEST_F(CurlObjectClientTest, ConnectionRefusedIsRetriedThenTransportError) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);  // nothing listens on this port now
  auto c = Client(Options("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port))));
  auto r = c->HeadObject({"bkt", "k", "", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, S3ErrorKind::kTransport);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_EQ(Requests("HeadObject"), 4u);
  EXPECT_GT(clock_.total_slept(), Duration::zero());
}

TEST_F(CurlObjectClientTest, ErrorInside200IsAnErrorAndRetriedWhenInternal) {
  std::atomic<int> calls{0};
  server_.set_intercept([&](const httplib::Request& req, httplib::Response& res) {
    res.status = 200;
    if (calls++ == 0) {
      res.set_content("<Error><Code>InternalError</Code><Message>retry me</Message></Error>",
                      "application/xml");
    } else {
      res.set_content("<CompleteMultipartUploadResult><ETag>\"e-2\"</ETag>"
                      "</CompleteMultipartUploadResult>", "application/xml");
      res.set_header("x-amz-version-id", "v9");
    }
    return true;
  });
  auto c = Client(Options(server_.endpoint()));
  CompleteMultipartUploadParams p{"bkt", "k", "up1", {{1, "\"a\""}, {2, "\"b\""}}, "", ""};
  auto r = c->CompleteMultipartUpload(p);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->etag, "\"e-2\"");
  EXPECT_EQ(r->version_id, "v9");
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/bkt/k?uploadId=up1");
  EXPECT_NE(reqs[0].body.find("<PartNumber>2</PartNumber>"), std::string::npos);

  server_.set_intercept([&](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content("<Error><Code>AccessDenied</Code><Message>no</Message></Error>", "application/xml");
    return true;
  });
  CopyObjectParams cp;
  cp.bucket = "bkt";
  cp.key = "dst";
  cp.source_bucket = "bkt";
  cp.source_key = "src dir/s";
  auto cr = c->CopyObject(cp);
  ASSERT_FALSE(cr.ok());
  EXPECT_EQ(cr.error().kind, S3ErrorKind::kAccessDenied);
  // cpp-httplib URL-decodes header values; the encoding is checked in object_headers_test.
  EXPECT_EQ(server_.requests().back().Header("x-amz-copy-source"), "bkt/src dir/s");
  EXPECT_EQ(server_.requests().back().Header("x-amz-metadata-directive"), "COPY");
}

TEST_F(CurlObjectClientTest, TruncatedListingIsMalformed) {
  server_.set_intercept([&](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content("<ListBucketResult><Contents><Key>a</Key>", "application/xml");
    return true;
  });
  auto c = Client(Options(server_.endpoint()));
  auto r = c->ListObjectsV2({"bkt", "p/", "/", "", "", 100});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, S3ErrorKind::kMalformedResponse);
  EXPECT_EQ(server_.requests().back().target,
            "/bkt?delimiter=%2F&encoding-type=url&list-type=2&max-keys=100&prefix=p%2F");
}

TEST_F(CurlObjectClientTest, PutStreamsFromFileRange) {
  char path[] = "/tmp/stagefs-put-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content = "0123456789abcdefghij";
  ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  auto c = Client(Options(server_.endpoint()));
  UploadPartParams up{"bkt", "f", "up1", 3, BodySource::FromFile(fd, 5, 10)};
  auto r = c->UploadPart(up);
  close(fd);
  unlink(path);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto reqs = server_.requests();
  EXPECT_EQ(reqs.back().body, "56789abcde");
  EXPECT_EQ(reqs.back().target, "/bkt/f?partNumber=3&uploadId=up1");
}

TEST_F(CurlObjectClientTest, SignedPayloadAndSessionToken) {
  ClientOptions o = Options(server_.endpoint());
  o.sign_payload = true;
  o.credentials.session_token = "TOKEN";
  auto c = Client(o);
  PutObjectParams put;
  put.bucket = "bkt";
  put.key = "k";
  put.body = BodySource::FromString("abc");
  ASSERT_TRUE(c->PutObject(put).ok());
  auto req = server_.requests().back();
  EXPECT_EQ(req.Header("x-amz-content-sha256"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(req.Header("x-amz-security-token"), "TOKEN");
  EXPECT_NE(req.Header("Authorization").find("x-amz-security-token"), std::string::npos);
}

TEST_F(CurlObjectClientTest, DeleteObjectsSendsContentMd5) {
  server_.set_intercept([&](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content("<DeleteResult><Error><Key>b</Key><Code>AccessDenied</Code>"
                    "<Message>x</Message></Error></DeleteResult>", "application/xml");
    return true;
  });
  auto c = Client(Options(server_.endpoint()));
  auto r = c->DeleteObjects({"bkt", {"a", "b"}, true});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->errors.size(), 1u);
  auto req = server_.requests().back();
  EXPECT_EQ(req.target, "/bkt?delete=");
  EXPECT_FALSE(req.Header("Content-MD5").empty());
  EXPECT_NE(req.body.find("<Quiet>true</Quiet>"), std::string::npos);
}

TEST_F(CurlObjectClientTest, ManyConcurrentCallersShareFewSlots) {
  for (int i = 0; i < 8; ++i) server_.PutObject("/bkt/k" + std::to_string(i), std::string(20'000 + i, 'a' + i));
  ClientOptions o = Options(server_.endpoint());
  o.max_in_flight = 2;
  auto c = Client(o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = c->GetObject({"bkt", "k" + std::to_string(t), std::nullopt, std::nullopt, "", "", "", nullptr});
        if (r.ok() && r->body.size() == 20'000u + t) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 40);
}

// Uploads carry Content-MD5, and an answered ETag that is not the MD5 of the
// bytes sent is retried, not trusted (a lying or broken server).
TEST_F(CurlObjectClientTest, UploadEtagMustBeTheMd5OfTheBytesSent) {
  int lies = 2;
  server_.set_intercept([&](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "PUT" || lies == 0) return false;
    --lies;
    res.status = 200;
    res.set_header("ETag", "\"00000000000000000000000000000000\"");
    return true;
  });
  auto c = Client(Options(server_.endpoint()));
  PutObjectParams put{.bucket = "bkt", .key = "k", .body = BodySource::FromString("payload")};
  auto pr = c->PutObject(put);
  ASSERT_TRUE(pr.ok()) << pr.error().ToString();
  EXPECT_EQ(pr->etag, FakeS3Server::ETagOf("payload"));
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 3u);  // two lies, then the truth
  EXPECT_EQ(reqs.back().Header("Content-MD5"), "Mhw89IbtUJFk7eweGYH+yA==");  // md5("payload")
  lies = 100;
  auto bad = c->PutObject(put);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "BadDigest");
}

// A GET pinned with If-Match that is answered with another ETag is refused.
TEST_F(CurlObjectClientTest, GetAnsweredWithAnotherEtagIsRefused) {
  server_.PutObject("/bkt/k", "version two");
  auto c = Client(Options(server_.endpoint()));
  GetObjectParams get{.bucket = "bkt", .key = "k"};
  get.if_match = FakeS3Server::ETagOf("version two");
  ASSERT_TRUE(c->GetObject(get).ok());
  server_.set_intercept([&](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") return false;
    res.status = 200;
    res.set_header("ETag", "\"11111111111111111111111111111111\"");
    res.set_content("liar", "application/octet-stream");
    return true;
  });
  std::string got;
  get.sink = [&](const char* d, size_t n) {
    got.append(d, n);
    return true;
  };
  auto r = c->GetObject(get);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ETagMismatch");
  EXPECT_EQ(got, "");  // no byte reached the sink
}

}  // namespace
}  // namespace stagefs::s3
