// Namespace mutations: create, mknod, mkdir, symlink, unlink, rmdir, rename.
// Each is instant and local; the export engine turns them into S3 requests later.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include "base/text.h"
#include "core/file_system.h"
#include "core/handle.h"
#include "core/object_format.h"

namespace stagefs::core {
namespace {

// Names at the mount root that belong to stagefs itself.
bool IsReservedRootName(uint64_t parent, const std::string& name) {
  return parent == meta::kRootIno && FileSystem::IsInternalName(name);
}

// S3 keys are UTF-8: a name that is not can never be exported (NFSv4 requires
// UTF-8 names too), so it is refused when it is made, not failed forever later.
Status CheckNameEncoding(const std::string& name) {
  if (IsValidUtf8(name)) return OkStatus();
  return Status(ErrorCode::kIllegalByteSequence,
                "the name '" + EscapeBytes(name) + "' is not valid UTF-8 (S3 keys must be)");
}

// A new key of `bytes` bytes (prefix, path, and "/" for a directory marker;
// for a moved directory, the longest key below it).
Status CheckKeyLength(size_t bytes) {
  if (bytes <= kMaxKeyBytes) return OkStatus();
  return Status(ErrorCode::kNameTooLong, "the S3 key would be " + std::to_string(bytes) +
                                             " bytes (S3's limit is 1024)");
}

}  // namespace

Status FileSystem::CheckWritable() const {
  if (options_.read_only) return Status(ErrorCode::kReadOnly, "mounted read-only");
  return OkStatus();
}

Status FileSystem::CheckNewNameLocked(Inode* dir, const std::string& name) {
  if (!dir) return Status(ErrorCode::kNotFound, "stale directory");
  if (!dir->rec.is_dir()) return Status(ErrorCode::kNotDirectory, "not a directory");
  if (dir->rec.parent == 0 && dir->rec.ino != meta::kRootIno)
    return Status(ErrorCode::kNotFound, "directory was removed");
  if (name.size() > 255) return Status(ErrorCode::kNameTooLong, "name longer than 255 bytes");
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    return Status(ErrorCode::kInvalidArgument, "invalid name");
  RETURN_IF_ERROR(CheckNameEncoding(name));
  if (IsReservedRootName(dir->rec.ino, name))
    return Status(ErrorCode::kNotPermitted, name + " is reserved by stagefs");
  if (InLostFoundLocked(dir))
    return Status(ErrorCode::kNotPermitted, "nothing can be created in lost+found");
  if (dir->children.count(name)) return Status(ErrorCode::kAlreadyExists, "file exists");
  return OkStatus();
}

std::string FileSystem::RelKeyOfLocked(uint64_t ino) {
  return KeyOfLocked(ino).substr(options_.prefix.size());
}

void FileSystem::ScheduleLocked(uint64_t ino) {
  if (exporter_) exporter_->Schedule(ino);
}

void FileSystem::ChangedLocked(Inode* n, bool data) {
  meta::InodeRecord& r = n->rec;
  int64_t now = clock_->WallNanos();
  if (data) r.data_dirty = true;
  else r.meta_dirty = true;
  // Writing is an access: the expiration clock starts when the data was last
  // written or read, not at the epoch (which would evict it right after export).
  if (data) r.last_access_ns = now;
  if (r.export_state != meta::ExportState::kExporting) r.export_state = meta::ExportState::kPending;
  r.dirty_since_ns = now;
  n->change_seq++;
  (void)PersistLocked(r);
  ScheduleLocked(r.ino);
}

Status FileSystem::DirtyBeforeChangeLocked(Inode* n) {
  if (n->rec.data_dirty) return OkStatus();
  ChangedLocked(n, true);
  return store_->Flush();
}

Result<FileSystem::Inode*> FileSystem::NewChildLocked(Inode* dir, const std::string& name,
                                                      meta::Kind kind, uint32_t mode,
                                                      const Caller& caller) {
  RETURN_IF_ERROR(CheckNewNameLocked(dir, name));
  RETURN_IF_ERROR(CheckKeyLength(KeyOfLocked(dir->rec.ino).size() + name.size() +
                                 (kind == meta::Kind::kDirectory ? 1 : 0)));
  ASSIGN_OR_RETURN(uint64_t ino, store_->NextInodeNumber());
  auto fresh = std::make_unique<Inode>();
  Inode* n = fresh.get();
  meta::InodeRecord& r = n->rec;
  int64_t now = clock_->WallNanos();
  r.ino = ino;
  r.parent = dir->rec.ino;
  r.name = name;
  r.kind = kind;
  r.mode = mode;
  r.uid = caller.uid;
  // BSD semantics under a set-group-ID directory: inherit its group (and,
  // for directories, the bit itself).
  r.gid = (dir->rec.mode & S_ISGID) ? dir->rec.gid : caller.gid;
  if (kind == meta::Kind::kDirectory && (dir->rec.mode & S_ISGID)) r.mode |= S_ISGID;
  r.atime_ns = r.mtime_ns = r.ctime_ns = now;
  r.fully_resident = true;
  if (kind == meta::Kind::kDirectory) {
    r.dir_listed = true;
    r.dir_listed_at_ns = now;
  }
  if (kind == meta::Kind::kFile) cache_->AddEmpty(ino);
  inodes_[ino] = std::move(fresh);
  dir->children[name] = ino;
  dir->rec.mtime_ns = dir->rec.ctime_ns = now;
  n->nlookup = 1;
  ChangedLocked(n, kind != meta::Kind::kDirectory);
  return n;
}

Result<std::pair<Entry, OpenResult>> FileSystem::Create(uint64_t parent, const std::string& name,
                                                        uint32_t mode, int flags,
                                                        const Caller& caller) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(EnsureListed(parent));
  Entry entry;
  bool created = false;
  {
    std::unique_lock lock(mu_);
    Inode* dir = FindLocked(parent);
    if (dir && dir->children.count(name)) {
      if (flags & O_EXCL) return Status(ErrorCode::kAlreadyExists, "file exists");
      Inode* existing = FindLocked(dir->children[name]);
      existing->nlookup++;
      entry = EntryOfLocked(*existing);
    } else {
      ASSIGN_OR_RETURN(Inode * n, NewChildLocked(dir, name, meta::Kind::kFile,
                                                  S_IFREG | (mode & 07777), caller));
      entry = EntryOfLocked(*n);
      flags &= ~O_TRUNC;
      created = true;
    }
  }
  auto opened = Open(entry.ino, flags);
  if (!opened.ok()) {
    Forget(entry.ino, 1);
    return opened.error();
  }
  // A new file opened write-only cannot be read or mapped through this handle,
  // so its writes skip the page cache. That saves the kernel's
  // getxattr("security.capability") round trip before each cached write (it
  // asks any file system that has xattrs); the daemon clears set-user-ID and
  // set-group-ID itself (see Write).
  if (created && (flags & O_ACCMODE) == O_WRONLY) opened->direct_io = true;
  std::shared_lock lock(mu_);
  if (Inode* n = FindLocked(entry.ino)) entry = EntryOfLocked(*n);
  return std::make_pair(entry, *opened);
}

