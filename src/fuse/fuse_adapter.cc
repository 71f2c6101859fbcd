#define FUSE_USE_VERSION 312  // 3.12: fuse_session_loop_mt takes the opaque loop config
#include "fuse/fuse_adapter.h"

#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <csignal>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <new>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/errno_map.h"

namespace stagefs::fuse {
namespace {

constexpr size_t kMaxIo = 1 << 20;

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  if (ts.tv_nsec < 0) {
    ts.tv_sec -= 1;
    ts.tv_nsec += 1'000'000'000;
  }
  return ts;
}

struct stat ToStat(const core::Attr& a) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_atim = ToTimespec(a.atime_ns);
  st.st_mtim = ToTimespec(a.mtime_ns);
  st.st_ctim = ToTimespec(a.ctime_ns);
  st.st_rdev = static_cast<dev_t>(a.rdev);
  return st;
}

}  // namespace

// Runs kernel cache invalidations off the request threads.
class AsyncNotifier final : public core::KernelNotifier {
 public:
  AsyncNotifier() : thread_([this] { Loop(); }) {}
  ~AsyncNotifier() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void SetSession(struct fuse_session* se) {
    std::lock_guard lock(mu_);
    se_ = se;
  }
  void InvalidateInode(uint64_t ino) override { Push({ino, "", true}); }
  void InvalidateEntry(uint64_t parent, const std::string& name) override {
    Push({parent, name, false});
  }

 private:
  struct Item {
    uint64_t ino;
    std::string name;
    bool inode;
  };
  void Push(Item item) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(item));
    }
    cv_.notify_one();
  }
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Item item = std::move(queue_.front());
      queue_.pop_front();
      struct fuse_session* se = se_;
      lock.unlock();
      if (se) {
        if (item.inode) fuse_lowlevel_notify_inval_inode(se, item.ino, 0, 0);
        else fuse_lowlevel_notify_inval_entry(se, item.ino, item.name.data(), item.name.size());
      }
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  struct fuse_session* se_ = nullptr;
  std::thread thread_;
};

struct FuseAdapter::Impl {
  core::FileSystem* fs;
  core::SessionOptions options;
  struct fuse_session* se = nullptr;
  bool mounted = false;
  AsyncNotifier notifier;

  static Impl* From(fuse_req_t req) { return static_cast<Impl*>(fuse_req_userdata(req)); }

  void ReplyEntry(fuse_req_t req, const core::Entry& e) {
    struct fuse_entry_param p;
    std::memset(&p, 0, sizeof(p));
    p.ino = e.ino;
    p.generation = e.gen;
    p.attr = ToStat(e.attr);
    p.attr_timeout = options.attr_timeout;
    p.entry_timeout = options.attr_timeout;
    fuse_reply_entry(req, &p);
  }
  void ReplyError(fuse_req_t req, const Status& st) { fuse_reply_err(req, core::ToErrno(st)); }
};

