// Core tests over FakeObjectClient: no FUSE, no network.
#include "core/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "s3/testing/fake_object_client.h"

namespace stagefs::core {
namespace {

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("stagefs-core-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    fake_.CreateBucket("b");
    options_.bucket = "b";
    options_.prefix = "pre/";
    options_.defaults = {.uid = 1000, .gid = 1000};
    options_.head_concurrency = 4;
  }
  void TearDown() override {
    fs_.reset();
    cache_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Mount() {
    fs_.reset();
    cache_.reset();
    store_.reset();
    store_ = std::move(meta::OpenSqliteMetadataStore(dir_ / "meta.db").value());
    cache_ = std::make_unique<cache::DataCache>(dir_ / "data", store_.get());
    ASSERT_TRUE(cache_->Init().ok());
    fs_ = std::make_unique<FileSystem>(options_, &fake_, store_.get(), cache_.get(), &clock_,
                                       &metrics_);
    ASSERT_TRUE(fs_->Init().ok());
  }
  uint64_t Walk(const std::string& path) {
    uint64_t ino = meta::kRootIno;
    size_t pos = 0;
    while (pos < path.size()) {
      size_t slash = path.find('/', pos);
      std::string part = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
      auto e = fs_->Lookup(ino, part);
      if (!e.ok()) return 0;
      ino = e->ino;
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    return ino;
  }
  std::string ReadAll(uint64_t ino, size_t chunk = 4096) {
    auto h = fs_->Open(ino, O_RDONLY);
    EXPECT_TRUE(h.ok());
    std::string out;
    std::vector<char> buf(chunk);
    while (true) {
      auto n = fs_->Read(h->fh, out.size(), chunk, buf.data());
      EXPECT_TRUE(n.ok()) << n.error().ToString();
      if (!n.ok() || *n == 0) break;
      out.append(buf.data(), *n);
    }
    fs_->Release(h->fh);
    return out;
  }
  std::vector<std::string> List(uint64_t ino) {
    auto fh = fs_->OpenDir(ino);
    EXPECT_TRUE(fh.ok());
    std::vector<std::string> names;
    EXPECT_TRUE(fs_->ReadDir(ino, *fh, 0, false, [&](const DirEntry& e) {
      names.push_back(e.name);
      return true;
    }).ok());
    fs_->ReleaseDir(*fh);
    return names;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  MetricsRegistry metrics_;
  s3::FakeObjectClient fake_{&clock_};
  FsOptions options_;
  std::unique_ptr<meta::MetadataStore> store_;
  std::unique_ptr<cache::DataCache> cache_;
  std::unique_ptr<FileSystem> fs_;
};

TEST_F(FileSystemTest, ImportsTreeWithMetadataAndHidesBadKeys) {
  fake_.PutRaw("b", "pre/a.txt", "hello",
               {{"file-owner", "7"}, {"file-group", "8"}, {"file-permissions", "0100600"},
                {"file-mtime", "1600000000000000001ns"}});
  fake_.PutRaw("b", "pre/s3fs.txt", "x", {{"uid", "9"}, {"gid", "10"}, {"mode", "33188"},
                                           {"mtime", "1500000000"}});
  fake_.PutRaw("b", "pre/dir/", "", {{"file-permissions", "040700"}});
  fake_.PutRaw("b", "pre/dir/inner", "in");
  fake_.PutRaw("b", "pre/link", "a.txt", {{"file-permissions", "0120777"}});
  fake_.PutRaw("b", "pre/bad//x", "x");
  fake_.PutRaw("b", "pre/shadow", "file");
  fake_.PutRaw("b", "pre/shadow/child", "x");
  fake_.PutRaw("b", "pre/" + std::string(256, 'n'), "x");
  Mount();
  auto names = List(meta::kRootIno);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "a.txt", "bad", "dir", "link", "s3fs.txt",
                                             "shadow"}));
  auto a = fs_->GetAttr(Walk("a.txt"));
  EXPECT_EQ(a->uid, 7u);
  EXPECT_EQ(a->gid, 8u);
  EXPECT_EQ(a->mode, 0100600u);
  EXPECT_EQ(a->mtime_ns, 1600000000000000001);
  auto s = fs_->GetAttr(Walk("s3fs.txt"));
  EXPECT_EQ(s->uid, 9u);
  EXPECT_EQ(s->mode, 0100644u);
  EXPECT_EQ(s->mtime_ns, 1500000000000000000);
  EXPECT_EQ(fs_->GetAttr(Walk("dir"))->mode, 040700u);
  EXPECT_EQ(*fs_->ReadLink(Walk("link")), "a.txt");
  EXPECT_TRUE(S_ISDIR(fs_->GetAttr(Walk("shadow"))->mode));
  EXPECT_EQ(List(Walk("bad")), (std::vector<std::string>{".", ".."}));
  auto failures = fs_->ImportFailures();
  ASSERT_EQ(failures->size(), 3u);
  EXPECT_EQ(metrics_.CounterSum("stagefs_import_failures_total"), 3u);
}

TEST_F(FileSystemTest, SecondStatPassCostsNoRequests) {
  for (int i = 0; i < 50; ++i) fake_.PutRaw("b", "pre/d/f" + std::to_string(i), "data");
  Mount();
  List(Walk("d"));
  fs_->WaitForBackgroundImports();
  fake_.ResetCounts();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(fs_->GetAttr(Walk("d/f" + std::to_string(i))).ok());
  List(Walk("d"));
  EXPECT_EQ(fake_.total_count(), 0u);
  // Small files were imported: reading them is local.
  EXPECT_EQ(ReadAll(Walk("d/f3")), "data");
  EXPECT_EQ(fake_.total_count(), 0u);
}

TEST_F(FileSystemTest, RemountServesFromStoreWithoutRequests) {
  fake_.PutRaw("b", "pre/x/y", "12345");
  Mount();
  EXPECT_EQ(ReadAll(Walk("x/y")), "12345");
  fs_->WaitForBackgroundImports();
  Mount();
  fake_.ResetCounts();
  EXPECT_EQ(ReadAll(Walk("x/y")), "12345");
  EXPECT_EQ(fake_.total_count(), 0u);
}

TEST_F(FileSystemTest, LargeFileRandomAndSequentialReads) {
  std::string big(5 * 1024 * 1024 + 1, '\0');
  std::mt19937 rng(42);
  for (auto& c : big) c = static_cast<char>(rng());
  fake_.PutRaw("b", "pre/big", big);
  options_.sync.import_rules[0].size_less_than = 0;
  Mount();
  uint64_t ino = Walk("big");
  // Random 4 KiB reads fill the block cache; re-reads are local.
  auto h = fs_->Open(ino, O_RDONLY);
  char buf[4096];
  fake_.ResetCounts();
  ASSERT_EQ(*fs_->Read(h->fh, 3'000'000, 4096, buf), 4096u);
  EXPECT_EQ(std::string(buf, 4096), big.substr(3'000'000, 4096));
  EXPECT_EQ(fake_.count(s3::Op::kGetObject), 1u);
  ASSERT_EQ(*fs_->Read(h->fh, 100, 4096, buf), 4096u);
  ASSERT_EQ(*fs_->Read(h->fh, 3'000'000, 4096, buf), 4096u);
  EXPECT_EQ(fake_.count(s3::Op::kGetObject), 2u);
  fs_->Release(h->fh);
  // A sequential read streams and does not grow the cache.
  uint64_t cached = cache_->used_bytes();
  EXPECT_EQ(ReadAll(ino, 128 * 1024), big);
  EXPECT_LE(cache_->used_bytes(), cached + 3 * options_.block_size);
}

TEST_F(FileSystemTest, OpenRevalidatesAfterRefreshInterval) {
  fake_.PutRaw("b", "pre/f", "old");
  options_.refresh_interval = std::chrono::seconds(5);
  Mount();
  uint64_t ino = Walk("f");
  EXPECT_EQ(ReadAll(ino), "old");
  fake_.PutRaw("b", "pre/f", "newer");
  EXPECT_EQ(ReadAll(ino), "old");  // within the interval: cached
  clock_.Advance(std::chrono::seconds(6));
  auto h = fs_->Open(ino, O_RDONLY);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->keep_cache);
  fs_->Release(h->fh);
  EXPECT_EQ(ReadAll(ino), "newer");
  EXPECT_EQ(fs_->GetAttr(ino)->size, 5u);
}