Result<Entry> FileSystem::Mknod(uint64_t parent, const std::string& name, uint32_t mode,
                                uint64_t rdev, const Caller& caller) {
  uint32_t type = mode & S_IFMT;
  if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK)
    return Status(ErrorCode::kInvalidArgument, "unsupported file type");
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(EnsureListed(parent));
  std::unique_lock lock(mu_);
  // FIFOs, sockets and device nodes are empty objects whose file-permissions
  // carry the type (devices also "file-rdev"); the kernel serves their I/O.
  meta::Kind kind = type == S_IFREG ? meta::Kind::kFile : meta::Kind::kSpecial;
  ASSIGN_OR_RETURN(Inode * n, NewChildLocked(FindLocked(parent), name, kind,
                                              type | (mode & 07777), caller));
  if (kind == meta::Kind::kSpecial && (type == S_IFCHR || type == S_IFBLK)) {
    n->rec.rdev = rdev;
    (void)PersistLocked(n->rec);
  }
  return EntryOfLocked(*n);
}

Result<Entry> FileSystem::Mkdir(uint64_t parent, const std::string& name, uint32_t mode,
                                const Caller& caller) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(EnsureListed(parent));
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(Inode * n, NewChildLocked(FindLocked(parent), name, meta::Kind::kDirectory,
                                              S_IFDIR | (mode & 07777), caller));
  return EntryOfLocked(*n);
}

