// Bytes nobody wrote are never served nor exported, lost+found follows its
// rules, and names S3 cannot store never reach it (over FakeObjectClient).
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "base/text.h"
#include "core/mounted_fs.h"

namespace stagefs::core {
namespace {

constexpr char kLf[] = ".stagefs-lost+found";

class IntegrityTest : public MountedFsTest {
 protected:
  // Rewrites the stored record of `path` with `edit` while unmounted (what an
  // older version, or a crash, could have left), then mounts again.
  void EditRecord(const std::string& name, const std::function<void(meta::InodeRecord*)>& edit) {
    Unmount();
    auto store = meta::OpenSqliteMetadataStore(dir_ / "meta.db").value();
    std::vector<meta::InodeRecord> recs;
    ASSERT_TRUE(store->LoadInodes([&](meta::InodeRecord&& r) { recs.push_back(r); }).ok());
    bool found = false;
    for (auto& r : recs) {
      if (r.name != name) continue;
      edit(&r);
      ASSERT_TRUE(store->PutInode(r).ok());
      found = true;
    }
    ASSERT_TRUE(found) << name;
    ASSERT_TRUE(store->Sync().ok());
    store.reset();
    Mount();
  }
  Result<std::string> TryRead(uint64_t ino, uint64_t off, size_t len) {
    auto o = fs_->Open(ino, O_RDONLY);
    if (!o.ok()) return o.error();
    std::string out(len, '\0');
    auto n = fs_->Read(o->fh, off, len, out.data());
    fs_->Release(o->fh);
    if (!n.ok()) return n.error();
    out.resize(*n);
    return out;
  }
  // A 3 MiB object changed in its first bytes locally, never fetched further,
  // replaced in S3 and settled: returns the lost+found entry's name.
  std::string PartlyFetchedConflict() {
    options_.sync.import_rules[0].size_less_than = 0;
    fake_.PutRaw("b", "p/big", std::string(3 << 20, 'o'));
    Mount();
    WriteFile("big", "MINE", 0, O_WRONLY);
    fake_.PutRaw("b", "p/big", "theirs");
    (void)exporter_->SyncNow({}, std::chrono::milliseconds(3000));
    return LostFoundEntry();
  }
};

TEST_F(IntegrityTest, LostFoundEntriesCannotBeMovedAndTheDirectoryStays) {
  std::string lost = PartlyFetchedConflict();
  ASSERT_FALSE(lost.empty());
  uint64_t lf = Ino(kLf);
  uint64_t ino = Ino(std::string(kLf) + "/" + lost);
  ASSERT_TRUE(fs_->Mkdir(meta::kRootIno, "d", 0755, caller_).ok());
  WriteFile("other", "x");
  auto perm = [](const Status& st) { return st.code() == ErrorCode::kNotPermitted; };
  EXPECT_TRUE(perm(fs_->Rename(lf, lost, meta::kRootIno, "restored", 0)));       // out
  EXPECT_TRUE(perm(fs_->Rename(lf, lost, lf, "renamed", 0)));                    // inside
  EXPECT_TRUE(perm(fs_->Rename(meta::kRootIno, "other", lf, "in", 0)));          // into
  EXPECT_TRUE(perm(fs_->Rename(meta::kRootIno, "other", lf, lost, RENAME_EXCHANGE)));
  EXPECT_TRUE(perm(fs_->Rename(meta::kRootIno, kLf, meta::kRootIno, "lf2", 0)));  // itself
  EXPECT_TRUE(perm(fs_->Rmdir(meta::kRootIno, kLf)));
  EXPECT_TRUE(perm(fs_->Create(lf, "new", 0644, O_WRONLY | O_CREAT, caller_).error()));
  EXPECT_TRUE(perm(fs_->Mkdir(lf, "sub", 0755, caller_).error()));
  // Reading what it holds and deleting it are allowed.
  EXPECT_EQ(TryRead(ino, 0, 4).value(), "MINE");
  EXPECT_TRUE(fs_->Unlink(lf, lost).ok());
  EXPECT_EQ(LostFoundEntry(), "");
  EXPECT_NE(Ino(kLf), 0u);
}

TEST_F(IntegrityTest, StatusOfALostCopyWhoseObjectWasDeletedHasNoS3Key) {
  fake_.PutRaw("b", "p/f", "v1");
  options_.refresh_interval = std::chrono::seconds(5);
  Mount();
  WriteFile("f", "local edit", 0, O_WRONLY | O_TRUNC);
  fake_.DeleteRaw("b", "p/f");
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_EQ(Ino("f"), 0u);
  uint64_t ino = Ino(std::string(kLf) + "/" + LostFoundEntry());
  std::string st = fs_->FileStatusText(ino).value();
  EXPECT_NE(st.find("S3Key: \n"), std::string::npos) << st;
  EXPECT_NE(st.find("FilePath: /f\n"), std::string::npos) << st;
  EXPECT_NE(st.find("deleted"), std::string::npos) << st;
}

// A file whose size says more than the cache holds and S3 has (what a crash
// can leave): the missing bytes read EIO, the file is not exported, and its
// status says blocked with MissingBytes. Writing the bytes unblocks it.
TEST_F(IntegrityTest, BytesInNeitherCacheNorS3AreNeverServedNorExported) {
  Mount();
  WriteFile("f", "hello");
  Sync();
  EditRecord("f", [](meta::InodeRecord* r) {
    r->size = 12;  // bytes 5..12 are neither resident nor in the object
    r->data_dirty = true;
    r->export_state = meta::ExportState::kPending;
  });
  uint64_t ino = Ino("f");
  EXPECT_EQ(TryRead(ino, 0, 5).value(), "hello");
  auto tail = TryRead(ino, 0, 12);
  ASSERT_FALSE(tail.ok()) << "served " << tail.value().size() << " bytes";
  EXPECT_EQ(tail.error().code(), ErrorCode::kDataLoss);
  auto opened = fs_->Open(ino, O_RDONLY);
  EXPECT_TRUE(opened->direct_io);  // no cached page may hold invented bytes
  fs_->Release(opened->fh);
  fake_.ResetCounts();
  Status synced = exporter_->SyncNow({}, std::chrono::milliseconds(2000));
  EXPECT_NE(synced.message().find("MissingBytes"), std::string::npos) << synced.ToString();
  EXPECT_EQ(fake_.count(s3::Op::kPutObject), 0u);
  EXPECT_EQ(Object("f"), "hello");
  std::string st = fs_->FileStatusText(ino).value();
  EXPECT_NE(st.find("ExportState: blocked"), std::string::npos) << st;
  EXPECT_NE(st.find("MissingBytes: 7"), std::string::npos) << st;
  WriteFile("f", ", world", 5, O_WRONLY);
  Sync();
  EXPECT_EQ(Object("f"), "hello, world");
  EXPECT_EQ(fs_->FileStatusText(ino).value().find("MissingBytes"), std::string::npos);
}

// Names made before stagefs refused non-UTF-8 names stay local: reported as
// not exportable, readable, removable; status (xattr and JSON) never breaks.
TEST_F(IntegrityTest, NonUtf8NameFromAnOlderVersionStaysLocal) {
  Mount();
  WriteFile("x", "latin-1 archive");
  EditRecord("x", [](meta::InodeRecord* r) { r->name = "caf\xe9.txt"; });
  uint64_t ino = Ino("caf\xe9.txt");
  ASSERT_NE(ino, 0u);
  Status synced = exporter_->SyncNow({}, std::chrono::milliseconds(2000));
  EXPECT_NE(synced.message().find("InvalidObjectName"), std::string::npos) << synced.ToString();
  EXPECT_TRUE(fake_.Keys("b").empty());
  std::string st = fs_->FileStatusText(ino).value();
  EXPECT_NE(st.find("FilePath: /caf\\xe9.txt\n"), std::string::npos) << st;
  EXPECT_NE(st.find("ExportState: failed"), std::string::npos) << st;
  auto j = nlohmann::json::parse(fs_->MountStatusJson());
  ASSERT_EQ(j["export_failures"].size(), 1u);
  EXPECT_EQ(j["export_failures"][0]["path"], "/caf\\xe9.txt");
  EXPECT_EQ(TryRead(ino, 0, 100).value(), "latin-1 archive");
  EXPECT_TRUE(fs_->Unlink(meta::kRootIno, "caf\xe9.txt").ok());
  EXPECT_TRUE(exporter_->SyncNow({}, std::chrono::milliseconds(2000)).ok());
}

TEST_F(IntegrityTest, NamesAreCheckedWhereTheyAreMade) {
  Mount();
  const std::string bad = "bad-\xff\xfe";
  auto code = [](const auto& r) { return r.ok() ? ErrorCode::kOk : r.error().code(); };
  EXPECT_EQ(code(fs_->Create(meta::kRootIno, bad, 0644, O_CREAT | O_WRONLY, caller_)),
            ErrorCode::kIllegalByteSequence);
  EXPECT_EQ(code(fs_->Mkdir(meta::kRootIno, bad, 0755, caller_)), ErrorCode::kIllegalByteSequence);
  EXPECT_EQ(code(fs_->Symlink(meta::kRootIno, bad, "t", caller_)),
            ErrorCode::kIllegalByteSequence);
  EXPECT_EQ(code(fs_->Mknod(meta::kRootIno, bad, S_IFIFO | 0644, 0, caller_)),
            ErrorCode::kIllegalByteSequence);
  WriteFile("ok", "1");
  EXPECT_EQ(fs_->Rename(meta::kRootIno, "ok", meta::kRootIno, bad, 0).code(),
            ErrorCode::kIllegalByteSequence);
  // prefix "p/" (2 bytes) + name: 1,022 bytes of name would be a 1,024-byte
  // key, but names stop at 255; nest to reach the key limit.
  uint64_t dir = meta::kRootIno;
  size_t key = 2;
  for (int i = 0; i < 4; ++i) {
    std::string n(200, 'a' + i);
    auto d = fs_->Mkdir(dir, n, 0755, caller_);
    ASSERT_TRUE(d.ok());
    dir = d->ino;
    key += n.size() + 1;
  }
  std::string fits(1024 - key, 'f'), over(1025 - key, 'f');
  EXPECT_TRUE(fs_->Create(dir, fits, 0644, O_CREAT | O_WRONLY, caller_).ok());
  EXPECT_EQ(code(fs_->Create(dir, over, 0644, O_CREAT | O_WRONLY, caller_)),
            ErrorCode::kNameTooLong);
  EXPECT_EQ(code(fs_->Mkdir(dir, std::string(fits.size(), 'g'), 0755, caller_)),
            ErrorCode::kNameTooLong);  // "ggg.../" is 1,025 bytes
}

TEST_F(IntegrityTest, CacheServesOnlyResidentBytes) {
  Mount();
  WriteFile("f", "abc");
  uint64_t ino = Ino("f");
  char buf[8];
#ifdef NDEBUG
  auto r = cache_->Read(ino, 0, 8, buf);  // 3 resident, 5 not
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(metrics_.CounterSum("stagefs_integrity_errors_total"), 1u);
#else
  EXPECT_DEATH((void)cache_->Read(ino, 0, 8, buf), "integrity");
#endif
  EXPECT_EQ(cache_->Read(ino, 0, 3, buf).value(), 3u);
}

}  // namespace
}  // namespace stagefs::core

