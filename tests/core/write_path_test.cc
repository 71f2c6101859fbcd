// Write path and export engine over FakeObjectClient: no FUSE, no network.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <atomic>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "core/file_system.h"
#include "core/mounted_fs.h"
#include "s3/testing/fake_object_client.h"
#include "s3/testing/fault_injecting_object_client.h"
#include "sync/exporter.h"

namespace stagefs::core {
namespace {

class WritePathTest : public MountedFsTest {};

TEST_F(WritePathTest, CreateWriteExportsOnePutAfterQuietWindow) {
  exporter_clock_ = &clock_;
  Mount();
  fake_.ResetCounts();
  for (int i = 0; i < 10; ++i) WriteFile("f", std::string(1, 'a' + i), i);
  EXPECT_EQ(fake_.count(s3::Op::kPutObject), 0u);  // nothing on the write path
  EXPECT_EQ(ReadFile("f"), "abcdefghij");
  clock_.Advance(std::chrono::seconds(61));
  for (int i = 0; i < 200 && fake_.count(s3::Op::kPutObject) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  Sync();
  EXPECT_EQ(fake_.count(s3::Op::kPutObject), 1u);
  EXPECT_EQ(Object("f"), "abcdefghij");
  auto md = fake_.GetRaw("b", "p/f")->metadata;
  EXPECT_EQ(md["file-owner"], "1000");
  EXPECT_EQ(md["file-permissions"], "0100644");
}

// A new file opened write-only gets direct I/O (its handle can neither read
// nor be mapped); read-write creates and opens of existing files do not. A write
// clears set-user-ID and set-group-ID, and the kernel's mode is invalidated.
TEST_F(WritePathTest, WriteOnlyCreateUsesDirectIo) {
  struct Recorder : KernelNotifier {
    std::vector<uint64_t> inodes;
    void InvalidateInode(uint64_t ino) override { inodes.push_back(ino); }
    void InvalidateEntry(uint64_t, const std::string&) override {}
  } kernel;
  Mount();
  fs_->SetNotifier(&kernel);
  std::shared_ptr<void> unset(nullptr, [&](void*) { fs_->SetNotifier(nullptr); });
  auto wo = fs_->Create(meta::kRootIno, "wo", 06755, O_WRONLY | O_CREAT, caller_);
  ASSERT_TRUE(wo.ok()) << wo.error().ToString();
  EXPECT_TRUE(wo->second.direct_io);
  auto rw = fs_->Create(meta::kRootIno, "rw", 0644, O_RDWR | O_CREAT, caller_);
  ASSERT_TRUE(rw.ok());
  EXPECT_FALSE(rw->second.direct_io);
  auto again = fs_->Create(meta::kRootIno, "wo", 0644, O_WRONLY | O_CREAT, caller_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->second.direct_io);  // an existing file: ordinary open
  uint64_t ino = wo->first.ino;
  EXPECT_EQ(fs_->GetAttr(ino)->mode & 07777, 06755u);
  ASSERT_TRUE(fs_->Write(wo->second.fh, 0, "abc", 3).ok());
  EXPECT_EQ(fs_->GetAttr(ino)->mode & 07777, 0755u);
  EXPECT_EQ(kernel.inodes, std::vector<uint64_t>{ino});
  ASSERT_TRUE(fs_->Write(wo->second.fh, 3, "d", 1).ok());
  EXPECT_EQ(kernel.inodes.size(), 1u);  // nothing more to clear
  for (uint64_t fh : {wo->second.fh, rw->second.fh, again->second.fh}) fs_->Release(fh);
  EXPECT_EQ(ReadFile("wo"), "abcd");
}

// The first change to a clean file commits its dirty state before the cached
// bytes change: another reader of the metadata database (what the next mount
// after a crash of the daemon sees) finds it dirty at once, not only after the
// next batch commit.
TEST_F(WritePathTest, FirstChangeToACleanFileIsCommittedBeforeTheBytes) {
  Mount();
  WriteFile("f", "old contents");
  WriteFile("g", "old contents");
  Sync();
  auto committed = [&](const std::string& name) {
    auto other = meta::OpenSqliteMetadataStore(dir_ / "meta.db");
    EXPECT_TRUE(other.ok());
    meta::InodeRecord out;
    EXPECT_TRUE((*other)->LoadInodes([&](meta::InodeRecord&& r) {
      if (r.name == name) out = r;
    }).ok());
    return out;
  };
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_FALSE(committed("f").data_dirty);
  WriteFile("f", "NEW", 0, O_WRONLY);
  EXPECT_TRUE(committed("f").data_dirty);
  SetAttrRequest shrink;
  shrink.size = 3;
  ASSERT_TRUE(fs_->SetAttr(Ino("g"), shrink).ok());
  EXPECT_TRUE(committed("g").data_dirty);
}

TEST_F(WritePathTest, NamespaceOperationsReachTheBucket) {
  fake_.PutRaw("b", "p/old/x", "X");
  fake_.PutRaw("b", "p/keep", "K");
  Mount();
  ASSERT_TRUE(fs_->Mkdir(meta::kRootIno, "d", 0750, caller_).ok());
  WriteFile("d/f", "hello");
  ASSERT_TRUE(fs_->Symlink(Ino("d"), "l", "f", caller_).ok());
  ASSERT_TRUE(fs_->Rename(meta::kRootIno, "old", meta::kRootIno, "new", 0).ok());
  ASSERT_TRUE(fs_->Unlink(meta::kRootIno, "keep").ok());
  SetAttrRequest chmod;
  chmod.mode = 0600;
  ASSERT_TRUE(fs_->SetAttr(Ino("new/x"), chmod).ok());
  Sync();
  auto keys = fake_.Keys("b");
  EXPECT_EQ(keys, (std::vector<std::string>{"p/d/", "p/d/f", "p/d/l", "p/new/x"}));
  EXPECT_EQ(Object("d/f"), "hello");
  EXPECT_EQ(Object("d/l"), "f");
  EXPECT_EQ(fake_.GetRaw("b", "p/d/l")->metadata["file-permissions"], "0120777");
  EXPECT_EQ(fake_.GetRaw("b", "p/d/")->metadata["file-permissions"], "0040750");
  EXPECT_EQ(fake_.GetRaw("b", "p/new/x")->metadata["file-permissions"], "0100600");
  EXPECT_EQ(Object("new/x"), "X");
  // rmdir needs an empty directory.
  EXPECT_EQ(fs_->Rmdir(meta::kRootIno, "d").code(), ErrorCode::kNotEmpty);
}

TEST_F(WritePathTest, RenameExchangeSwapsThroughATemporaryKey) {
  fake_.PutRaw("b", "p/a", "AAA");
  fake_.PutRaw("b", "p/b", "BBB");
  options_.sync.import_rules[0].size_less_than = 0;  // nothing local: the swap must use server copies
  Mount();
  ASSERT_TRUE(fs_->Lookup(meta::kRootIno, "a").ok());
  ASSERT_TRUE(fs_->Rename(meta::kRootIno, "a", meta::kRootIno, "b", RENAME_EXCHANGE).ok());
  Sync();
  EXPECT_EQ(Object("a"), "BBB");
  EXPECT_EQ(Object("b"), "AAA");
  EXPECT_EQ(fake_.Keys("b").size(), 2u);
}

TEST_F(WritePathTest, RenameOverExistingAndRecreate) {
  fake_.PutRaw("b", "p/a", "AAA");
  fake_.PutRaw("b", "p/b", "BBB");
  Mount();
  ASSERT_TRUE(fs_->Rename(meta::kRootIno, "a", meta::kRootIno, "b", 0).ok());
  WriteFile("a", "new a");
  Sync();
  EXPECT_EQ(Object("a"), "new a");
  EXPECT_EQ(Object("b"), "AAA");
  ASSERT_TRUE(fs_->Unlink(meta::kRootIno, "a").ok());
  WriteFile("a", "third");
  Sync();
  EXPECT_EQ(Object("a"), "third");
}

TEST_F(WritePathTest, PartialUpdateOfLargeFileCopiesUnchangedParts) {
  std::string big(40 << 20, 'z');
  fake_.PutRaw("b", "p/big", big);
  options_.sync.import_rules[0].size_less_than = 0;
  Mount();
  ASSERT_TRUE(fs_->Lookup(meta::kRootIno, "big").ok());
  fake_.ResetCounts();
  WriteFile("big", std::string(4096, 'Q'), 20 << 20, O_WRONLY);
  Sync();
  EXPECT_LE(fake_.bytes_sent(), 9u << 20);  // about one 8 MiB part
  EXPECT_GE(fake_.count(s3::Op::kUploadPartCopy), 3u);
  big.replace(20 << 20, 4096, std::string(4096, 'Q'));
  EXPECT_TRUE(Object("big") == big);
}

TEST_F(WritePathTest, PartialUpdateWithoutUploadPartCopyUploadsWholeFile) {
  s3::FakeObjectClient lenient({.upload_part_copy = false}, &clock_);
  lenient.CreateBucket("b");
  std::string big(20 << 20, 'y');
  lenient.PutRaw("b", "p/big", big);
  options_.sync.import_rules[0].size_less_than = 0;
  Mount(&lenient);
  ASSERT_TRUE(fs_->Lookup(meta::kRootIno, "big").ok());
  WriteFile("big", "HELLO", 100, O_WRONLY);
  Sync();
  big.replace(100, 5, "HELLO");
  EXPECT_TRUE(lenient.GetRaw("b", "p/big")->data == big);
}

TEST_F(WritePathTest, TruncateThenGrowReadsZeros) {
  fake_.PutRaw("b", "p/f", "0123456789");
  options_.sync.import_rules[0].size_less_than = 0;
  Mount();
  uint64_t ino = Ino("f");
  SetAttrRequest shrink;
  shrink.size = 3;
  ASSERT_TRUE(fs_->SetAttr(ino, shrink).ok());
  SetAttrRequest grow;
  grow.size = 6;
  ASSERT_TRUE(fs_->SetAttr(ino, grow).ok());
  EXPECT_EQ(ReadFile("f"), std::string("012\0\0\0", 6));
  Sync();
  EXPECT_EQ(Object("f"), std::string("012\0\0\0", 6));
}

std::string ReadAllFrom(FileSystem& fs, uint64_t ino) {
  auto o = fs.Open(ino, O_RDONLY);
  std::string out(fs.GetAttr(ino)->size, '\0');
  auto n = fs.Read(o->fh, 0, out.size(), out.data());
  fs.Release(o->fh);
  return n.ok() ? out : "<error>";
}

TEST_F(WritePathTest, ConflictAtExportMovesLocalCopyToLostFound) {
  fake_.PutRaw("b", "p/f", "v1");
  options_.audit_log_path = (dir_ / "audit.log").string();
  Mount();
  WriteFile("f", "mine", 0, O_WRONLY | O_TRUNC);
  fake_.PutRaw("b", "p/f", "theirs");
  Status synced = exporter_->SyncNow({}, std::chrono::milliseconds(2000));
  EXPECT_NE(synced.message().find("Conflict"), std::string::npos) << synced.ToString();
  EXPECT_EQ(Object("f"), "theirs");  // S3 wins
  EXPECT_EQ(ReadFile("f"), "theirs");
  std::string lost = LostFoundEntry();
  ASSERT_NE(lost.find("_f"), std::string::npos);
  uint64_t lost_ino = Ino(".stagefs-lost+found/" + lost);
  EXPECT_EQ(ReadAllFrom(*fs_, lost_ino), "mine");
  auto status = fs_->FileStatusText(lost_ino);
  EXPECT_NE(status->find("FilePath: /f"), std::string::npos) << *status;
  EXPECT_NE(status->find("S3Key: s3://b/p/f"), std::string::npos) << *status;
  EXPECT_NE(status->find("Conflict"), std::string::npos) << *status;
  EXPECT_EQ(metrics_.GetGauge("stagefs_lost_and_found_files", "")->value(), 1);
  std::ifstream audit(options_.audit_log_path);
  std::string line;
  std::getline(audit, line);
  EXPECT_NE(line.find("\"path\":\"/f\""), std::string::npos) << line;
  // Nothing in lost+found is exported, and the conflict was reported once:
  // the next sync succeeds.
  Status again = exporter_->SyncNow({}, std::chrono::milliseconds(2000));
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(fake_.Keys("b"), (std::vector<std::string>{"p/f"}));
}

// A large file changed in part moves to lost+found when S3 replaced its
// object; the bytes never fetched from the old object are not invented: reads
// of them fail (EIO), and the status xattr counts them.
TEST_F(WritePathTest, LostFoundCopyOfAPartlyCachedFileDoesNotReadZeros) {
  options_.sync.import_rules[0].size_less_than = 0;
  std::string old(3 << 20, 'o');
  fake_.PutRaw("b", "p/big", old);
  Mount();
  WriteFile("big", "MINE", 0, O_WRONLY);  // first bytes only; the rest is not cached
  fake_.PutRaw("b", "p/big", "theirs");
  (void)exporter_->SyncNow({}, std::chrono::milliseconds(3000));
  std::string lost = LostFoundEntry();
  ASSERT_FALSE(lost.empty());
  uint64_t ino = Ino(".stagefs-lost+found/" + lost);
  auto o = fs_->Open(ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  std::string head(4, '\0');
  EXPECT_EQ(fs_->Read(o->fh, 0, 4, head.data()).value(), 4u);
  EXPECT_EQ(head, "MINE");
  std::string tail(4096, '\0');
  auto r = fs_->Read(o->fh, (3 << 20) - 4096, 4096, tail.data());
  ASSERT_FALSE(r.ok()) << "read " << r.value() << " bytes of zeros";
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
  fs_->Release(o->fh);
  std::string status = fs_->FileStatusText(ino).value();
  EXPECT_NE(status.find("MissingBytes: "), std::string::npos) << status;
  EXPECT_EQ(ReadFile("big"), "theirs");
}

TEST_F(WritePathTest, RelistFindsModifyVersusDelete) {
  fake_.PutRaw("b", "p/f", "v1");
  options_.refresh_interval = std::chrono::seconds(5);
  Mount();
  WriteFile("f", "local edit", 0, O_WRONLY | O_TRUNC);
  fake_.DeleteRaw("b", "p/f");
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_EQ(Ino("f"), 0u);  // the re-list removed it: S3 wins
  std::string lost = LostFoundEntry();
  EXPECT_EQ(ReadAllFrom(*fs_, Ino(".stagefs-lost+found/" + lost)), "local edit");
}

TEST_F(WritePathTest, PendingExportsSurviveRemount) {
  Mount();
  WriteFile("f", "durable");
  ASSERT_TRUE(fs_->Fsync(Ino("f")).ok());
  Unmount();  // no export happened (60 s window)
  EXPECT_EQ(Object("f"), "<missing>");
  Mount();
  EXPECT_EQ(ReadFile("f"), "durable");
  Sync();
  EXPECT_EQ(Object("f"), "durable");
}

TEST_F(WritePathTest, RetryableFailuresRetryUntilSuccess) {
  s3::FaultInjectingObjectClient faulty(&fake_);
  Mount(&faulty);
  WriteFile("f", "x");
  faulty.SetOffline(true);
  std::thread back([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    faulty.SetOffline(false);
  });
  Sync();
  back.join();
  EXPECT_EQ(Object("f"), "x");
}

// Exported, clean, fully cached files stay readable while S3 is unreachable,
// also after the refresh interval has passed (open revalidation fails soft).
// Writing counts as access: the expirer must not evict them right after export.
TEST_F(WritePathTest, ExportedFilesReadableWhileOffline) {
  s3::FaultInjectingObjectClient faulty(&fake_);
  clock_.Advance(std::chrono::hours(24 * 365));  // far from the epoch
  Mount(&faulty);
  for (int i = 0; i < 3; ++i) WriteFile("a" + std::to_string(i), std::string(65536, 'a' + i));
  Sync();
  fs_->ExpireDue();
  WriteFile("b", "pending");
  faulty.SetOffline(true);
  clock_.Advance(std::chrono::hours(1));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(ReadFile("a" + std::to_string(i)), std::string(65536, 'a' + i)) << i;
  EXPECT_EQ(ReadFile("b"), "pending");
  faulty.SetOffline(false);
}

// A directory whose export failed for good (access denied for its marker)
// makes its children fail too (DependencyExportFailed): sync reports them
// instead of waiting forever. Once the directory exports (after a chmod), the
// children are exported as well.
TEST_F(WritePathTest, ChildrenOfAFailedDirectoryFailAndResumeAfterAFix) {
  s3::FaultInjectingObjectClient faulty(&fake_);
  Mount(&faulty);
  faulty.FailNth(1, s3::FaultInjectingObjectClient::ServerError(403, "AccessDenied"),
                 s3::Op::kPutObject);
  ASSERT_TRUE(fs_->Mkdir(meta::kRootIno, "d", 0755, caller_).ok());
  auto st = fs_->SyncNow(meta::kRootIno);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kIo) << st.ToString();
  WriteFile("d/f", "child");
  st = fs_->SyncNow(meta::kRootIno);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("2 export(s) failed"), std::string::npos) << st.ToString();
  std::string status = fs_->FileStatusText(Ino("d/f")).value();
  EXPECT_NE(status.find("DependencyExportFailed"), std::string::npos) << status;
  EXPECT_EQ(Object("d/f"), "<missing>");
  SetAttrRequest chmod;
  chmod.mode = 0750;
  ASSERT_TRUE(fs_->SetAttr(Ino("d"), chmod).ok());
  Sync();
  EXPECT_EQ(Object("d/"), "");
  EXPECT_EQ(Object("d/f"), "child");
}

// A PUT that reached S3 but whose response was lost is retried; the retry
// finds the object it wrote itself and must not call that a conflict (no
// lost+found entry), for new files (If-None-Match) and for overwrites (HEAD
// before commit, as on RGW).
TEST_F(WritePathTest, RetryAfterALostResponseIsNotAConflict) {
  s3::FaultInjectingObjectClient faulty(&fake_);
  Mount(&faulty);
  faulty.LoseResponseNth(1, s3::Op::kPutObject);
  WriteFile("f", "first");
  Sync();
  EXPECT_EQ(Object("f"), "first");
  faulty.LoseResponseNth(1, s3::Op::kPutObject);
  WriteFile("f", "second", 0, O_WRONLY | O_TRUNC);
  Sync();
  EXPECT_EQ(Object("f"), "second");
  EXPECT_EQ(Ino(".stagefs-lost+found"), 0u);
  std::string status = fs_->FileStatusText(Ino("f")).value();
  EXPECT_NE(status.find("ExportState: clean"), std::string::npos) << status;
  EXPECT_EQ(faulty.injected(), 2u);
  // The same for a multipart upload whose CompleteMultipartUpload response
  // is lost (the first commit creates the object, the second overwrites it).
  std::string big((17 << 20) + 5, 'x');
  for (int round = 0; round < 2; ++round) {
    big[round] = 'A' + round;
    faulty.LoseResponseNth(1, s3::Op::kCompleteMultipartUpload);
    WriteFile("big", big, 0, O_WRONLY | O_CREAT | O_TRUNC);
    Sync();
    EXPECT_EQ(Object("big"), big) << round;
  }
  EXPECT_EQ(Ino(".stagefs-lost+found"), 0u);
  EXPECT_EQ(faulty.injected(), 4u);
}

TEST_F(WritePathTest, ExpirationEvictsOnlyCleanData) {
  fake_.PutRaw("b", "p/clean", "clean bytes");
  options_.sync.expire_after = std::chrono::seconds(90);
  Mount();
  EXPECT_EQ(ReadFile("clean"), "clean bytes");
  WriteFile("dirty", "dirty bytes");
  uint64_t clean = Ino("clean"), dirty = Ino("dirty");
  clock_.Advance(std::chrono::seconds(60));
  fs_->ExpireDue();
  EXPECT_GT(cache_->ResidentBytes(clean), 0u);  // not yet
  clock_.Advance(std::chrono::seconds(31));
  fs_->ExpireDue();
  EXPECT_EQ(cache_->ResidentBytes(clean), 0u);
  EXPECT_EQ(cache_->ResidentBytes(dirty), 11u);  // dirty data is never evicted
  fake_.PutRaw("b", "p/clean", "new version");
  options_.refresh_interval = std::chrono::seconds(30);
  EXPECT_EQ(ReadFile("dirty"), "dirty bytes");
  // Read after eviction: fetched again, and it is the current S3 version once
  // revalidated (the refresh interval has passed).
  EXPECT_EQ(ReadFile("clean"), "new version");
}

TEST_F(WritePathTest, CapacityWatermarkHoldsWithinOneBlock) {
  options_.cache_size = 3 << 20;
  options_.sync.import_rules[0].size_less_than = 0;
  for (int i = 0; i < 8; ++i) fake_.PutRaw("b", "p/f" + std::to_string(i), std::string(1 << 20, 'a' + i));
  Mount();
  for (int i = 0; i < 8; ++i) {
    clock_.Advance(std::chrono::seconds(1));
    EXPECT_EQ(ReadFile("f" + std::to_string(i)), std::string(1 << 20, 'a' + i));
    EXPECT_LE(cache_->used_bytes(), options_.cache_size + options_.block_size) << i;
  }
  EXPECT_GT(metrics_.CounterSum("stagefs_cache_evictions_total"), 0u);
}

TEST_F(WritePathTest, ConcurrentConfigPutsWithSameVersionOneWins) {
  Mount();
  SyncConfig base = fs_->GetSyncConfig();
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      SyncConfig c = base;
      c.import_rules[0].size_less_than = 1000 + i;
      auto r = fs_->PutSyncConfig(c);
      if (r.ok()) wins++;
      else if (r.error().code() == ErrorCode::kConflict) conflicts++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(fs_->GetSyncConfig().version, base.version + 1);
}

// Random operations on the core and on a tiny model; after a sync the bucket
// must equal the model.
TEST_F(WritePathTest, RandomOperationsMatchModel) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("STAGEFS_SEED")) seed = std::stoull(s);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  Mount();
  std::map<std::string, std::string> model;  // file name -> bytes (flat namespace)
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  for (int step = 0; step < 400; ++step) {
    const std::string& n = names[rng() % names.size()];
    const std::string& m = names[rng() % names.size()];
    switch (rng() % 6) {
      case 0:
      case 1: {
        std::string data(1 + rng() % 50, static_cast<char>('a' + rng() % 26));
        uint64_t off = model.count(n) ? rng() % (model[n].size() + 5) : 0;
        WriteFile(n, data, off);
        std::string& cur = model[n];
        if (cur.size() < off + data.size()) cur.resize(off + data.size(), '\0');
        cur.replace(off, data.size(), data);
        break;
      }
      case 2:
        if (model.count(n)) {
          ASSERT_TRUE(fs_->Unlink(meta::kRootIno, n).ok());
          model.erase(n);
        }
        break;
      case 3:
        if (model.count(n) && n != m) {
          ASSERT_TRUE(fs_->Rename(meta::kRootIno, n, meta::kRootIno, m, 0).ok());
          model[m] = model[n];
          model.erase(n);
        }
        break;
      case 4:
        if (model.count(n)) {
          SetAttrRequest t;
          t.size = rng() % 60;
          ASSERT_TRUE(fs_->SetAttr(Ino(n), t).ok());
          model[n].resize(*t.size, '\0');
        }
        break;
      case 5:
        if (rng() % 4 == 0) Sync();
        break;
    }
    for (const auto& [name, data] : model) ASSERT_EQ(ReadFile(name), data) << "step " << step;
  }
  Sync();
  std::vector<std::string> want;
  for (const auto& [name, data] : model) {
    want.push_back("p/" + name);
    EXPECT_EQ(Object(name), data) << name;
  }
  EXPECT_EQ(fake_.Keys("b"), want);
}

}  // namespace
}  // namespace stagefs::core