Result<Entry> FileSystem::Symlink(uint64_t parent, const std::string& name,
                                  const std::string& target, const Caller& caller) {
  RETURN_IF_ERROR(CheckWritable());
  if (target.size() > kMaxSymlinkTarget)
    return Status(ErrorCode::kNameTooLong, "symlink target longer than 4080 bytes");
  RETURN_IF_ERROR(EnsureListed(parent));
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(Inode * n, NewChildLocked(FindLocked(parent), name, meta::Kind::kSymlink,
                                              S_IFLNK | 0777, caller));
  n->rec.symlink_target = target;
  n->rec.size = target.size();
  (void)PersistLocked(n->rec);
  return EntryOfLocked(*n);
}

void FileSystem::DetachLocked(Inode* dir, const std::string& name, Inode* child) {
  dir->children.erase(name);
  int64_t now = clock_->WallNanos();
  dir->rec.mtime_ns = dir->rec.ctime_ns = now;
  child->rec.parent = 0;
  child->rec.ctime_ns = now;
  child->change_seq++;
  if (child->rec.is_dir() && !child->rec.has_marker) SetKeyLocked(child, "");
  if (!child->rec.key.empty()) {
    child->rec.export_state = meta::ExportState::kPending;
    ScheduleLocked(child->rec.ino);  // the export deletes the object
  } else if (child->rec.export_state == meta::ExportState::kExporting ||
             child->rec.export_state == meta::ExportState::kFailed) {
    // Its first upload is in flight: once it lands (and the inode has a key),
    // the export runs again and deletes it. Or its export failed for good:
    // the exporter forgets the failure (a sync no longer reports it).
    ScheduleLocked(child->rec.ino);
  }
  (void)PersistLocked(child->rec);
  // An exported directory with no marker exists in S3 only through its
  // children: keep it alive with a marker once it is empty.
  if (dir->children.empty() && !dir->rec.has_marker && !dir->rec.key.empty() &&
      dir->rec.ino != meta::kRootIno)
    ChangedLocked(dir, false);
  (void)PersistLocked(dir->rec);
  MaybeEraseLocked(child);
}

void FileSystem::MaybeEraseLocked(Inode* n) {
  const meta::InodeRecord& r = n->rec;
  if (r.ino == meta::kRootIno || r.parent != 0 || n->nlookup > 0 || n->open_count > 0 ||
      !r.key.empty() || r.export_state == meta::ExportState::kExporting)
    return;
  EraseLocked(r.ino);
}

Status FileSystem::Unlink(uint64_t parent, const std::string& name) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(EnsureListed(parent));
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(auto found, ChildLocked(parent, name));
  auto [dir, child] = found;
  if (child->rec.is_dir()) return Status(ErrorCode::kIsDirectory, "is a directory");
  DetachLocked(dir, name, child);
  return OkStatus();
}

