#include "cache/data_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

namespace stagefs::cache {
namespace {

constexpr int kMaxOpenFds = 512;

Status ErrnoStatus(const std::string& what, int err) {
  ErrorCode code = (err == ENOSPC || err == EDQUOT) ? ErrorCode::kNoSpace : ErrorCode::kIo;
  return Status(code, what + ": " + std::strerror(err));
}

}  // namespace

DataCache::DataCache(std::string dir, meta::MetadataStore* store, MetricsRegistry* metrics)
    : dir_(std::move(dir)), store_(store) {
  if (metrics)
    integrity_errors_ = metrics->GetCounter(
        "stagefs_integrity_errors_total",
        "Reads of cached bytes that were not resident or no longer in the cache file "
        "(refused with EIO; a bug or a damaged cache)");
}

Status DataCache::IntegrityError(uint64_t ino, const std::string& what) {
  spdlog::error("data cache integrity: inode {}: {}", ino, what);
  if (integrity_errors_) integrity_errors_->Inc();
  assert(!"data cache integrity error (see the log)");
  return Status(ErrorCode::kDataLoss, "data cache integrity: " + what);
}

DataCache::~DataCache() {
  for (auto& [ino, e] : entries_)
    if (e.fd >= 0) ::close(e.fd);
}

Status DataCache::Init() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status(ErrorCode::kIo, "cannot create cache directory " + dir_ + ": " + ec.message());
  // The 256 fan-out directories exist up front: a first write needs no mkdir.
  for (unsigned i = 0; i < 256; ++i) {
    char sub[8];
    std::snprintf(sub, sizeof(sub), "/%02x", i);
    std::filesystem::create_directory(dir_ + sub, ec);
    if (ec) return Status(ErrorCode::kIo, "cannot create cache directory " + dir_ + sub + ": " + ec.message());
  }
  // Residency totals for capacity accounting.
  uint64_t total = 0;
  std::map<uint64_t, uint64_t> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_, ec)) {
    if (!entry.is_regular_file()) continue;
    uint64_t ino = std::strtoull(entry.path().filename().c_str(), nullptr, 16);
    auto ext = store_->GetExtents(ino);
    if (!ext.ok()) return ext.error();
    uint64_t bytes = 0;
    for (const auto& [a, b] : *ext) bytes += b - a;
    total += bytes;
    found[ino] = bytes;
  }
  used_ = total;
  std::lock_guard lock(mu_);
  found_ = std::move(found);
  return OkStatus();
}

uint64_t DataCache::FreeDiskBytes() const {
  struct statvfs st;
  if (::statvfs(dir_.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

std::string DataCache::PathOf(uint64_t ino) const {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "/%02x/%016llx", static_cast<unsigned>(ino & 0xff),
                static_cast<unsigned long long>(ino));
  return dir_ + buf;
}

void DataCache::AddEmpty(uint64_t ino) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[ino];
  e.loaded = true;
  if (e.generation == 0) e.generation = next_generation_++;
}

uint64_t DataCache::Generation(uint64_t ino) {
  std::lock_guard lock(mu_);
  return EntryLocked(ino).generation;
}

Status DataCache::RemoveOrphans(const std::function<bool(uint64_t)>& keep) {
  std::map<uint64_t, uint64_t> found;
  {
    std::lock_guard lock(mu_);
    found.swap(found_);
  }
  for (const auto& [ino, bytes] : found) {
    if (keep(ino)) continue;
    std::string path = PathOf(ino);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus("removing orphaned cache file " + path, errno);
    if (bytes) RETURN_IF_ERROR(store_->PutExtents(ino, {}));
    used_ -= bytes;
  }
  return OkStatus();
}

DataCache::Entry& DataCache::EntryLocked(uint64_t ino) {
  Entry& e = entries_[ino];
  if (e.generation == 0) e.generation = next_generation_++;
  if (!e.loaded) {
    e.loaded = true;
    auto ext = store_->GetExtents(ino);
    if (ext.ok())
      for (const auto& [a, b] : *ext) e.extents.Add(a, b);
  }
  return e;
}

void DataCache::CloseIdleLocked() {
  for (auto it = entries_.begin(); it != entries_.end() && open_fds_ > kMaxOpenFds / 2; ++it) {
    if (it->second.fd >= 0 && it->second.users == 0) {
      ::close(it->second.fd);
      it->second.fd = -1;
      --open_fds_;
    }
  }
}

Result<int> DataCache::FdLocked(uint64_t ino, Entry& e) {
  if (e.fd >= 0) return e.fd;
  if (open_fds_ >= kMaxOpenFds) CloseIdleLocked();
  std::string path = PathOf(ino);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT) {
    ::mkdir(path.substr(0, path.rfind('/')).c_str(), 0700);
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  }
  if (fd < 0) return ErrnoStatus("opening cache file " + path, errno);
  e.fd = fd;
  ++open_fds_;
  return fd;
}

Result<int> DataCache::Pin(uint64_t ino) {
  std::lock_guard lock(mu_);
  Entry& e = EntryLocked(ino);
  auto fd = FdLocked(ino, e);
  if (fd.ok()) ++e.users;
  return fd;
}

void DataCache::Unpin(uint64_t ino) {
  std::lock_guard lock(mu_);
  --entries_[ino].users;
}

std::shared_ptr<std::mutex> DataCache::WriteMutex(uint64_t ino) {
  std::lock_guard lock(mu_);
  return EntryLocked(ino).write_mu;
}

Status DataCache::WriteLocked(int fd, uint64_t off, const char* data, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, data + done, len - done, off + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing cache file", errno);
    }
    done += n;
  }
  return OkStatus();
}