namespace {

using Impl = FuseAdapter::Impl;

void OpInit(void* userdata, struct fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_EXPORT_SUPPORT) conn->want |= FUSE_CAP_EXPORT_SUPPORT;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_WRITEBACK_CACHE) conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // The kernel then caches each inode's (absent) POSIX ACLs: `ls -l` asks for
  // system.posix_acl_access once per inode, not once per listing. Setting an
  // ACL is refused (EOPNOTSUPP), so permissions stay the mode bits.
  if (conn->capable & FUSE_CAP_POSIX_ACL) conn->want |= FUSE_CAP_POSIX_ACL;
  conn->max_write = kMaxIo;
  conn->max_read = kMaxIo;
  conn->max_readahead = kMaxIo;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* self = Impl::From(req);
  auto e = self->fs->Lookup(parent, name);
  if (e.ok()) return self->ReplyEntry(req, *e);
  if (e.error().code() == ErrorCode::kNotFound) {
    // Negative entry, cached by the kernel for the attribute timeout.
    struct fuse_entry_param p;
    std::memset(&p, 0, sizeof(p));
    p.entry_timeout = self->options.attr_timeout;
    fuse_reply_entry(req, &p);
    return;
  }
  self->ReplyError(req, e.error());
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Impl::From(req)->fs->Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
  Impl* self = Impl::From(req);
  for (size_t i = 0; i < count; ++i) self->fs->Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info*) {
  Impl* self = Impl::From(req);
  auto a = self->fs->GetAttr(ino);
  if (!a.ok()) return self->ReplyError(req, a.error());
  struct stat st = ToStat(*a);
  fuse_reply_attr(req, &st, self->options.attr_timeout);
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  Impl* self = Impl::From(req);
  auto t = self->fs->ReadLink(ino);
  if (!t.ok()) return self->ReplyError(req, t.error());
  fuse_reply_readlink(req, t->c_str());
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Impl* self = Impl::From(req);
  auto fh = self->fs->OpenDir(ino);
  if (!fh.ok()) return self->ReplyError(req, fh.error());
  fi->fh = *fh;
  // The kernel keeps the listing in the directory's page cache: a second `ls`
  // costs no READDIR. Its own create/unlink/rename drop that cache; changes
  // from S3 drop it through FileSystem::NotifyKernel (inode invalidation).
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info* fi, bool plus) {
  Impl* self = Impl::From(req);
  std::vector<char> buf(size);
  size_t used = 0;
  Status st = self->fs->ReadDir(ino, fi->fh, off, plus, [&](const core::DirEntry& e) {
    size_t n;
    if (plus) {
      struct fuse_entry_param p;
      std::memset(&p, 0, sizeof(p));
      p.ino = e.entry.ino;
      p.generation = e.entry.gen;
      p.attr = ToStat(e.entry.attr);
      p.attr_timeout = p.entry_timeout = self->options.attr_timeout;
      if (e.name == "." || e.name == "..") {
        // Not counted as lookups by the kernel: send attributes only.
        p.ino = 0;
        p.attr.st_ino = e.entry.ino;
      }
      n = fuse_add_direntry_plus(req, buf.data() + used, size - used, e.name.c_str(), &p,
                                 e.next_offset);
    } else {
      struct stat st;
      std::memset(&st, 0, sizeof(st));
      st.st_ino = e.entry.ino;
      st.st_mode = e.entry.attr.mode;
      n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st,
                            e.next_offset);
    }
    if (n > size - used) return false;
    used += n;
    return true;
  });
  if (!st.ok()) return self->ReplyError(req, st);
  fuse_reply_buf(req, buf.data(), used);
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, false);
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, true);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  Impl::From(req)->fs->ReleaseDir(fi->fh);
  fuse_reply_err(req, 0);
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Impl* self = Impl::From(req);
  auto r = self->fs->Open(ino, fi->flags);
  if (!r.ok()) return self->ReplyError(req, r.error());
  fi->fh = r->fh;
  fi->keep_cache = r->keep_cache;
  fi->direct_io = r->direct_io;
  fuse_reply_open(req, fi);
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, struct fuse_file_info* fi) {
  Impl* self = Impl::From(req);
  std::unique_ptr<char[]> buf(new char[size]);
  auto n = self->fs->Read(fi->fh, off, size, buf.get());
  if (!n.ok()) return self->ReplyError(req, n.error());
  fuse_reply_buf(req, buf.get(), *n);
}

void OpRelease(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  Impl::From(req)->fs->Release(fi->fh);
  fuse_reply_err(req, 0);
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st;
  std::memset(&st, 0, sizeof(st));
  // S3 has no capacity limit; report a large, stable figure.
  st.f_bsize = 4096;
  st.f_frsize = 4096;
  st.f_blocks = 1ULL << 40;
  st.f_bfree = 1ULL << 40;
  st.f_bavail = 1ULL << 40;
  st.f_files = 1ULL << 32;
  st.f_ffree = 1ULL << 32;
  st.f_favail = 1ULL << 32;
  st.f_namemax = 255;
  fuse_reply_statfs(req, &st);
}

void ReplyXattrValue(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) fuse_reply_xattr(req, value.size());
  else if (size < value.size()) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, value.data(), value.size());
}