Status FileSystem::Rmdir(uint64_t parent, const std::string& name) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(EnsureListed(parent));
  uint64_t child_ino;
  {
    std::shared_lock lock(mu_);
    Inode* dir = FindLocked(parent);
    if (!dir) return Status(ErrorCode::kNotFound, "stale directory");
    auto it = dir->children.find(name);
    if (it == dir->children.end()) return Status(ErrorCode::kNotFound, "no such entry");
    child_ino = it->second;
    if (!FindLocked(child_ino)->rec.is_dir())
      return Status(ErrorCode::kNotDirectory, "not a directory");
  }
  if (IsReservedRootName(parent, name))
    return Status(ErrorCode::kNotPermitted, name + " belongs to stagefs and cannot be removed");
  RETURN_IF_ERROR(EnsureListed(child_ino));  // S3 may hold children not seen yet
  std::unique_lock lock(mu_);
  Inode* dir = FindLocked(parent);
  Inode* child = FindLocked(child_ino);
  if (!dir || !child || child->rec.parent != parent)
    return Status(ErrorCode::kNotFound, "no such entry");
  if (!child->children.empty()) return Status(ErrorCode::kNotEmpty, "directory not empty");
  DetachLocked(dir, name, child);
  return OkStatus();
}

size_t FileSystem::LongestPathBelowLocked(Inode* dir) {
  size_t longest = 0;
  std::vector<std::pair<Inode*, size_t>> stack{{dir, 0}};
  while (!stack.empty()) {
    auto [cur, len] = stack.back();
    stack.pop_back();
    for (const auto& [name, ino] : cur->children) {
      Inode* c = FindLocked(ino);
      if (!c) continue;
      size_t l = len + name.size() + (c->rec.is_dir() ? 1 : 0);
      longest = std::max(longest, l);
      if (c->rec.is_dir()) stack.emplace_back(c, l);
    }
  }
  return longest;
}

void FileSystem::ScheduleSubtreeLocked(Inode* n) {
  std::vector<Inode*> stack{n};
  while (!stack.empty()) {
    Inode* cur = stack.back();
    stack.pop_back();
    cur->rec.ctime_ns = clock_->WallNanos();
    if (!cur->rec.key.empty() || cur->rec.data_dirty || cur->rec.meta_dirty) {
      cur->rec.export_state = meta::ExportState::kPending;
      (void)PersistLocked(cur->rec);
      ScheduleLocked(cur->rec.ino);
    }
    for (const auto& [name, ino] : cur->children)
      if (Inode* c = FindLocked(ino)) stack.push_back(c);
  }
}

