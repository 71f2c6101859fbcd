#include "app/control_commands.h"

#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/sync_config.h"

namespace stagefs::app {
namespace {

constexpr char kMountStatus[] = "user.stagefs.mount-status";

bool ReadStatus(const std::string& mountpoint, nlohmann::json* out) {
  std::string buf(1 << 20, '\0');
  ssize_t n = ::getxattr(mountpoint.c_str(), kMountStatus, buf.data(), buf.size());
  if (n < 0) return false;
  *out = nlohmann::json::parse(buf.substr(0, n), nullptr, false);
  return !out->is_discarded();
}

void DrawBar(size_t initial, size_t pending) {
  size_t done = initial > pending ? initial - pending : 0;
  int width = 40;
  int filled = initial ? static_cast<int>(width * done / initial) : width;
  std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ') << "] "
            << done << "/" << initial << " exported" << std::flush;
}

}  // namespace

int PrintStatus(const std::string& mountpoint) {
  nlohmann::json j;
  if (!ReadStatus(mountpoint, &j)) {
    std::cerr << "stagefs: " << mountpoint << " is not a stagefs mount (" << std::strerror(errno)
              << ")\n";
    return 1;
  }
  std::cout << j.dump(2) << "\n";
  return 0;
}

int SyncPath(const std::string& path, const std::string& mountpoint) {
  nlohmann::json j;
  if (!ReadStatus(mountpoint, &j)) {
    std::cerr << "stagefs: " << mountpoint << " is not a stagefs mount\n";
    return 1;
  }
  std::atomic<bool> finished{false};
  std::thread progress;
  if (::isatty(2)) {
    size_t initial = j.value("pending_exports", 0);
    progress = std::thread([&] {
      while (!finished) {
        nlohmann::json s;
        if (ReadStatus(mountpoint, &s)) DrawBar(initial, s.value("pending_exports", 0));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
  }
  int rc = ::setxattr(path.c_str(), "user.stagefs.sync", "1", 1, 0);
  int err = errno;
  finished = true;
  if (progress.joinable()) {
    progress.join();
    std::cerr << "\n";
  }
  if (rc != 0) {
    std::cerr << "stagefs: sync of " << path << " failed: " << std::strerror(err) << "\n";
    nlohmann::json s;
    if (ReadStatus(mountpoint, &s) && s.contains("export_failures"))
      for (const auto& f : s["export_failures"])
        std::cerr << "  " << f.value("path", "?") << ": " << f.value("error", "?") << "\n";
    return 1;
  }
  return 0;
}

int ConfigGet(const std::string& mountpoint) {
  std::string buf(1 << 16, '\0');
  ssize_t n = ::getxattr(mountpoint.c_str(), "user.stagefs.config", buf.data(), buf.size());
  if (n < 0) {
    std::cerr << "stagefs: " << mountpoint << " is not a stagefs mount (" << std::strerror(errno)
              << ")\n";
    return 1;
  }
  std::cout << buf.substr(0, n) << "\n";
  return 0;
}

int ConfigPut(const std::string& mountpoint, const std::string& file, int64_t version) {
  std::ifstream in(file);
  if (!in) {
    std::cerr << "stagefs: cannot read " << file << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = core::SyncConfigFromJson(text.str());
  if (!parsed.ok()) {
    std::cerr << "stagefs: invalid configuration in " << file << ": " << parsed.error().message()
              << "\n";
    return 2;
  }
  parsed->version = version;
  std::string json = core::SyncConfigToJson(*parsed);
  if (::setxattr(mountpoint.c_str(), "user.stagefs.config", json.data(), json.size(), 0) != 0) {
    int err = errno;
    if (err == ESTALE) {
      std::cerr << "stagefs: ConflictException: version " << version
                << " is not the current version of the configuration; run `stagefs config get "
                << mountpoint << "` and retry\n";
      return 3;
    }
    std::cerr << "stagefs: config put failed: " << std::strerror(err) << "\n";
    return 1;
  }
  std::cout << "configuration updated to version " << version + 1 << "\n";
  return 0;
}

int Unmount(const std::string& mountpoint, bool lazy) {
  nlohmann::json j;
  int pid = ReadStatus(mountpoint, &j) ? j.value("pid", 0) : 0;
  pid_t child = ::fork();
  if (child == 0) {
    execlp("fusermount3", "fusermount3", "-u", "--", mountpoint.c_str(), nullptr);
    std::cerr << "stagefs: cannot run fusermount3: " << std::strerror(errno) << "\n";
    _exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  if (lazy || pid <= 0) return 0;
  // The daemon exports what is pending, then exits.
  while (::kill(pid, 0) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return 0;
}

}  // namespace stagefs::app
