// MountedFsTest: a core::FileSystem with its metadata store, data cache and
// exporter over FakeObjectClient in a temporary directory (no FUSE, no
// network), plus path helpers. Shared by the core tests; each test gets a
// fresh directory, removed afterwards.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "core/file_system.h"
#include "s3/testing/fake_object_client.h"
#include "sync/exporter.h"

namespace stagefs::core {

class MountedFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("stagefs-write-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    fake_.CreateBucket("b");
    options_.bucket = "b";
    options_.prefix = "p/";
    options_.head_concurrency = 4;
  }
  void TearDown() override {
    Unmount();
    std::filesystem::remove_all(dir_);
  }
  void Unmount() {
    if (fs_) fs_->SetExporter(nullptr);
    exporter_.reset();
    fs_.reset();
    cache_.reset();
    store_.reset();
  }
  void Mount(s3::ObjectClient* client = nullptr) {
    Unmount();
    client = client ? client : &fake_;
    std::filesystem::create_directories(dir_);
    store_ = std::move(meta::OpenSqliteMetadataStore(dir_ / "meta.db").value());
    cache_ = std::make_unique<cache::DataCache>(dir_ / "data", store_.get(), &metrics_);
    ASSERT_TRUE(cache_->Init().ok());
    fs_ = std::make_unique<FileSystem>(options_, client, store_.get(), cache_.get(), &clock_,
                                       &metrics_);
    ASSERT_TRUE(fs_->Init().ok());
    sync::ExporterOptions eo;
    eo.bucket = "b";
    eo.export_delay = std::chrono::seconds(60);
    eo.trust_put_if_none_match = true;
    eo.retry_base = std::chrono::milliseconds(1);
    eo.retry_max = std::chrono::milliseconds(5);
    eo.multipart_threshold = 16 << 20;
    exporter_ = std::make_unique<sync::Exporter>(eo, client, fs_.get(), exporter_clock_, &metrics_);
    exporter_->Start();
    fs_->SetExporter(exporter_.get());
  }
  uint64_t Ino(const std::string& path) {
    uint64_t ino = meta::kRootIno;
    size_t pos = 0;
    while (pos < path.size()) {
      size_t slash = path.find('/', pos);
      auto e = fs_->Lookup(ino, path.substr(pos, slash - pos));
      if (!e.ok()) return 0;
      ino = e->ino;
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    return ino;
  }
  std::pair<uint64_t, std::string> Split(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return {meta::kRootIno, path};
    return {Ino(path.substr(0, slash)), path.substr(slash + 1)};
  }
  void WriteFile(const std::string& path, const std::string& data, uint64_t off = 0,
                 int flags = O_WRONLY | O_CREAT) {
    auto [parent, name] = Split(path);
    uint64_t ino = Ino(path);
    uint64_t fh;
    if (ino == 0) {
      auto c = fs_->Create(parent, name, 0644, flags, caller_);
      ASSERT_TRUE(c.ok()) << c.error().ToString();
      fh = c->second.fh;
    } else {
      auto o = fs_->Open(ino, flags & ~O_CREAT);
      ASSERT_TRUE(o.ok()) << o.error().ToString();
      fh = o->fh;
    }
    auto n = fs_->Write(fh, off, data.data(), data.size());
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    fs_->Release(fh);
  }
  std::string ReadFile(const std::string& path) {
    uint64_t ino = Ino(path);
    auto o = fs_->Open(ino, O_RDONLY);
    EXPECT_TRUE(o.ok());
    std::string out(fs_->GetAttr(ino)->size, '\0');
    auto n = fs_->Read(o->fh, 0, out.size(), out.data());
    EXPECT_TRUE(n.ok()) << n.error().ToString();
    fs_->Release(o->fh);
    return out;
  }
  void Sync() { ASSERT_TRUE(fs_->SyncNow(meta::kRootIno).ok()); }
  // The first entry of /.stagefs-lost+found ("" if there is none).
  std::string LostFoundEntry() {
    uint64_t lf = Ino(".stagefs-lost+found");
    if (lf == 0) return "";
    auto fh = fs_->OpenDir(lf);
    std::string name;
    EXPECT_TRUE(fs_->ReadDir(lf, *fh, 2, false, [&](const DirEntry& e) {
      name = e.name;
      return false;
    }).ok());
    fs_->ReleaseDir(*fh);
    return name;
  }
  std::string Object(const std::string& key) {
    auto o = fake_.GetRaw("b", "p/" + key);
    return o ? o->data : "<missing>";
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  RealClock real_clock_;
  Clock* exporter_clock_ = &real_clock_;  // retries back off in real time
  MetricsRegistry metrics_;
  s3::FakeObjectClient fake_{&clock_};
  FsOptions options_;
  Caller caller_{1000, 1000};
  std::unique_ptr<meta::MetadataStore> store_;
  std::unique_ptr<cache::DataCache> cache_;
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<sync::Exporter> exporter_;
};

}  // namespace stagefs::core