constexpr char kStatusXattr[] = "user.stagefs.status";
constexpr char kMountStatusXattr[] = "user.stagefs.mount-status";
constexpr char kConfigXattr[] = "user.stagefs.config";

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Impl* self = Impl::From(req);
  if (std::strcmp(name, kStatusXattr) == 0) {
    auto text = self->fs->FileStatusText(ino);
    if (!text.ok()) return self->ReplyError(req, text.error());
    return ReplyXattrValue(req, *text, size);
  }
  if (ino == FUSE_ROOT_ID && std::strcmp(name, kMountStatusXattr) == 0)
    return ReplyXattrValue(req, self->fs->MountStatusJson(), size);
  if (ino == FUSE_ROOT_ID && std::strcmp(name, kConfigXattr) == 0)
    return ReplyXattrValue(req, core::SyncConfigToJson(self->fs->GetSyncConfig()), size);
  fuse_reply_err(req, ENODATA);
}

void OpListxattr(fuse_req_t req, fuse_ino_t, size_t size) {
  ReplyXattrValue(req, std::string(kStatusXattr, sizeof(kStatusXattr)), size);
}

core::Caller CallerOf(fuse_req_t req) {
  const struct fuse_ctx* ctx = fuse_req_ctx(req);
  return core::Caller{ctx->uid, ctx->gid};
}

void ReplyEntryOr(fuse_req_t req, const Result<core::Entry>& e) {
  Impl* self = Impl::From(req);
  if (!e.ok()) return self->ReplyError(req, e.error());
  self->ReplyEntry(req, *e);
}

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               struct fuse_file_info*) {
  Impl* self = Impl::From(req);
  core::SetAttrRequest r;
  if (to_set & FUSE_SET_ATTR_MODE) r.mode = attr->st_mode;
  if (to_set & FUSE_SET_ATTR_UID) r.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) r.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) r.size = static_cast<uint64_t>(attr->st_size);
  auto ns = [](const struct timespec& ts) {
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  };
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) r.atime_ns = core::SetAttrRequest::kNow;
  else if (to_set & FUSE_SET_ATTR_ATIME) r.atime_ns = ns(attr->st_atim);
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) r.mtime_ns = core::SetAttrRequest::kNow;
  else if (to_set & FUSE_SET_ATTR_MTIME) r.mtime_ns = ns(attr->st_mtim);
  auto a = self->fs->SetAttr(ino, r);
  if (!a.ok()) return self->ReplyError(req, a.error());
  struct stat st = ToStat(*a);
  fuse_reply_attr(req, &st, self->options.attr_timeout);
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  ReplyEntryOr(req, Impl::From(req)->fs->Mknod(parent, name, mode, rdev, CallerOf(req)));
}
void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  ReplyEntryOr(req, Impl::From(req)->fs->Mkdir(parent, name, mode, CallerOf(req)));
}
void OpSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  ReplyEntryOr(req, Impl::From(req)->fs->Symlink(parent, name, target, CallerOf(req)));
}
void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* self = Impl::From(req);
  fuse_reply_err(req, core::ToErrno(self->fs->Unlink(parent, name)));
}
void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* self = Impl::From(req);
  fuse_reply_err(req, core::ToErrno(self->fs->Rmdir(parent, name)));
}
void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned flags) {
  Impl* self = Impl::From(req);
  fuse_reply_err(req, core::ToErrno(self->fs->Rename(parent, name, newparent, newname, flags)));
}
// Hard links cannot be represented in S3 (as in AWS S3 Files).
void OpLink(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              struct fuse_file_info* fi) {
  Impl* self = Impl::From(req);
  auto r = self->fs->Create(parent, name, mode, fi->flags, CallerOf(req));
  if (!r.ok()) return self->ReplyError(req, r.error());
  fi->fh = r->second.fh;
  fi->keep_cache = r->second.keep_cache;
  fi->direct_io = r->second.direct_io;
  struct fuse_entry_param p;
  std::memset(&p, 0, sizeof(p));
  p.ino = r->first.ino;
  p.generation = r->first.gen;
  p.attr = ToStat(r->first.attr);
  p.attr_timeout = p.entry_timeout = self->options.attr_timeout;
  fuse_reply_create(req, &p, fi);
}

void OpWrite(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off,
             struct fuse_file_info* fi) {
  Impl* self = Impl::From(req);
  auto n = self->fs->Write(fi->fh, off, buf, size);
  if (!n.ok()) return self->ReplyError(req, n.error());
  fuse_reply_write(req, *n);
}

// No flush handler: close has nothing to report (writes are staged at once,
// locks are the kernel's), and without one libfuse answers ENOSYS to the first
// FLUSH, after which the kernel sends none: one round trip less per close.

