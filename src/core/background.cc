// Background work of a mount: re-listing imported directories (the
// reconciler), directory refreshes requested by S3 event notifications,
// expiration of clean cached data, and commits of the metadata batch.
//
// Re-list policy: a directory used (looked up or listed) within the last ten
// refresh intervals is re-listed every interval; an idle one every ten intervals.
// Re-listing costs one LIST page per 1,000 keys and a HEAD only for objects whose
// ETag changed.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/file_system.h"

namespace stagefs::core {

void FileSystem::StartBackground() {
  std::lock_guard lock(bg_thread_mu_);
  if (bg_thread_.joinable()) return;
  bg_stop_ = false;
  bg_thread_ = std::thread([this] { BackgroundLoop(); });
}

void FileSystem::StopBackground() {
  stopping_imports_ = true;
  {
    std::lock_guard lock(bg_thread_mu_);
    bg_stop_ = true;
  }
  bg_thread_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
  if (Status st = CommitBatch(); !st.ok()) spdlog::error("{}", st.ToString());
}

Status FileSystem::CommitBatch() {
  Status residency = cache_->PersistChanged();
  RETURN_IF_ERROR(store_->Flush());
  return residency;
}

void FileSystem::BackgroundLoop() {
  MonoTime last_sweep{};
  std::unique_lock lock(bg_thread_mu_);
  while (!bg_stop_) {
    bg_thread_cv_.wait_for(lock, std::chrono::milliseconds(200),
                           [&] { return bg_stop_ || !refresh_queue_.empty(); });
    if (bg_stop_) break;
    std::set<uint64_t> queued;
    queued.swap(refresh_queue_);
    lock.unlock();
    for (uint64_t dir : queued) (void)RefreshDirectory(dir);
    // Commit the metadata batch, residency included: without fsync, a crash
    // loses at most the changes of the last 200 ms (docs/CONSISTENCY.md, "Crashes").
    if (Status st = CommitBatch(); !st.ok()) spdlog::error("{}", st.ToString());
    MonoTime now = clock_->Now();
    if (now - last_sweep >= std::chrono::seconds(1)) {
      last_sweep = now;
      ReconcileDue();
      ExpireDue();
    }
    lock.lock();
  }
}

Status FileSystem::RefreshDirectory(uint64_t dir_ino) {
  {
    std::unique_lock lock(mu_);
    Inode* d = FindLocked(dir_ino);
    if (!d || !d->rec.is_dir() || !d->rec.dir_listed || InLostFoundLocked(d)) return OkStatus();
    d->rec.dir_listed_at_ns = 0;  // stale: the next EnsureListed lists it again
  }
  return EnsureListed(dir_ino);
}

void FileSystem::ReconcileDue() {
  std::vector<uint64_t> due;
  {
    std::shared_lock lock(mu_);
    int64_t now = clock_->WallNanos();
    int64_t interval = options_.refresh_interval.count();
    for (const auto& [ino, n] : inodes_) {
      const meta::InodeRecord& r = n->rec;
      if (!r.is_dir() || !r.dir_listed || n->importing || InLostFoundLocked(n.get())) continue;
      if (r.parent == 0 && ino != meta::kRootIno) continue;
      bool active = now - r.last_access_ns < 10 * interval;
      int64_t every = active ? interval : 10 * interval;
      if (now - r.dir_listed_at_ns >= every) due.push_back(ino);
    }
  }
  for (uint64_t ino : due) (void)RefreshDirectory(ino);
}

void FileSystem::OnObjectEvents(const std::vector<sync::ObjectEvent>& events) {
  std::set<uint64_t> dirs;
  {
    std::shared_lock lock(mu_);
    for (const auto& e : events) {
      if (e.bucket != options_.bucket) continue;
      if (e.key.compare(0, options_.prefix.size(), options_.prefix) != 0) continue;
      std::string rel = e.key.substr(options_.prefix.size());
      // Walk to the parent directory; only directories already imported matter
      // (the others are listed fresh on first access). When a directory on the
      // way is missing here (never listed since, or renamed away locally), the
      // deepest one that exists is listed again: the key makes a new name there.
      uint64_t ino = meta::kRootIno;
      size_t pos = 0;
      while (true) {
        size_t slash = rel.find('/', pos);
        Inode* d = FindLocked(ino);
        if (!d || !d->rec.is_dir()) break;
        if (slash == std::string::npos) {
          dirs.insert(ino);
          break;
        }
        auto it = d->children.find(rel.substr(pos, slash - pos));
        Inode* next = it == d->children.end() ? nullptr : FindLocked(it->second);
        if (!next || !next->rec.is_dir()) {
          dirs.insert(ino);
          break;
        }
        ino = it->second;
        pos = slash + 1;
      }
    }
  }
  events_received_->Inc(events.size());
  if (dirs.empty()) return;
  {
    std::lock_guard lock(bg_thread_mu_);
    refresh_queue_.insert(dirs.begin(), dirs.end());
  }
  bg_thread_cv_.notify_all();
}

std::vector<std::pair<int64_t, uint64_t>> FileSystem::EvictionCandidates() {
  std::vector<std::pair<int64_t, uint64_t>> candidates;  // (last access, ino)
  {
    std::shared_lock lock(mu_);
    for (const auto& [ino, n] : inodes_) {
      const meta::InodeRecord& r = n->rec;
      if (!r.is_file() || r.data_dirty || r.meta_dirty || r.key.empty() || n->open_count > 0 ||
          r.export_state != meta::ExportState::kClean)
        continue;
      candidates.emplace_back(r.last_access_ns, ino);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  return candidates;
}

bool FileSystem::MakeRoom(uint64_t bytes) {
  // Enough for this write and a margin for the metadata store and the next ones.
  const uint64_t want = bytes + (16 << 20);
  bool evicted = false;
  for (const auto& [last, ino] : EvictionCandidates()) {
    if (cache_->FreeDiskBytes() >= want) break;
    if (cache_->ResidentBytes(ino) == 0) continue;
    evicted |= Evict(ino);
  }
  if (evicted) spdlog::info("cache disk full: evicted clean data to make room");
  return evicted;
}

void FileSystem::ExpireDue() {
  std::chrono::seconds expire_after;
  {
    std::shared_lock lock(mu_);
    expire_after = sync_config_.expire_after;
  }
  auto candidates = EvictionCandidates();
  int64_t now = clock_->WallNanos();
  int64_t cutoff = now - std::chrono::duration_cast<std::chrono::nanoseconds>(expire_after).count();
  for (const auto& [last, ino] : candidates) {
    bool over = options_.cache_size > 0 && cache_->used_bytes() > options_.cache_size;
    if (last >= cutoff && !over) break;  // sorted: the rest is newer
    if (cache_->ResidentBytes(ino) == 0) continue;
    Evict(ino);
  }
}

bool FileSystem::Evict(uint64_t ino) {
  std::unique_lock lock(mu_);
  Inode* n = FindLocked(ino);
  // Re-check under the lock: only clean data is ever evicted.
  if (!n || n->rec.data_dirty || n->rec.meta_dirty || n->open_count > 0 ||
      n->rec.export_state != meta::ExportState::kClean)
    return false;
  if (!cache_->Drop(ino).ok()) return false;
  n->rec.fully_resident = false;
  (void)PersistLocked(n->rec);
  evictions_->Inc();
  return true;
}

void FileSystem::EnforceWatermark() {
  if (options_.cache_size > 0 && cache_->used_bytes() > options_.cache_size) ExpireDue();
}

}  // namespace stagefs::core
