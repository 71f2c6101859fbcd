// `stagefs mount`: wires every layer together (the only place that does) and
// serves the mount until it is unmounted or the process gets SIGTERM.
#pragma once

#include "app/mount_config.h"

namespace stagefs::app {

// Returns the process exit code. Without cfg.foreground the process forks; the
// parent returns only when the mount is ready (0) or has failed (1, with the
// reason on stderr).
int RunMount(const MountConfig& cfg);

}  // namespace stagefs::app
