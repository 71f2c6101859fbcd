// KernelSession: the kernel-facing front end that serves a FileSystem (today
// libfuse, in src/fuse). The app starts one through MakeKernelSession and never
// sees the front end's own headers, so the core and the app stay independent
// of FUSE; another front end (e.g. an NFS server) would fit the same shape.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "core/file_system.h"

namespace stagefs::core {

struct SessionOptions {
  std::string mountpoint;
  std::string fsname = "stagefs";
  bool allow_other = false;
  bool read_only = false;
  double attr_timeout = 30;  // seconds the kernel may cache attributes and entries
  int max_threads = 32;
};

class KernelSession {
 public:
  virtual ~KernelSession() = default;
  // Mounts. Fails with a clear message if the mount point is missing, busy or
  // not permitted.
  virtual Status Mount() = 0;
  // Serves requests until unmounted or SIGTERM/SIGINT/SIGHUP; returns after
  // the kernel connection is gone.
  virtual Status Run() = 0;
  // Asks the session to end and unmounts (safe from another thread).
  virtual void Exit() = 0;
};

// Defined by the front end linked into the binary (src/fuse/fuse_adapter.cc).
std::unique_ptr<KernelSession> MakeKernelSession(FileSystem* fs, SessionOptions options);

}  // namespace stagefs::core