void OpFsync(fuse_req_t req, fuse_ino_t ino, int, struct fuse_file_info*) {
  Impl* self = Impl::From(req);
  fuse_reply_err(req, core::ToErrno(self->fs->Fsync(ino)));
}

void OpFallocate(fuse_req_t req, fuse_ino_t, int mode, off_t off, off_t len,
                 struct fuse_file_info* fi) {
  Impl* self = Impl::From(req);
  fuse_reply_err(req, core::ToErrno(self->fs->Fallocate(fi->fh, mode, off, len)));
}

constexpr char kSyncXattr[] = "user.stagefs.sync";

void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
                size_t size, int) {
  Impl* self = Impl::From(req);
  // Writing user.stagefs.config on the root replaces the sync configuration:
  // EINVAL when invalid, ESTALE when its version is not the current one.
  if (ino == FUSE_ROOT_ID && std::strcmp(name, kConfigXattr) == 0) {
    auto parsed = core::SyncConfigFromJson(std::string(value, size));
    if (!parsed.ok()) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    auto put = self->fs->PutSyncConfig(*parsed);
    fuse_reply_err(req, put.ok() ? 0 : put.error().code() == ErrorCode::kConflict ? ESTALE : EIO);
    return;
  }
  // Writing user.stagefs.sync exports the file or tree now and returns when done.
  if (std::strcmp(name, kSyncXattr) == 0) {
    fuse_reply_err(req, core::ToErrno(self->fs->SyncNow(ino)));
    return;
  }
  fuse_reply_err(req, ENOTSUP);
}

void OpRemovexattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, ENOTSUP); }

// No exception may cross into libfuse's C code. Every handler runs inside
// Guarded<Op>: a request whose handler throws (before replying, as every
// handler replies last) gets ENOMEM for bad_alloc and EIO otherwise, plus a
// log line; forgets, which take no reply, are just released.
void Failed(fuse_req_t req, bool replies, int err, const char* what) {
  spdlog::error("FUSE request failed with an exception (answered {}): {}",
                err == ENOMEM ? "ENOMEM" : "EIO", what);
  if (replies) fuse_reply_err(req, err);
  else fuse_reply_none(req);
}

template <auto Op, bool kReplies = true>
struct Guarded;
template <typename... Args, void (*Op)(fuse_req_t, Args...), bool kReplies>
struct Guarded<Op, kReplies> {
  static void Call(fuse_req_t req, Args... args) noexcept {
    try {
      Op(req, args...);
    } catch (const std::bad_alloc&) {
      Failed(req, kReplies, ENOMEM, "out of memory");
    } catch (const std::exception& e) {
      Failed(req, kReplies, EIO, e.what());
    } catch (...) {
      Failed(req, kReplies, EIO, "unknown exception");
    }
  }
};

const struct fuse_lowlevel_ops kOps = [] {
  struct fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OpInit;
  ops.lookup = Guarded<OpLookup>::Call;
  ops.forget = Guarded<OpForget, false>::Call;
  ops.forget_multi = Guarded<OpForgetMulti, false>::Call;
  ops.getattr = Guarded<OpGetattr>::Call;
  ops.readlink = Guarded<OpReadlink>::Call;
  ops.opendir = Guarded<OpOpendir>::Call;
  ops.readdir = Guarded<OpReaddir>::Call;
  ops.readdirplus = Guarded<OpReaddirplus>::Call;
  ops.releasedir = Guarded<OpReleasedir>::Call;
  ops.open = Guarded<OpOpen>::Call;
  ops.read = Guarded<OpRead>::Call;
  ops.release = Guarded<OpRelease>::Call;
  ops.statfs = Guarded<OpStatfs>::Call;
  ops.getxattr = Guarded<OpGetxattr>::Call;
  ops.listxattr = Guarded<OpListxattr>::Call;
  ops.setattr = Guarded<OpSetattr>::Call;
  ops.mknod = Guarded<OpMknod>::Call;
  ops.mkdir = Guarded<OpMkdir>::Call;
  ops.unlink = Guarded<OpUnlink>::Call;
  ops.rmdir = Guarded<OpRmdir>::Call;
  ops.write = Guarded<OpWrite>::Call;
  ops.fsync = Guarded<OpFsync>::Call;
  ops.fallocate = Guarded<OpFallocate>::Call;
  ops.removexattr = Guarded<OpRemovexattr>::Call;
  ops.symlink = Guarded<OpSymlink>::Call;
  ops.rename = Guarded<OpRename>::Call;
  ops.link = Guarded<OpLink>::Call;
  ops.create = Guarded<OpCreate>::Call;
  ops.setxattr = Guarded<OpSetxattr>::Call;
  return ops;
}();

}  // namespace