// Open finds the object deleted in S3: the name goes at once (ESTALE, so the
// kernel looks it up again and open(O_CREAT) can create it), even when no
// re-list would run.
TEST_F(FileSystemTest, OpenOfAnObjectDeletedInS3DropsTheName) {
  fake_.PutRaw("b", "pre/f", "old");
  options_.refresh_interval = std::chrono::seconds(5);
  Mount();
  uint64_t ino = Walk("f");
  ASSERT_NE(ino, 0u);
  fake_.DeleteRaw("b", "pre/f");
  clock_.Advance(std::chrono::seconds(6));
  auto h = fs_->Open(ino, O_WRONLY | O_CREAT);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code(), ErrorCode::kStale);
  EXPECT_EQ(fs_->Lookup(meta::kRootIno, "f").error().code(), ErrorCode::kNotFound);
}

TEST_F(FileSystemTest, ChangedObjectUnderReadFailsCleanly) {
  std::string big(3 << 20, 'a');
  fake_.PutRaw("b", "pre/big", big);
  options_.sync.import_rules[0].size_less_than = 0;
  Mount();
  uint64_t ino = Walk("big");
  auto h = fs_->Open(ino, O_RDONLY);
  fake_.PutRaw("b", "pre/big", std::string(3 << 20, 'b'));
  char buf[100];
  auto r = fs_->Read(h->fh, 0, 100, buf);
  EXPECT_FALSE(r.ok());
  fs_->Release(h->fh);
  EXPECT_EQ(ReadAll(ino).substr(0, 3), "bbb");
}