Status DataCache::Write(uint64_t ino, uint64_t off, const char* data, size_t len) {
  auto wmu = WriteMutex(ino);
  std::lock_guard wl(*wmu);
  ASSIGN_OR_RETURN(int fd, Pin(ino));
  Status st = WriteLocked(fd, off, data, len);
  std::lock_guard lock(mu_);
  Entry& e = entries_[ino];
  --e.users;
  if (st.ok()) {
    uint64_t before = e.extents.TotalBytes();
    e.extents.Add(off, off + len);
    used_ += e.extents.TotalBytes() - before;
    if (e.extents.TotalBytes() != before) unpersisted_.insert(ino);
  }
  return st;
}

Status DataCache::WriteIfMissing(uint64_t ino, uint64_t off, const char* data, size_t len,
                                 uint64_t generation) {
  auto wmu = WriteMutex(ino);
  std::lock_guard wl(*wmu);
  std::vector<ExtentSet::Extent> missing;
  {
    std::lock_guard lock(mu_);
    Entry& e = EntryLocked(ino);
    if (e.generation != generation)
      return Status(ErrorCode::kCancelled, "the cached bytes were dropped during the fetch");
    missing = e.extents.Missing(off, off + len);
  }
  if (missing.empty()) return OkStatus();
  ASSIGN_OR_RETURN(int fd, Pin(ino));
  Status st;
  for (const auto& [a, b] : missing) {
    st = WriteLocked(fd, a, data + (a - off), b - a);
    if (!st.ok()) break;
  }
  std::lock_guard lock(mu_);
  Entry& e = entries_[ino];
  --e.users;
  if (st.ok()) {
    uint64_t before = e.extents.TotalBytes();
    for (const auto& [a, b] : missing) e.extents.Add(a, b);
    used_ += e.extents.TotalBytes() - before;
    unpersisted_.insert(ino);
  }
  return st;
}

Result<size_t> DataCache::Read(uint64_t ino, uint64_t off, size_t len, char* buf) {
  if (!Covers(ino, off, off + len))
    return IntegrityError(ino, "read of bytes " + std::to_string(off) + "-" +
                                   std::to_string(off + len) + " that are not resident");
  ASSIGN_OR_RETURN(int fd, Pin(ino));
  size_t done = 0;
  Status st;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, off + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      st = ErrnoStatus("reading cache file", errno);
      break;
    }
    if (n == 0) {  // resident, but the cache file is shorter: never serve zeros
      Unpin(ino);
      return IntegrityError(ino, "the cache file ends at " + std::to_string(off + done) +
                                     ", inside resident bytes up to " + std::to_string(off + len));
    }
    done += n;
  }
  Unpin(ino);
  if (!st.ok()) return st;
  return done;
}

Status DataCache::Truncate(uint64_t ino, uint64_t size, uint64_t old_size, bool extend_resident) {
  auto wmu = WriteMutex(ino);
  std::lock_guard wl(*wmu);
  ASSIGN_OR_RETURN(int fd, Pin(ino));
  Status st;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) st = ErrnoStatus("truncating cache file", errno);
  std::lock_guard lock(mu_);
  Entry& e = entries_[ino];
  --e.users;
  if (!st.ok()) return st;
  uint64_t before = e.extents.TotalBytes();
  e.extents.Remove(size, UINT64_MAX);
  if (extend_resident && size > old_size) e.extents.Add(old_size, size);
  used_ += e.extents.TotalBytes() - before;
  unpersisted_.insert(ino);
  return OkStatus();
}

Status DataCache::Drop(uint64_t ino) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(ino);
    if (it != entries_.end()) {
      used_ -= it->second.extents.TotalBytes();
      if (it->second.fd >= 0 && it->second.users == 0) {
        ::close(it->second.fd);
        --open_fds_;
        entries_.erase(it);
      } else {
        it->second.extents.Clear();
        it->second.generation = next_generation_++;
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    unpersisted_.erase(ino);
  }
  std::string path = PathOf(ino);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return ErrnoStatus("removing cache file " + path, errno);
  return store_->PutExtents(ino, {});
}

Status DataCache::Fsync(uint64_t ino) {
  ASSIGN_OR_RETURN(int fd, Pin(ino));
  Status st;
  if (::fdatasync(fd) != 0) st = ErrnoStatus("syncing cache file", errno);
  Unpin(ino);
  RETURN_IF_ERROR(st);
  return Persist(ino);
}

Status DataCache::Persist(uint64_t ino) {
  std::vector<ExtentSet::Extent> v;
  {
    std::lock_guard lock(mu_);
    v = EntryLocked(ino).extents.ToVector();
    unpersisted_.erase(ino);
  }
  return store_->PutExtents(ino, v);
}

Result<bool> DataCache::PersistIfChanged(uint64_t ino) {
  {
    std::lock_guard lock(mu_);
    if (!unpersisted_.count(ino)) return false;
  }
  RETURN_IF_ERROR(Persist(ino));
  return true;
}

Status DataCache::PersistChanged() {
  std::set<uint64_t> changed;
  {
    std::lock_guard lock(mu_);
    changed.swap(unpersisted_);
  }
  Status first;
  for (uint64_t ino : changed) {
    Status st = Persist(ino);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

bool DataCache::Covers(uint64_t ino, uint64_t start, uint64_t end) {
  std::lock_guard lock(mu_);
  return EntryLocked(ino).extents.Covers(start, end);
}

std::vector<ExtentSet::Extent> DataCache::Missing(uint64_t ino, uint64_t start, uint64_t end) {
  std::lock_guard lock(mu_);
  return EntryLocked(ino).extents.Missing(start, end);
}

uint64_t DataCache::ResidentBytes(uint64_t ino) {
  std::lock_guard lock(mu_);
  return EntryLocked(ino).extents.TotalBytes();
}

}  // namespace stagefs::cache
