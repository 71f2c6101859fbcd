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

}  // namespace
}  // namespace stagefs::cache