TEST_F(FileSystemTest, LookupCountsAndDotLookups) {
  fake_.PutRaw("b", "pre/d/e/f", "x");
  Mount();
  uint64_t d = Walk("d");
  uint64_t e = Walk("d/e");
  auto dot = fs_->Lookup(e, ".");
  EXPECT_EQ(dot->ino, e);
  auto dotdot = fs_->Lookup(e, "..");
  EXPECT_EQ(dotdot->ino, d);
  fs_->Forget(e, 100);  // forgotten by the kernel: still resolvable
  EXPECT_EQ(fs_->Lookup(e, "..")->ino, d);
  EXPECT_EQ(fs_->Lookup(meta::kRootIno, "..")->ino, meta::kRootIno);
}

TEST_F(FileSystemTest, ManyEntriesPaginateAndResume) {
  for (int i = 0; i < 2500; ++i) fake_.PutRaw("b", "pre/big/" + std::to_string(i), "");
  Mount();
  uint64_t d = Walk("big");
  auto fh = fs_->OpenDir(d);
  std::vector<std::string> names;
  uint64_t off = 0;
  while (true) {
    int n = 0;
    uint64_t next = off;
    ASSERT_TRUE(fs_->ReadDir(d, *fh, off, false, [&](const DirEntry& e) {
      if (n++ == 100) return false;
      names.push_back(e.name);
      next = e.next_offset;
      return true;
    }).ok());
    if (next == off) break;
    off = next;
  }
  EXPECT_EQ(names.size(), 2502u);
  fs_->ReleaseDir(*fh);
}

}  // namespace
}  // namespace stagefs::core