Status FileSystem::Rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                          const std::string& new_name, unsigned flags) {
  RETURN_IF_ERROR(CheckWritable());
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
    return Status(ErrorCode::kInvalidArgument, "unsupported rename flags");
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
    return Status(ErrorCode::kInvalidArgument, "RENAME_NOREPLACE with RENAME_EXCHANGE");
  RETURN_IF_ERROR(EnsureListed(parent));
  RETURN_IF_ERROR(EnsureListed(new_parent));
  // Directories involved must be fully known: a moved tree is moved object by
  // object, and a replaced directory must really be empty.
  for (auto [dir, child_name] : {std::pair{parent, name}, std::pair{new_parent, new_name}}) {
    uint64_t child = 0;
    {
      std::shared_lock lock(mu_);
      Inode* d = FindLocked(dir);
      auto it = d ? d->children.find(child_name) : decltype(d->children.end()){};
      if (d && it != d->children.end()) {
        Inode* c = FindLocked(it->second);
        if (c && c->rec.is_dir()) child = c->rec.ino;
      }
    }
    if (child) RETURN_IF_ERROR(EnsureListedRecursive(child));
  }
  std::unique_lock lock(mu_);
  Inode* src_dir = FindLocked(parent);
  Inode* dst_dir = FindLocked(new_parent);
  if (!src_dir || !dst_dir) return Status(ErrorCode::kNotFound, "stale directory");
  if (!dst_dir->rec.is_dir()) return Status(ErrorCode::kNotDirectory, "not a directory");
  auto s = src_dir->children.find(name);
  if (s == src_dir->children.end()) return Status(ErrorCode::kNotFound, "no such entry");
  Inode* src = FindLocked(s->second);
  if (new_name.size() > 255) return Status(ErrorCode::kNameTooLong, "name longer than 255 bytes");
  RETURN_IF_ERROR(CheckNameEncoding(new_name));
  RETURN_IF_ERROR(CheckKeyLength(KeyOfLocked(new_parent).size() + new_name.size() +
                                 (src->rec.is_dir() ? 1 + LongestPathBelowLocked(src) : 0)));
  if (IsReservedRootName(new_parent, new_name) || IsReservedRootName(parent, name))
    return Status(ErrorCode::kNotPermitted, "reserved by stagefs");
  // Lost+found entries can be read, copied and deleted, not moved (as in S3
  // Files): a copy keeps what it is, wherever it would go (docs/SEMANTICS.md).
  if (InLostFoundLocked(src) || InLostFoundLocked(dst_dir))
    return Status(ErrorCode::kNotPermitted,
                  "lost+found entries cannot be moved, and nothing can be moved into "
                  "lost+found; copy the entry instead");
  // A directory cannot move into its own subtree.
  if (src->rec.is_dir()) {
    for (Inode* a = dst_dir; a; a = a->rec.ino == meta::kRootIno ? nullptr : FindLocked(a->rec.parent))
      if (a == src) return Status(ErrorCode::kInvalidArgument, "cannot move a directory into itself");
  }
  auto t = dst_dir->children.find(new_name);
  Inode* dst = t == dst_dir->children.end() ? nullptr : FindLocked(t->second);
  if (dst == src) return OkStatus();
  int64_t now = clock_->WallNanos();
  if (flags & RENAME_EXCHANGE) {
    if (!dst) return Status(ErrorCode::kNotFound, "exchange target does not exist");
    RETURN_IF_ERROR(CheckKeyLength(KeyOfLocked(parent).size() + name.size() +
                                   (dst->rec.is_dir() ? 1 + LongestPathBelowLocked(dst) : 0)));
    if (dst->rec.is_dir()) {
      for (Inode* a = src_dir; a; a = a->rec.ino == meta::kRootIno ? nullptr : FindLocked(a->rec.parent))
        if (a == dst) return Status(ErrorCode::kInvalidArgument, "cannot move a directory into itself");
    }
    src_dir->children[name] = dst->rec.ino;
    dst_dir->children[new_name] = src->rec.ino;
    std::swap(src->rec.parent, dst->rec.parent);
    std::swap(src->rec.name, dst->rec.name);
    src_dir->rec.mtime_ns = src_dir->rec.ctime_ns = now;
    dst_dir->rec.mtime_ns = dst_dir->rec.ctime_ns = now;
    ScheduleSubtreeLocked(src);
    ScheduleSubtreeLocked(dst);
    (void)PersistLocked(src_dir->rec);
    (void)PersistLocked(dst_dir->rec);
    return OkStatus();
  }
  if (dst) {
    if (flags & RENAME_NOREPLACE) return Status(ErrorCode::kAlreadyExists, "target exists");
    if (src->rec.is_dir() && !dst->rec.is_dir())
      return Status(ErrorCode::kNotDirectory, "target is not a directory");
    if (!src->rec.is_dir() && dst->rec.is_dir())
      return Status(ErrorCode::kIsDirectory, "target is a directory");
    if (dst->rec.is_dir() && !dst->children.empty())
      return Status(ErrorCode::kNotEmpty, "target directory not empty");
    // The replaced object is deleted by its own export, unless the moved
    // inode's export overwrites it first (see PrepareExport).
    DetachLocked(dst_dir, new_name, dst);
  }
  src_dir->children.erase(name);
  dst_dir->children[new_name] = src->rec.ino;
  src->rec.parent = new_parent;
  src->rec.name = new_name;
  src_dir->rec.mtime_ns = src_dir->rec.ctime_ns = now;
  dst_dir->rec.mtime_ns = dst_dir->rec.ctime_ns = now;
  (void)PersistLocked(src_dir->rec);
  (void)PersistLocked(dst_dir->rec);
  ScheduleSubtreeLocked(src);
  return OkStatus();
}

}  // namespace stagefs::core
