#include "app/cache_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace stagefs::app {

CacheDirLock::~CacheDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

Status CacheDirLock::Acquire(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(ErrorCode::kIo, "cache dir " + dir + " is unusable: " + ec.message());
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return Status(ErrorCode::kPermissionDenied,
                  "cache dir " + dir + " is unusable: " + std::strerror(errno));
  std::string path = dir + "/lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0)
    return Status(ErrorCode::kIo, "cache dir " + dir + " is unusable: cannot create " + path +
                                      ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = ::pread(fd_, buf, sizeof(buf) - 1, 0);
    std::string holder = n > 0 ? std::string(buf, n) : "another process";
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    return Status(ErrorCode::kAlreadyExists, "cache dir " + dir +
                                                 " is already in use by another stagefs mount (pid " +
                                                 holder + "); use a different --cache-dir");
  }
  WritePid();
  return OkStatus();
}

void CacheDirLock::WritePid() {
  if (fd_ < 0) return;
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

}  // namespace stagefs::app
