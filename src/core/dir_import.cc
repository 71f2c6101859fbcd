// Directory import: list a directory's prefix in S3, HEAD new or changed objects
// for their POSIX metadata, and merge the result into the inode table.
#include <sys/stat.h>

#include <future>
#include <set>

#include "core/file_system.h"
#include "core/object_format.h"

namespace stagefs::core {
namespace {

struct Listed {
  bool is_dir = false;
  bool has_object = false;
  s3::ListedObject object;
};

struct Headed {
  bool ok = false;
  s3::ObjectInfo info;
  std::string symlink_target;
  std::string error;
};

}  // namespace

Status FileSystem::EnsureListed(uint64_t dir_ino) {
  std::unique_lock lock(mu_);
  while (true) {
    Inode* dir = FindLocked(dir_ino);
    if (!dir) return Status(ErrorCode::kNotFound, "stale node id");
    if (!dir->rec.is_dir()) return Status(ErrorCode::kNotDirectory, "not a directory");
    dir->rec.last_access_ns = clock_->WallNanos();  // for the re-list policy (memory only)
    int64_t age = clock_->WallNanos() - dir->rec.dir_listed_at_ns;
    if (dir->rec.dir_listed && age < options_.refresh_interval.count()) return OkStatus();
    // A directory renamed locally but not yet moved in S3: its new prefix holds
    // nothing yet, so re-listing would lose its children. Keep what we know.
    if (dir->rec.dir_listed && dir->rec.export_state != meta::ExportState::kClean)
      return OkStatus();
    if (dir->rec.dir_listed && dir->rec.key.empty() && dir_ino != meta::kRootIno &&
        !dir->rec.has_marker && dir->children.empty()) {
      // Created locally and never exported: nothing in S3 to list.
      return OkStatus();
    }
    if (!dir->importing) {
      dir->importing = true;
      bool was_listed = dir->rec.dir_listed;
      std::string key_prefix = KeyOfLocked(dir_ino);
      lock.unlock();
      Status st = ImportDirectory(dir_ino, key_prefix);
      lock.lock();
      if (Inode* d = FindLocked(dir_ino)) d->importing = false;
      import_cv_.notify_all();
      // A re-list that fails (S3 unreachable) keeps serving what we know.
      if (!st.ok() && was_listed) return OkStatus();
      return st;
    }
    import_cv_.wait(lock);
  }
}

Status FileSystem::EnsureListedRecursive(uint64_t dir_ino) {
  std::vector<uint64_t> stack{dir_ino};
  while (!stack.empty()) {
    uint64_t ino = stack.back();
    stack.pop_back();
    RETURN_IF_ERROR(EnsureListed(ino));
    std::shared_lock lock(mu_);
    Inode* d = FindLocked(ino);
    if (!d) continue;
    for (const auto& [name, c] : d->children)
      if (Inode* ci = FindLocked(c); ci && ci->rec.is_dir()) stack.push_back(c);
  }
  return OkStatus();
}

void FileSystem::ChangeApplied(int64_t last_modified_ns, int64_t now_ns) {
  changes_applied_->Inc();
  if (last_modified_ns > 0)
    import_age_->Set(std::max<int64_t>(0, now_ns - last_modified_ns) / 1e9);
}

void FileSystem::DetachDeletedLocked(Inode* dir, const std::string& name,
                                     std::vector<std::pair<uint64_t, std::string>>* invalidate) {
  auto it = dir->children.find(name);
  if (it == dir->children.end()) return;
  uint64_t ino = it->second;
  dir->children.erase(it);
  invalidate->emplace_back(dir->rec.ino, name);
  Inode* c = FindLocked(ino);
  if (!c) return;
  c->rec.parent = 0;
  SetKeyLocked(c, "");
  (void)PersistLocked(c->rec);
  MaybeEraseLocked(c);  // unless the kernel or an open file still holds it
}

Status FileSystem::ImportDirectory(uint64_t dir_ino, const std::string& key_prefix) {
  // 1. List every page.
  std::map<std::string, Listed> listed;
  std::optional<s3::ListedObject> marker;
  std::vector<meta::ImportFailure> failures;
  s3::ListObjectsV2Params lp{.bucket = options_.bucket, .prefix = key_prefix, .delimiter = "/"};
  // What stagefs learned about an object after this moment (an export that
  // completed, a HEAD at open) is newer than the listing: the listing must not
  // undo it, nor call it a conflict.
  const int64_t list_started = clock_->WallNanos();
  auto newer = [list_started](const Inode* c) { return c->rec.last_validated_ns > list_started; };
  while (true) {
    auto page = client_->ListObjectsV2(lp);
    if (!page.ok()) return page.error().ToStatus().Annotate("listing s3://" + options_.bucket + "/" + key_prefix);
    for (auto& o : page->objects) {
      std::string name = o.key.substr(key_prefix.size());
      if (name.empty()) {
        marker = o;
        continue;
      }
      if (auto why = InvalidNameReason(name)) {
        failures.push_back({o.key, *why});
        continue;
      }
      Listed& l = listed[name];
      l.has_object = true;
      l.object = std::move(o);
    }
    for (auto& cp : page->common_prefixes) {
      std::string name = cp.substr(key_prefix.size(), cp.size() - key_prefix.size() - 1);
      if (dir_ino == meta::kRootIno && IsInternalName(name)) continue;
      if (auto why = InvalidNameReason(name)) {
        failures.push_back({cp, *why});
        continue;
      }
      listed[name].is_dir = true;
    }
    if (!page->is_truncated || page->next_continuation_token.empty()) break;
    lp.continuation_token = page->next_continuation_token;
  }
  for (auto it = listed.begin(); it != listed.end(); ++it) {
    if (it->second.is_dir && it->second.has_object) {
      failures.push_back({it->second.object.key, "file shadowed by a directory of the same name"});
      it->second.has_object = false;
    }
  }

  // 2. Decide which objects need a HEAD: new ones, and ones whose ETag changed.
  std::vector<std::string> to_head;
  std::vector<std::string> dirs_to_head;
  bool head_marker = false;
  {
    std::shared_lock lock(mu_);
    Inode* dir = FindLocked(dir_ino);
    if (!dir) return Status(ErrorCode::kNotFound, "directory vanished during import");
    for (const auto& [name, l] : listed) {
      if (!l.has_object) continue;
      auto c = dir->children.find(name);
      Inode* child = c == dir->children.end() ? nullptr : FindLocked(c->second);
      if (!child || child->rec.etag != l.object.etag) to_head.push_back(name);
    }
    for (const auto& [name, l] : listed) {
      // A new subdirectory: its "name/" marker (if any) carries its attributes.
      if (l.is_dir && !dir->children.count(name)) dirs_to_head.push_back(name);
    }
    head_marker = marker && (!dir->rec.has_marker || dir->rec.etag != marker->etag);
  }

  // 3. HEAD them in parallel (bounded by the pool size).
  auto head = [this](std::string key) {
    Headed h;
    auto r = client_->HeadObject({.bucket = options_.bucket, .key = key});
    if (!r.ok()) {
      h.error = r.error().ToString();
      return h;
    }
    h.info = std::move(r).value();
    h.info.key = key;
    h.ok = true;
    PosixAttrs a = DecodePosixAttrs(h.info.metadata, false, h.info.last_modified_ns,
                                    options_.defaults);
    if (S_ISLNK(a.mode)) {
      if (h.info.size > kMaxSymlinkTarget) {
        h.ok = false;
        h.error = "symlink target longer than 4080 bytes";
        return h;
      }
      auto body = client_->GetObject({.bucket = options_.bucket, .key = key,
                                      .if_match = h.info.etag});
      if (!body.ok()) {
        h.ok = false;
        h.error = body.error().ToString();
        return h;
      }
      h.symlink_target = std::move(body->body);
    }
    return h;
  };
  std::map<std::string, std::future<Headed>> heads;
  for (const auto& name : to_head)
    heads[name] = head_pool_->Async([head, key = key_prefix + name] { return head(key); });
  std::map<std::string, std::future<s3::S3Result<s3::HeadObjectResult>>> dir_heads;
  for (const auto& name : dirs_to_head)
    dir_heads[name] = head_pool_->Async([this, key = key_prefix + name + "/"] {
      return client_->HeadObject({.bucket = options_.bucket, .key = key});
    });
  std::optional<Headed> marker_head;
  if (head_marker) marker_head = head(key_prefix);
  std::map<std::string, Headed> headed;
  for (auto& [name, fut] : heads) headed[name] = fut.get();
  std::map<std::string, s3::ObjectInfo> dir_markers;
  for (auto& [name, fut] : dir_heads) {
    auto r = fut.get();
    if (r.ok()) dir_markers[name] = std::move(r).value();
    else if (r.error().kind != s3::S3ErrorKind::kNoSuchKey)
      return r.error().ToStatus().Annotate("HEAD " + key_prefix + name + "/");
  }
  for (auto& [name, h] : headed) {
    if (h.ok) continue;
    if (h.error.find("NoSuchKey") != std::string::npos) {
      listed.erase(name);  // deleted between LIST and HEAD
      continue;
    }
    return Status(ErrorCode::kUnavailable, "HEAD " + key_prefix + name + ": " + h.error, true);
  }

  // 4. Merge into the inode table.
  std::vector<std::pair<uint64_t, std::string>> invalidate;
  std::vector<uint64_t> to_import;
  bool first_listing = false;
  {
    std::unique_lock lock(mu_);
    Inode* dir = FindLocked(dir_ino);
    if (!dir) return Status(ErrorCode::kNotFound, "directory vanished during import");
    int64_t now = clock_->WallNanos();
    first_listing = !dir->rec.dir_listed;
    const std::string rel_prefix = key_prefix.substr(options_.prefix.size());
    if (marker_head && marker_head->ok) {
      PosixAttrs a = DecodePosixAttrs(marker_head->info.metadata, true,
                                      marker_head->info.last_modified_ns, options_.defaults);
      ApplyPosixAttrs(a, &dir->rec);
      dir->rec.etag = marker_head->info.etag;
    }
    if (marker) dir->rec.has_marker = true;
    if (dir_ino != meta::kRootIno && dir->rec.key.empty()) SetKeyLocked(dir, rel_prefix);

    // Children gone from S3 disappear. One with local changes whose object was
    // deleted in S3 is a conflict: S3 wins, the local copy goes to lost+found.
    // Children renamed locally (their object is still under the old name) or
    // never exported are not affected.
    std::vector<std::string> gone;
    std::vector<Inode*> conflicts;
    for (const auto& [name, ino] : dir->children) {
      Inode* c = FindLocked(ino);
      if (!c || listed.count(name)) continue;
      const meta::InodeRecord& cr = c->rec;
      bool here = !cr.key.empty() && cr.key == rel_prefix + name + (cr.is_dir() ? "/" : "");
      if (!here || cr.export_state == meta::ExportState::kExporting || newer(c)) continue;
      if (cr.is_dir()) {
        if (cr.export_state == meta::ExportState::kClean) gone.push_back(name);
        continue;
      }
      if (cr.data_dirty || cr.meta_dirty) conflicts.push_back(c);
      else if (cr.export_state == meta::ExportState::kClean) gone.push_back(name);
    }
    // Changed in S3 while changed locally: the same conflict.
    for (const auto& [name, l] : listed) {
      if (!l.has_object) continue;
      auto c = dir->children.find(name);
      Inode* child = c == dir->children.end() ? nullptr : FindLocked(c->second);
      if (!child || child->rec.is_dir() || !(child->rec.data_dirty || child->rec.meta_dirty)) continue;
      if (child->rec.export_state == meta::ExportState::kExporting || newer(child)) continue;
      if (child->rec.key == rel_prefix + name && child->rec.etag != l.object.etag)
        conflicts.push_back(child);
    }
    for (Inode* c : conflicts) {
      bool deleted = !listed.count(c->rec.name);
      MoveToLostFoundLocked(c, deleted ? "Conflict: the object was deleted in S3"
                                       : "Conflict: the object was changed in S3",
                            deleted, &invalidate);
    }
    for (const auto& name : gone) DetachDeletedLocked(dir, name, &invalidate);

    for (auto& [name, l] : listed) {
      auto c = dir->children.find(name);
      Inode* child = c == dir->children.end() ? nullptr : FindLocked(c->second);
      auto h = headed.find(name);
      bool want_dir = l.is_dir;
      if (!child) {
        // An object we already account for elsewhere (unlinked with its delete
        // pending, or renamed away and not yet moved) must not come back.
        auto owner = objects_by_key_.find(rel_prefix + name + (want_dir ? "/" : ""));
        if (owner != objects_by_key_.end()) continue;
      }
      if (child && child->rec.is_dir() != want_dir) {
        if (child->rec.data_dirty || child->rec.meta_dirty) continue;  // local wins until export
        child->rec.parent = 0;
        dir->children.erase(name);
        invalidate.emplace_back(dir_ino, name);
        SetKeyLocked(child, "");
        (void)PersistLocked(child->rec);
        MaybeEraseLocked(child);
        child = nullptr;
      }
      if (!child && !first_listing && l.has_object) ChangeApplied(l.object.last_modified_ns, now);
      if (!child) {
        auto ino = store_->NextInodeNumber();
        if (!ino.ok()) return ino.error();
        auto fresh = std::make_unique<Inode>();
        child = fresh.get();
        child->rec.ino = *ino;
        child->rec.parent = dir_ino;
        child->rec.name = name;
        inodes_[*ino] = std::move(fresh);
        dir->children[name] = *ino;
        // The kernel may hold a negative entry for the name from before.
        if (!first_listing) invalidate.emplace_back(dir_ino, name);
        if (want_dir) {
          child->rec.kind = meta::Kind::kDirectory;
          child->rec.mode = S_IFDIR | options_.defaults.dir_mode;
          child->rec.uid = options_.defaults.uid;
          child->rec.gid = options_.defaults.gid;
          child->rec.mtime_ns = child->rec.atime_ns = child->rec.ctime_ns = now;
          SetKeyLocked(child, rel_prefix + name + "/");
          auto m = dir_markers.find(name);
          if (m != dir_markers.end()) {
            PosixAttrs a = DecodePosixAttrs(m->second.metadata, true, m->second.last_modified_ns,
                                            options_.defaults);
            ApplyPosixAttrs(a, &child->rec);
            child->rec.etag = m->second.etag;
            child->rec.has_marker = true;
          }
        }
      }
      if (want_dir || h == headed.end()) {  // a directory, or an unchanged object
        (void)PersistLocked(child->rec);
        continue;
      }
      if (child->rec.data_dirty || child->rec.meta_dirty) continue;  // conflicts: sync layer
      if (newer(child)) continue;
      const s3::ObjectInfo& info = h->second.info;
      bool changed = !child->rec.etag.empty() && child->rec.etag != info.etag;
      PosixAttrs a = DecodePosixAttrs(info.metadata, false, info.last_modified_ns,
                                      options_.defaults);
      meta::InodeRecord& r = child->rec;
      r.kind = S_ISLNK(a.mode)   ? meta::Kind::kSymlink
               : S_ISREG(a.mode) ? meta::Kind::kFile
                                 : meta::Kind::kSpecial;
      ApplyPosixAttrs(a, &r);
      r.size = info.size;
      r.symlink_target = h->second.symlink_target;
      SetKeyLocked(child, rel_prefix + name);
      r.etag = info.etag;
      r.version_id = info.version_id;
      r.remote_size = info.size;
      r.remote_mtime_ns = info.last_modified_ns;
      r.storage_class = info.storage_class;
      r.last_validated_ns = now;
      if (changed) {
        ChangeApplied(info.last_modified_ns, now);
        r.fully_resident = false;
        (void)cache_->Drop(r.ino);
        invalidate.emplace_back(r.ino, "");
      }
      (void)PersistLocked(r);
      const ImportRule& rule = MatchImportRule(sync_config_, r.key);
      if (r.is_file() && r.size < rule.size_less_than && !r.fully_resident &&
          rule.trigger == ImportTrigger::kOnDirectoryFirstAccess)
        to_import.push_back(r.ino);
    }
    dir->rec.dir_listed = true;
    dir->rec.dir_listed_at_ns = now;
    (void)PersistLocked(dir->rec);
  }
  for (const auto& f : failures) {
    (void)store_->AddImportFailure(f);
    if (first_listing) import_failures_->Inc();
  }
  RETURN_IF_ERROR(store_->Flush());
  NotifyKernel(invalidate);
  for (uint64_t ino : to_import) ScheduleImport(ino);
  return OkStatus();
}

}  // namespace stagefs::core
