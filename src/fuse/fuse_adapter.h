// FuseAdapter: the libfuse3 low-level adapter. It decodes requests, calls the
// core FileSystem, and encodes replies; no file-system semantics live here.
//
// Settings (see docs/ARCHITECTURE.md): multi-threaded session loop, 1 MiB
// max_read/max_write, readdirplus, FUSE_CAP_EXPORT_SUPPORT (NFS handles),
// default_permissions (the kernel checks mode bits against the caller),
// attribute and entry timeouts equal to the refresh interval, negative lookups
// cached for the same time, keep_cache for files unchanged in S3.
// Kernel cache invalidations requested by the core run on a separate thread,
// because notifying from inside a request handler can deadlock.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "core/file_system.h"

namespace stagefs::fuse {

struct FuseOptions {
  std::string mountpoint;
  std::string fsname = "stagefs";
  bool allow_other = false;
  bool read_only = false;
  double attr_timeout = 30;
  int max_threads = 32;
};

class FuseAdapter {
 public:
  FuseAdapter(core::FileSystem* fs, FuseOptions options);
  ~FuseAdapter();

  // Creates the session and mounts. Fails with a clear message if the mount
  // point is missing, busy or not permitted.
  Status Mount();
  // Serves requests until unmounted (fusermount3 -u) or SIGTERM/SIGINT/SIGHUP.
  // Returns after the kernel connection is gone.
  Status Run();
  // Asks the loop to exit and unmounts (safe from another thread).
  void Exit();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace stagefs::fuse
