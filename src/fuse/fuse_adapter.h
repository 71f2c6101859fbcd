// FuseAdapter: the libfuse3 low-level adapter, the core::KernelSession the
// binary uses. It decodes requests, calls the core FileSystem, and encodes
// replies; no file-system semantics live here.
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
#include "core/kernel_session.h"

namespace stagefs::fuse {

class FuseAdapter final : public core::KernelSession {
 public:
  FuseAdapter(core::FileSystem* fs, core::SessionOptions options);
  ~FuseAdapter() override;

  Status Mount() override;
  Status Run() override;
  void Exit() override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace stagefs::fuse
