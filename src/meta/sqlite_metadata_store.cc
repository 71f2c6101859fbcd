// SQLite implementation of MetadataStore (WAL mode, one connection, batched
// transactions).
#include <sqlite3.h>

#include <cerrno>

#include <map>
#include <mutex>
#include <string>

#include "meta/metadata_store.h"

namespace stagefs::meta {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS inodes(
  ino INTEGER PRIMARY KEY, gen INTEGER NOT NULL, parent INTEGER NOT NULL, name BLOB NOT NULL,
  kind INTEGER NOT NULL, mode INTEGER, uid INTEGER, gid INTEGER, size INTEGER,
  atime INTEGER, mtime INTEGER, ctime INTEGER, symlink BLOB,
  key BLOB, etag TEXT, version_id TEXT, remote_size INTEGER, remote_mtime INTEGER,
  storage_class TEXT, has_marker INTEGER, dir_listed INTEGER, dir_listed_at INTEGER,
  data_dirty INTEGER, meta_dirty INTEGER, export_state INTEGER, export_error TEXT,
  dirty_since INTEGER, fully_resident INTEGER, last_access INTEGER, last_validated INTEGER,
  origin_path BLOB, origin_key BLOB, rdev INTEGER);
CREATE TABLE IF NOT EXISTS extents(ino INTEGER NOT NULL, start INTEGER NOT NULL,
  end INTEGER NOT NULL, PRIMARY KEY(ino, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS import_failures(key BLOB PRIMARY KEY, reason TEXT);
CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, value TEXT);
)sql";

constexpr int kAutoCommitEvery = 2048;

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  sqlite3_stmt* get() { return s_; }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t Int(int col) { return sqlite3_column_int64(s_, col); }
  std::string Str(int col) {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// A use of a statement the store keeps prepared: reset (bindings cleared, any
// read finished) when the use ends.
class StmtUse {
 public:
  explicit StmtUse(Stmt* s) : s_(s) {}
  ~StmtUse() { s_->Reset(); }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  Stmt* operator->() { return s_; }

 private:
  Stmt* s_;
};

class SqliteMetadataStore final : public MetadataStore {
 public:
  explicit SqliteMetadataStore(sqlite3* db) : db_(db) {}
  ~SqliteMetadataStore() override {
    {
      std::lock_guard lock(mu_);
      (void)CommitLocked();
      put_.reset();
      del_.reset();
      prepared_.clear();
    }
    sqlite3_close(db_);
  }

  Status Init() {
    RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(Exec(kSchema));
    put_ = std::make_unique<Stmt>(
        db_,
        "INSERT OR REPLACE INTO inodes VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
        "?,?,?,?,?,?,?)");
    del_ = std::make_unique<Stmt>(db_, "DELETE FROM inodes WHERE ino=?");
    return OkStatus();
  }

  Status LoadInodes(const std::function<void(InodeRecord&&)>& fn) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT * FROM inodes");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      InodeRecord r;
      int c = 0;
      r.ino = s.Int(c++);
      r.gen = s.Int(c++);
      r.parent = s.Int(c++);
      r.name = s.Str(c++);
      r.kind = static_cast<Kind>(s.Int(c++));
      r.mode = s.Int(c++);
      r.uid = s.Int(c++);
      r.gid = s.Int(c++);
      r.size = s.Int(c++);
      r.atime_ns = s.Int(c++);
      r.mtime_ns = s.Int(c++);
      r.ctime_ns = s.Int(c++);
      r.symlink_target = s.Str(c++);
      r.key = s.Str(c++);
      r.etag = s.Str(c++);
      r.version_id = s.Str(c++);
      r.remote_size = s.Int(c++);
      r.remote_mtime_ns = s.Int(c++);
      r.storage_class = s.Str(c++);
      r.has_marker = s.Int(c++);
      r.dir_listed = s.Int(c++);
      r.dir_listed_at_ns = s.Int(c++);
      r.data_dirty = s.Int(c++);
      r.meta_dirty = s.Int(c++);
      r.export_state = static_cast<ExportState>(s.Int(c++));
      r.export_error = s.Str(c++);
      r.dirty_since_ns = s.Int(c++);
      r.fully_resident = s.Int(c++);
      r.last_access_ns = s.Int(c++);
      r.last_validated_ns = s.Int(c++);
      r.origin_path = s.Str(c++);
      r.origin_key = s.Str(c++);
      r.rdev = s.Int(c++);
      fn(std::move(r));
    }
    return rc == SQLITE_DONE ? OkStatus() : Error("loading inodes");
  }

