// Commands that talk to a running mount through its extended attributes:
// `stagefs status`, `stagefs sync` and `stagefs umount`.
#pragma once

#include <string>

namespace stagefs::app {

// Prints the mount's status JSON. Returns the exit code.
int PrintStatus(const std::string& mountpoint);
// Exports PATH (a file or a directory tree; the whole mount when it is the
// mount point) now, ignoring the quiet window, and waits. Shows a progress bar
// of pending exports when stderr is a terminal.
int SyncPath(const std::string& path, const std::string& mountpoint);
// Unmounts; unless `lazy`, waits for the daemon to finish its pending exports
// and exit.
int Unmount(const std::string& mountpoint, bool lazy);
// `stagefs config get MOUNTPOINT`: prints the sync configuration as JSON.
int ConfigGet(const std::string& mountpoint);
// `stagefs config put MOUNTPOINT FILE --version N`: replaces it if N is still
// the current version (like AWS's ConflictException otherwise).
int ConfigPut(const std::string& mountpoint, const std::string& file, int64_t version);

}  // namespace stagefs::app