namespace stagefs::core {
namespace {

// Every encoder that shows a name survives every byte value (but '/' and NUL,
// which no name holds): the status xattr, the mount status JSON and the audit
// log line of a conflict are valid UTF-8 and give the name back unescaped.
TEST_F(IntegrityTest, EncodersOfNamesSurviveEveryByteValue) {
  std::string name;
  for (int b = 1; b < 256; ++b)
    if (b != '/') name.push_back(static_cast<char>(b));
  name.resize(255);
  fake_.PutRaw("b", "p/x", "v1");
  options_.audit_log_path = (dir_ / "audit.log").string();
  Mount();
  WriteFile("x", "mine", 0, O_WRONLY | O_TRUNC);
  EditRecord("x", [&](meta::InodeRecord* r) { r->name = name; });
  uint64_t ino = Ino(name);
  std::string st = fs_->FileStatusText(ino).value();
  EXPECT_TRUE(IsValidUtf8(st));
  EXPECT_NE(st.find("FilePath: " + EscapeBytes("/" + name) + "\n"), std::string::npos);
  auto j = nlohmann::json::parse(fs_->MountStatusJson());  // throws if invalid
  (void)exporter_->SyncNow({}, std::chrono::milliseconds(2000));
  j = nlohmann::json::parse(fs_->MountStatusJson());
  ASSERT_EQ(j["export_failures"].size(), 1u);
  EXPECT_EQ(UnescapeBytes(j["export_failures"][0]["path"].get<std::string>()), "/" + name);
  // A conflict on it writes an audit line: its object (as if exported under
  // that key) is changed in S3 and the listing sees it.
  options_.refresh_interval = std::chrono::seconds(1);
  EditRecord(name, [&](meta::InodeRecord* r) {
    r->key = name;
    r->etag = "\"0123\"";
  });
  fake_.PutRaw("b", "p/" + name, "theirs");
  ASSERT_TRUE(fs_->RefreshDirectory(meta::kRootIno).ok());
  std::ifstream audit(options_.audit_log_path);
  std::string line;
  int lines = 0;
  while (std::getline(audit, line)) {
    auto a = nlohmann::json::parse(line);
    EXPECT_TRUE(IsValidUtf8(line));
    EXPECT_EQ(UnescapeBytes(a["path"].get<std::string>()), "/" + name);
    EXPECT_EQ(UnescapeBytes(a["key"].get<std::string>()), "p/" + name);
    ++lines;
  }
  EXPECT_EQ(lines, 1);
}

}  // namespace
}  // namespace stagefs::core
