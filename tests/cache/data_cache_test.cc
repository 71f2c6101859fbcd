// DataCache: the orphan sweep at mount time.
#include "cache/data_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "meta/metadata_store.h"

namespace stagefs::cache {
namespace {

namespace fs = std::filesystem;

class DataCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("stagefs-cache-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    cache_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open() {
    cache_.reset();
    store_.reset();
    store_ = std::move(meta::OpenSqliteMetadataStore(dir_ / "meta.db").value());
    cache_ = std::make_unique<DataCache>(dir_ / "data", store_.get());
    ASSERT_TRUE(cache_->Init().ok());
  }
  bool Exists(uint64_t ino) { return fs::exists(cache_->PathOf(ino)); }
  uint64_t Allocate() { return store_->NextInodeNumber().value(); }

  fs::path dir_;
  std::unique_ptr<meta::MetadataStore> store_;
  std::unique_ptr<DataCache> cache_;
};

TEST_F(DataCacheTest, RemoveOrphansDeletesFilesWithoutAFileInode) {
  uint64_t kept = Allocate(), orphan = Allocate(), empty = Allocate();
  for (uint64_t ino : {kept, orphan}) {
    ASSERT_TRUE(cache_->Write(ino, 0, "0123456789", 10).ok());
    ASSERT_TRUE(cache_->Persist(ino).ok());
  }
  ASSERT_TRUE(cache_->Truncate(empty, 0, 0, false).ok());  // an empty file
  ASSERT_TRUE(store_->Flush().ok());
  Open();
  EXPECT_EQ(cache_->used_bytes(), 20u);
  ASSERT_TRUE(cache_->RemoveOrphans([&](uint64_t ino) { return ino == kept; }).ok());
  EXPECT_TRUE(Exists(kept));
  EXPECT_FALSE(Exists(orphan));
  EXPECT_FALSE(Exists(empty));
  EXPECT_EQ(cache_->used_bytes(), 10u);
  EXPECT_TRUE(store_->GetExtents(orphan)->empty());
  EXPECT_FALSE(cache_->Covers(orphan, 0, 1));
}

// A fetch that started before the cached bytes were dropped (the object
// changed) must not write its old bytes into the new version's cache.
TEST_F(DataCacheTest, FetchedBytesFromBeforeADropAreRefused) {
  uint64_t ino = Allocate();
  uint64_t gen = cache_->Generation(ino);
  ASSERT_TRUE(cache_->WriteIfMissing(ino, 0, "old", 3, gen).ok());
  uint64_t before_drop = cache_->Generation(ino);
  ASSERT_TRUE(cache_->Drop(ino).ok());
  Status st = cache_->WriteIfMissing(ino, 0, "old", 3, before_drop);
  EXPECT_EQ(st.code(), ErrorCode::kCancelled);
  EXPECT_FALSE(cache_->Covers(ino, 0, 3));
  EXPECT_TRUE(cache_->WriteIfMissing(ino, 0, "new", 3, cache_->Generation(ino)).ok());
}

// Residency changed by writes reaches the store with the next batch commit,
// so that after a crash sizes and resident ranges agree.
TEST_F(DataCacheTest, ChangedResidencyIsPersistedWithTheBatch) {
  uint64_t ino = Allocate();
  ASSERT_TRUE(cache_->Write(ino, 0, "0123456789", 10).ok());
  EXPECT_TRUE(store_->GetExtents(ino).value().empty());
  ASSERT_TRUE(cache_->PersistChanged().ok());
  ASSERT_TRUE(store_->Flush().ok());
  Open();
  EXPECT_TRUE(cache_->Covers(ino, 0, 10));
}

// A cache file shorter than its recorded residency is never served as zeros.
TEST_F(DataCacheTest, ShortCacheFileIsAnIntegrityErrorNotZeros) {
  uint64_t ino = Allocate();
  ASSERT_TRUE(cache_->Write(ino, 0, "0123456789", 10).ok());
  ASSERT_TRUE(cache_->Persist(ino).ok());
  ASSERT_TRUE(store_->Flush().ok());
  Open();
  fs::resize_file(cache_->PathOf(ino), 4);  // damaged behind our back
  char buf[10];
#ifdef NDEBUG
  auto r = cache_->Read(ino, 0, 10, buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
#else
  EXPECT_DEATH((void)cache_->Read(ino, 0, 10, buf), "integrity");
#endif
  EXPECT_EQ(cache_->Read(ino, 0, 4, buf).value(), 4u);
}

}  // namespace
}  // namespace stagefs::cache