  Status PutInode(const InodeRecord& r) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(BeginLocked());
    Stmt& s = *put_;
    const int64_t ints[] = {
        static_cast<int64_t>(r.ino), static_cast<int64_t>(r.gen), static_cast<int64_t>(r.parent)};
    s.Bind(1, ints[0]);
    s.Bind(2, ints[1]);
    s.Bind(3, ints[2]);
    s.Bind(4, r.name);
    s.Bind(5, static_cast<int64_t>(r.kind));
    s.Bind(6, r.mode);
    s.Bind(7, r.uid);
    s.Bind(8, r.gid);
    s.Bind(9, r.size);
    s.Bind(10, r.atime_ns);
    s.Bind(11, r.mtime_ns);
    s.Bind(12, r.ctime_ns);
    s.Bind(13, r.symlink_target);
    s.Bind(14, r.key);
    s.Bind(15, r.etag);
    s.Bind(16, r.version_id);
    s.Bind(17, r.remote_size);
    s.Bind(18, r.remote_mtime_ns);
    s.Bind(19, r.storage_class);
    s.Bind(20, r.has_marker);
    s.Bind(21, r.dir_listed);
    s.Bind(22, r.dir_listed_at_ns);
    s.Bind(23, r.data_dirty);
    s.Bind(24, r.meta_dirty);
    s.Bind(25, static_cast<int64_t>(r.export_state));
    s.Bind(26, r.export_error);
    s.Bind(27, r.dirty_since_ns);
    s.Bind(28, r.fully_resident);
    s.Bind(29, r.last_access_ns);
    s.Bind(30, r.last_validated_ns);
    s.Bind(31, r.origin_path);
    s.Bind(32, r.origin_key);
    s.Bind(33, r.rdev);
    int rc = s.Step();
    s.Reset();
    if (rc != SQLITE_DONE) return Error("writing inode " + std::to_string(r.ino));
    return MaybeAutoCommitLocked();
  }

  Status DeleteInode(uint64_t ino) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(BeginLocked());
    del_->Bind(1, ino);
    int rc = del_->Step();
    del_->Reset();
    if (rc != SQLITE_DONE) return Error("deleting inode");
    StmtUse e = PreparedLocked("DELETE FROM extents WHERE ino=?");
    e->Bind(1, ino);
    if (e->Step() != SQLITE_DONE) return Error("deleting extents");
    return MaybeAutoCommitLocked();
  }

  Result<uint64_t> NextInodeNumber() override {
    std::lock_guard lock(mu_);
    if (next_ino_ == 0 || next_ino_ >= reserved_until_) {
      // Reserve numbers in blocks so allocation rarely touches the database,
      // and never hands out a number twice, even after a crash.
      if (next_ino_ == 0) {
        Stmt s(db_, "SELECT value FROM settings WHERE name='next_ino'");
        next_ino_ = s.Step() == SQLITE_ROW ? std::stoull(s.Str(0)) : 2;
      }
      reserved_until_ = next_ino_ + 4096;
      RETURN_IF_ERROR(CommitLocked());
      Stmt u(db_, "INSERT OR REPLACE INTO settings VALUES('next_ino', ?)");
      sqlite3_bind_text(u.get(), 1, std::to_string(reserved_until_).c_str(), -1,
                        SQLITE_TRANSIENT);
      if (u.Step() != SQLITE_DONE) return Error("reserving inode numbers");
    }
    return next_ino_++;
  }

  Status PutExtents(uint64_t ino, const std::vector<Extent>& extents) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(BeginLocked());
    StmtUse d = PreparedLocked("DELETE FROM extents WHERE ino=?");
    d->Bind(1, ino);
    if (d->Step() != SQLITE_DONE) return Error("clearing extents");
    StmtUse ins = PreparedLocked("INSERT INTO extents VALUES(?,?,?)");
    for (const auto& [a, b] : extents) {
      ins->Bind(1, static_cast<int64_t>(ino));
      ins->Bind(2, static_cast<int64_t>(a));
      ins->Bind(3, static_cast<int64_t>(b));
      if (ins->Step() != SQLITE_DONE) return Error("writing extents");
      ins->Reset();
    }
    return MaybeAutoCommitLocked();
  }

  Result<std::vector<Extent>> GetExtents(uint64_t ino) override {
    std::lock_guard lock(mu_);
    StmtUse s = PreparedLocked("SELECT start, end FROM extents WHERE ino=? ORDER BY start");
    s->Bind(1, ino);
    std::vector<Extent> out;
    while (s->Step() == SQLITE_ROW) out.emplace_back(s->Int(0), s->Int(1));
    return out;
  }

  Status AddImportFailure(const ImportFailure& f) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(BeginLocked());
    StmtUse s = PreparedLocked("INSERT OR REPLACE INTO import_failures VALUES(?,?)");
    s->Bind(1, f.key);
    s->Bind(2, f.reason);
    if (s->Step() != SQLITE_DONE) return Error("recording import failure");
    return MaybeAutoCommitLocked();
  }

  Status RemoveImportFailure(const std::string& key) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(BeginLocked());
    StmtUse s = PreparedLocked("DELETE FROM import_failures WHERE key=?");
    s->Bind(1, key);
    if (s->Step() != SQLITE_DONE) return Error("removing import failure");
    return MaybeAutoCommitLocked();
  }

  Result<std::vector<ImportFailure>> ListImportFailures() override {
    std::lock_guard lock(mu_);
    StmtUse s = PreparedLocked("SELECT key, reason FROM import_failures ORDER BY key");
    std::vector<ImportFailure> out;
    while (s->Step() == SQLITE_ROW) out.push_back({s->Str(0), s->Str(1)});
    return out;
  }

  Result<std::string> GetSetting(const std::string& name) override {
    std::lock_guard lock(mu_);
    StmtUse s = PreparedLocked("SELECT value FROM settings WHERE name=?");
    sqlite3_bind_text(s->get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
    return s->Step() == SQLITE_ROW ? s->Str(0) : std::string();
  }

  Status PutSetting(const std::string& name, const std::string& value) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(BeginLocked());
    StmtUse s = PreparedLocked("INSERT OR REPLACE INTO settings VALUES(?,?)");
    sqlite3_bind_text(s->get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s->get(), 2, value.c_str(), -1, SQLITE_TRANSIENT);
    if (s->Step() != SQLITE_DONE) return Error("writing setting " + name);
    return MaybeAutoCommitLocked();
  }

  Status Flush() override {
    std::lock_guard lock(mu_);
    return CommitLocked();
  }

  Status Sync() override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(CommitLocked());
    // A FULL checkpoint fsyncs the WAL and the database file.
    RETURN_IF_ERROR(Exec("PRAGMA wal_checkpoint(FULL)"));
    return OkStatus();
  }

 private:
  // The statement for `sql`, prepared on first use and kept.
  StmtUse PreparedLocked(const char* sql) {
    auto& slot = prepared_[sql];
    if (!slot) slot = std::make_unique<Stmt>(db_, sql);
    return StmtUse(slot.get());
  }
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      return Status(ErrorCodeLocked(), std::string("metadata store: ") + msg);
    }
    return OkStatus();
  }
  // A full disk is ENOSPC whichever way SQLite reports it (SQLITE_FULL, or an
  // I/O error whose system errno is ENOSPC or EDQUOT).
  ErrorCode ErrorCodeLocked() {
    int code = sqlite3_errcode(db_) & 0xff;
    int sys = sqlite3_system_errno(db_);
    if (code == SQLITE_FULL || (code == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT)))
      return ErrorCode::kNoSpace;
    return ErrorCode::kIo;
  }
  Status Error(const std::string& what) {
    return Status(ErrorCodeLocked(), "metadata store: " + what + ": " + sqlite3_errmsg(db_));
  }
  Status BeginLocked() {
    if (in_tx_) return OkStatus();
    RETURN_IF_ERROR(Exec("BEGIN"));
    in_tx_ = true;
    pending_ = 0;
    return OkStatus();
  }
  Status CommitLocked() {
    if (!in_tx_) return OkStatus();
    in_tx_ = false;
    return Exec("COMMIT");
  }
  Status MaybeAutoCommitLocked() {
    if (++pending_ >= kAutoCommitEvery) return CommitLocked();
    return OkStatus();
  }

  std::mutex mu_;
  sqlite3* db_;
  std::unique_ptr<Stmt> put_, del_;  // GUARDED_BY(mu_)
  std::map<std::string, std::unique_ptr<Stmt>> prepared_;  // GUARDED_BY(mu_)
  bool in_tx_ = false;               // GUARDED_BY(mu_)
  int pending_ = 0;                  // GUARDED_BY(mu_)
  uint64_t next_ino_ = 0;            // GUARDED_BY(mu_)
  uint64_t reserved_until_ = 0;      // GUARDED_BY(mu_)
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadataStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status(ErrorCode::kIo, "cannot open metadata store " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  auto store = std::make_unique<SqliteMetadataStore>(db);
  RETURN_IF_ERROR(store->Init().Annotate("initialising metadata store " + path));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace stagefs::meta