FuseAdapter::FuseAdapter(core::FileSystem* fs, core::SessionOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->fs = fs;
  impl_->options = std::move(options);
  fs->SetNotifier(&impl_->notifier);
}

FuseAdapter::~FuseAdapter() {
  impl_->notifier.SetSession(nullptr);
  impl_->fs->SetNotifier(nullptr);
  if (impl_->se) {
    if (impl_->mounted) fuse_session_unmount(impl_->se);
    fuse_remove_signal_handlers(impl_->se);
    fuse_session_destroy(impl_->se);
  }
}

Status FuseAdapter::Mount() {
  std::vector<std::string> args = {"stagefs", "-o", "fsname=" + impl_->options.fsname,
                                   "-o", "subtype=stagefs", "-o", "default_permissions",
                                   "-o", "max_read=" + std::to_string(kMaxIo)};
  if (impl_->options.allow_other) args.insert(args.end(), {"-o", "allow_other"});
  if (impl_->options.read_only) args.insert(args.end(), {"-o", "ro"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  struct fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  impl_->se = fuse_session_new(&fargs, &kOps, sizeof(kOps), impl_.get());
  if (!impl_->se) return Status(ErrorCode::kInternal, "cannot create FUSE session");
  if (fuse_set_signal_handlers(impl_->se) != 0)
    return Status(ErrorCode::kInternal, "cannot install signal handlers");
  struct stat st;
  if (::stat(impl_->options.mountpoint.c_str(), &st) != 0)
    return Status(ErrorCode::kNotFound, "mount point " + impl_->options.mountpoint + ": " +
                                            std::strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return Status(ErrorCode::kNotDirectory, "mount point " + impl_->options.mountpoint +
                                                " is not a directory");
  // Refuse to stack on top of another mount (a different device than the parent).
  struct stat parent;
  std::string up = impl_->options.mountpoint + "/..";
  if (::stat(up.c_str(), &parent) == 0 && parent.st_dev != st.st_dev)
    return Status(ErrorCode::kAlreadyExists, "mount point " + impl_->options.mountpoint +
                                                 " is busy: something is already mounted there");
  if (fuse_session_mount(impl_->se, impl_->options.mountpoint.c_str()) != 0)
    return Status(ErrorCode::kPermissionDenied,
                  "cannot mount at " + impl_->options.mountpoint +
                      " (is it already a mount point, or is /dev/fuse unavailable?)");
  impl_->mounted = true;
  impl_->notifier.SetSession(impl_->se);
  return OkStatus();
}

Status FuseAdapter::Run() {
  struct fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, impl_->options.max_threads);
  // Workers are never destroyed (libfuse's default max_idle of -1): creating a
  // thread per request costs more than the request itself. FUSE_USE_VERSION
  // must be at least 3.12 here, or fuse_session_loop_mt is the 3.2 entry point,
  // which reads this config as the old struct (clone_fd on, max_idle 0, 10
  // threads): that cost 7 clone() calls per file create.
  int rc = fuse_session_loop_mt(impl_->se, cfg);
  fuse_loop_cfg_destroy(cfg);
  impl_->notifier.SetSession(nullptr);
  if (impl_->mounted) {
    fuse_session_unmount(impl_->se);
    impl_->mounted = false;
  }
  if (rc != 0 && rc != SIGTERM && rc != SIGINT && rc != SIGHUP)
    return Status(ErrorCode::kInternal, "FUSE session loop failed: " + std::to_string(rc));
  return OkStatus();
}

void FuseAdapter::Exit() {
  if (impl_->se) fuse_session_exit(impl_->se);
}

}  // namespace stagefs::fuse

namespace stagefs::core {

std::unique_ptr<KernelSession> MakeKernelSession(FileSystem* fs, SessionOptions options) {
  return std::make_unique<fuse::FuseAdapter>(fs, std::move(options));
}

}  // namespace stagefs::core
