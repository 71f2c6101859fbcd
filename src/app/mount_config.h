// MountConfig: every setting of `stagefs mount`, from the TOML config file and
// the command line (flags win), validated once with messages that name the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/fs_options.h"

namespace stagefs::app {

struct MountConfig {
  std::string source;      // s3://bucket[/prefix]
  std::string mountpoint;
  std::string endpoint_url;
  std::string region;
  std::string profile;
  std::string cache_dir;
  double export_delay_s = 60;
  double refresh_interval_s = 30;
  uint64_t import_size_less_than = 131072;
  std::string import_trigger = "on-directory-first-access";
  bool import_flags_given = false;  // --import-* or top-level keys set the root rule
  std::vector<core::ImportRule> import_rules;  // [[import-rule]] tables
  std::string expiration;   // "30" (days) or "90s"; "" = default 30 days
  uint64_t cache_size = 0;  // bytes; 0 = no watermark
  std::string events_addr;   // HOST:PORT for S3 event notifications; "" = off
  std::string events_token;  // shared secret the sender must present
  std::string metrics_addr;  // HOST:PORT, empty = off
  std::optional<uint32_t> uid, gid;
  uint32_t file_mode = 0644;
  uint32_t dir_mode = 0755;
  bool allow_other = false;
  bool read_only = false;
  bool foreground = false;
  bool no_verify_tls = false;
  std::string log_level = "info";
  int max_in_flight = 64;
  double unmount_timeout_s = 300;  // how long unmount waits for pending exports
};

// Reads a TOML file into `cfg`. Unknown keys and bad values are errors that name
// the key. Only keys present in the file are changed.
Status LoadTomlConfig(const std::string& path, MountConfig* cfg);
// The same for the file's text (`path` names it in messages).
Status LoadTomlConfigText(const std::string& text, const std::string& path, MountConfig* cfg);

// Parses "s3://bucket[/prefix]" into bucket and prefix ("" or ending in '/').
Status ParseS3Uri(const std::string& uri, std::string* bucket, std::string* prefix);

// Parses an octal mode string such as "0644".
Result<uint32_t> ParseOctalMode(const std::string& s, const std::string& key);

// The default cache directory for a bucket and prefix:
// $XDG_CACHE_HOME/stagefs/<bucket>[_<prefix>] (or ~/.cache/...), /var/cache/stagefs/... for root.
std::string DefaultCacheDir(const std::string& bucket, const std::string& prefix);

// Validates the whole configuration and builds the core options.
Result<core::FsOptions> BuildFsOptions(const MountConfig& cfg);

}  // namespace stagefs::app
