#include "core/object_format.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdlib>
#include <ctime>

namespace stagefs::core {
namespace {

std::optional<uint64_t> ParseUint(std::string_view s, int base = 10) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

const std::string* Find(const s3::UserMetadata& md, const char* name) {
  auto it = md.find(name);
  return it == md.end() ? nullptr : &it->second;
}

// Times are int64 nanoseconds (years 1678..2262): values beyond are ignored.
constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000'000 - 1;

// "1700000000123456789ns" (AWS), or plain seconds with optional fraction
// (s3fs, rclone "1700000000.123456789"), or RFC 3339 (rclone).
std::optional<int64_t> ParseTime(std::string_view s) {
  if (s.size() > 2 && s.substr(s.size() - 2) == "ns") {
    auto v = ParseUint(s.substr(0, s.size() - 2));
    if (v && *v <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(*v);
    return std::nullopt;
  }
  if (s.find('T') != std::string_view::npos) {
    std::tm tm{};
    std::string str(s);
    const char* end = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end) return std::nullopt;
    int64_t secs = timegm(&tm);
    int64_t nanos = 0;
    if (*end == '.') {
      ++end;
      int digits = 0;
      while (*end >= '0' && *end <= '9') {
        if (digits < 9) nanos = nanos * 10 + (*end - '0'), ++digits;
        ++end;
      }
      while (digits++ < 9) nanos *= 10;
    }
    int sign = 0, oh = 0, om = 0;
    if (*end == '+' || *end == '-') {
      sign = *end == '+' ? 1 : -1;
      if (std::sscanf(end + 1, "%d:%d", &oh, &om) < 1) return std::nullopt;
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;  // (fuzz_names)
    }
    secs -= sign * (oh * 3600 + om * 60);
    if (secs > kMaxSeconds || secs < -kMaxSeconds) return std::nullopt;
    return secs * 1'000'000'000 + nanos;
  }
  size_t dot = s.find('.');
  auto whole = ParseUint(s.substr(0, dot));
  if (!whole) return std::nullopt;
  int64_t nanos = 0;
  if (dot != std::string_view::npos) {
    std::string_view frac = s.substr(dot + 1);
    int digits = 0;
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      if (digits < 9) nanos = nanos * 10 + (c - '0'), ++digits;
    }
    while (digits++ < 9) nanos *= 10;
  }
  if (*whole > static_cast<uint64_t>(kMaxSeconds)) return std::nullopt;
  return static_cast<int64_t>(*whole) * 1'000'000'000 + nanos;
}

}  // namespace

PosixAttrs DecodePosixAttrs(const s3::UserMetadata& md, bool is_dir_marker,
                            int64_t last_modified_ns, const PosixDefaults& defaults) {
  PosixAttrs a;
  uint32_t type = is_dir_marker ? S_IFDIR : S_IFREG;
  a.mode = type | (is_dir_marker ? defaults.dir_mode : defaults.file_mode);
  a.uid = defaults.uid;
  a.gid = defaults.gid;
  a.mtime_ns = last_modified_ns;

  auto take_mode = [&](const std::string* v, int base) {
    if (!v) return false;
    auto m = ParseUint(*v, base);
    if (!m || *m > 0177777) return false;
    uint32_t mode = static_cast<uint32_t>(*m);
    uint32_t t = mode & S_IFMT;
    if (t == 0) t = type;  // permission bits only
    bool dir_ok = is_dir_marker ? t == S_IFDIR
                                : (t == S_IFREG || t == S_IFLNK || t == S_IFIFO ||
                                   t == S_IFSOCK || t == S_IFCHR || t == S_IFBLK);
    if (!dir_ok) return false;
    a.mode = t | (mode & 07777);
    return true;
  };
  if (!take_mode(Find(md, "file-permissions"), 8)) take_mode(Find(md, "mode"), 10);

  auto take_id = [](const std::string* v, uint32_t* out) {
    if (!v) return false;
    auto id = ParseUint(*v);
    if (!id || *id > UINT32_MAX) return false;
    *out = static_cast<uint32_t>(*id);
    return true;
  };
  if (!take_id(Find(md, "file-owner"), &a.uid)) take_id(Find(md, "uid"), &a.uid);
  if (!take_id(Find(md, "file-group"), &a.gid)) take_id(Find(md, "gid"), &a.gid);

  for (const char* name : {"file-mtime", "mtime"}) {
    if (const std::string* v = Find(md, name)) {
      if (auto t = ParseTime(*v)) {
        a.mtime_ns = *t;
        break;
      }
    }
  }
  a.atime_ns = a.mtime_ns;
  if (const std::string* v = Find(md, "file-rdev"))
    if (auto r = ParseUint(*v)) a.rdev = *r;
  if (const std::string* v = Find(md, "file-atime"))
    if (auto t = ParseTime(*v)) a.atime_ns = *t;
  return a;
}

s3::UserMetadata EncodePosixAttrs(const PosixAttrs& attrs) {
  char mode[16];
  std::snprintf(mode, sizeof(mode), "%07o", attrs.mode);
  s3::UserMetadata md = {
      {"file-owner", std::to_string(attrs.uid)},
      {"file-group", std::to_string(attrs.gid)},
      {"file-permissions", mode},
      {"file-mtime", std::to_string(attrs.mtime_ns) + "ns"},
      {"file-atime", std::to_string(attrs.atime_ns) + "ns"},
  };
  if (S_ISCHR(attrs.mode) || S_ISBLK(attrs.mode)) md["file-rdev"] = std::to_string(attrs.rdev);
  return md;
}

size_t UserMetadataSize(const s3::UserMetadata& md) {
  size_t n = 0;
  for (const auto& [k, v] : md) n += k.size() + v.size();
  return n;
}

std::optional<std::string> InvalidNameReason(std::string_view name) {
  if (name.empty()) return "empty path component";
  if (name == "." || name == "..") return "'.' or '..' path component";
  if (name.find('\0') != std::string_view::npos) return "NUL byte in name";
  if (name.size() > 255) return "path component longer than 255 bytes";
  return std::nullopt;
}

}  // namespace stagefs::core
