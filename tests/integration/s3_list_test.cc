// ListObjectsV2 pagination over more than 1,000 keys (small max_keys to force many
// pages, with a delimiter, with start-after) and batch DeleteObjects, against the
// real server (see s3_client_test.cc for how the runs are set up).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/testenv.h"

namespace stagefs::testing {
namespace {

using s3::BodySource;
using s3::S3ErrorKind;

// The tree: P/d0/f00 ... P/d9/f99 (1,000 keys) and P/top00 ... P/top49.
constexpr int kDirs = 10;
constexpr int kFilesPerDir = 100;
constexpr int kTop = 50;
constexpr int kTotal = kDirs * kFilesPerDir + kTop;

std::string TwoDigits(int i) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", i);
  return buf;
}

class S3ListTest : public S3IntegrationTest {
 protected:
  static constexpr const char* kTree = "tree/";

  static std::vector<std::string> ExpectedKeys() {
    std::vector<std::string> keys;
    for (int d = 0; d < kDirs; ++d) {
      for (int f = 0; f < kFilesPerDir; ++f) {
        keys.push_back(std::string(kTree) + "d" + std::to_string(d) + "/f" + TwoDigits(f));
      }
    }
    for (int t = 0; t < kTop; ++t) keys.push_back(std::string(kTree) + "top" + TwoDigits(t));
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  // Puts the tree once per process (again if a test deleted it), 16 PUTs at a time.
  void EnsureTree() {
    static bool present = false;
    if (present) return;
    const std::vector<std::string> keys = ExpectedKeys();
    std::atomic<size_t> next{0};
    std::atomic<int> failures{0};
    std::string first_error;
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        for (size_t i = next++; i < keys.size(); i = next++) {
          s3::PutObjectParams p;
          p.bucket = bucket();
          p.key = keys[i];
          p.body = BodySource::FromString(keys[i]);
          auto r = client().PutObject(p);
          if (!r.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            if (failures++ == 0) first_error = keys[i] + ": " + r.error().ToString();
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(failures.load(), 0) << first_error;
    present = true;
  }

  // Lists every page; checks the page invariants on the way.
  struct Listing {
    std::vector<std::string> keys;
    std::vector<std::string> prefixes;
    int pages = 0;
  };
  void ListAll(s3::ListObjectsV2Params p, Listing* out) {
    p.bucket = bucket();
    for (;;) {
      auto r = client().ListObjectsV2(p);
      ASSERT_OK(r);
      ++out->pages;
      // (s3rver counts only objects against max-keys, not common prefixes.)
      const size_t counted = r->objects.size() + (server().is_s3rver() ? 0 : r->common_prefixes.size());
      ASSERT_LE(static_cast<int>(counted), p.max_keys);
      for (const auto& o : r->objects) {
        out->keys.push_back(o.key);
        EXPECT_EQ(o.size, o.key.size()) << o.key;  // each body is its own key
        EXPECT_FALSE(o.etag.empty()) << o.key;
        EXPECT_GT(o.last_modified_ns, 0) << o.key;
      }
      for (const auto& cp : r->common_prefixes) out->prefixes.push_back(cp);
      if (!r->is_truncated) break;
      ASSERT_FALSE(r->next_continuation_token.empty()) << "truncated page without a token";
      ASSERT_LT(out->pages, 2000) << "pagination does not end";
      p.continuation_token = r->next_continuation_token;
    }
  }
};

TEST_F(S3ListTest, PaginatesOverMoreThan1000KeysWithSmallPages) {
  EnsureTree();
  ASSERT_FALSE(HasFatalFailure());
  s3::ListObjectsV2Params p;
  p.prefix = kTree;
  p.max_keys = 97;
  Listing l;
  ListAll(p, &l);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(l.keys, ExpectedKeys()) << "every key once, in order";
  EXPECT_EQ(l.pages, (kTotal + 96) / 97);
  EXPECT_TRUE(l.prefixes.empty());
}

TEST_F(S3ListTest, DefaultPageSizeIs1000) {
  EnsureTree();
  ASSERT_FALSE(HasFatalFailure());
  s3::ListObjectsV2Params p;
  p.prefix = kTree;
  Listing l;
  ListAll(p, &l);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(l.pages, 2);
  EXPECT_EQ(static_cast<int>(l.keys.size()), kTotal);
}

TEST_F(S3ListTest, DelimiterGivesCommonPrefixesAcrossPages) {
  EnsureTree();
  ASSERT_FALSE(HasFatalFailure());
  s3::ListObjectsV2Params p;
  p.prefix = kTree;
  p.delimiter = "/";
  p.max_keys = 7;
  Listing l;
  ListAll(p, &l);
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::string> want_prefixes;
  for (int d = 0; d < kDirs; ++d) want_prefixes.push_back(std::string(kTree) + "d" + std::to_string(d) + "/");
  EXPECT_EQ(l.prefixes, want_prefixes) << "each common prefix once, in order";
  std::vector<std::string> want_top;
  for (int t = 0; t < kTop; ++t) want_top.push_back(std::string(kTree) + "top" + TwoDigits(t));
  EXPECT_EQ(l.keys, want_top);
  EXPECT_GE(l.pages, (kDirs + kTop) / 7);

  // One level down.
  Listing sub;
  p.prefix = std::string(kTree) + "d3/";
  p.max_keys = 1000;
  ListAll(p, &sub);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(static_cast<int>(sub.keys.size()), kFilesPerDir);
  EXPECT_TRUE(sub.prefixes.empty());
}

TEST_F(S3ListTest, StartAfter) {
  EnsureTree();
  ASSERT_FALSE(HasFatalFailure());
  s3::ListObjectsV2Params p;
  p.prefix = kTree;
  p.start_after = std::string(kTree) + "d4/f49";
  p.max_keys = 250;
  Listing l;
  ListAll(p, &l);
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::string> want;
  for (const auto& k : ExpectedKeys()) {
    if (k > p.start_after) want.push_back(k);
  }
  ASSERT_EQ(want.size(), 50u + 5 * kFilesPerDir + kTop);
  EXPECT_EQ(l.keys, want);
}

TEST_F(S3ListTest, EmptyPrefix) {
  s3::ListObjectsV2Params p;
  p.bucket = bucket();
  p.prefix = "no/such/prefix/";
  auto r = client().ListObjectsV2(p);
  ASSERT_OK(r);
  EXPECT_TRUE(r->objects.empty());
  EXPECT_TRUE(r->common_prefixes.empty());
  EXPECT_FALSE(r->is_truncated);

  p.bucket = bucket() + "-missing";
  EXPECT_S3_ERROR(client().ListObjectsV2(p), S3ErrorKind::kNoSuchBucket);
}

TEST_F(S3ListTest, BatchDeleteObjects) {
  // Its own 1,010 keys, so that the listing tests keep their tree.
  std::vector<std::string> keys;
  for (int i = 0; i < 1010; ++i) keys.push_back(Prefix() + "k" + std::to_string(i));
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < keys.size(); i = next++) {
        s3::PutObjectParams p;
        p.bucket = bucket();
        p.key = keys[i];
        p.body = BodySource::FromString("x");
        if (!client().PutObject(p).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);

  // 1,000 in quiet mode (the maximum per request).
  s3::DeleteObjectsParams d;
  d.bucket = bucket();
  d.keys.assign(keys.begin(), keys.begin() + 1000);
  d.quiet = true;
  auto r = client().DeleteObjects(d);
  ASSERT_OK(r);
  EXPECT_TRUE(r->errors.empty());
  if (server().is_rgw()) {
    EXPECT_TRUE(r->deleted.empty()) << "quiet mode reports only errors";  // s3rver ignores Quiet
  }

  // The rest verbosely, with a key that does not exist (deleted, as S3 says).
  d.keys.assign(keys.begin() + 1000, keys.end());
  d.keys.push_back(Prefix() + "never-existed");
  d.quiet = false;
  r = client().DeleteObjects(d);
  ASSERT_OK(r);
  EXPECT_TRUE(r->errors.empty()) << r->errors.front().key << ": " << r->errors.front().code;
  std::set<std::string> deleted(r->deleted.begin(), r->deleted.end());
  std::set<std::string> want(d.keys.begin(), d.keys.end());
  EXPECT_EQ(deleted, want);

  s3::ListObjectsV2Params lp;
  lp.bucket = bucket();
  lp.prefix = Prefix();
  auto left = client().ListObjectsV2(lp);
  ASSERT_OK(left);
  EXPECT_TRUE(left->objects.empty()) << left->objects.size() << " keys left";
}

}  // namespace
}  // namespace stagefs::testing
