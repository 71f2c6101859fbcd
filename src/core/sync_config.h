// SyncConfig: the synchronization configuration of a mount, shaped like AWS S3
// Files' PutSynchronizationConfiguration: import rules (which files are copied
// into the stage, and when) and an expiration rule (when clean data leaves it).
// It carries a version number for optimistic concurrency: a change names the
// version it was based on and is refused if another change came first.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace stagefs::core {

enum class ImportTrigger { kOnDirectoryFirstAccess, kOnFileAccess };

struct ImportRule {
  std::string prefix;               // relative to the mount root; "" = the root rule
  uint64_t size_less_than = 131072;  // 0 = metadata only
  ImportTrigger trigger = ImportTrigger::kOnDirectoryFirstAccess;
};

struct SyncConfig {
  int64_t version = 1;
  std::vector<ImportRule> import_rules{ImportRule{}};
  // Clean data not read for this long is evicted (1 to 365 days; shorter
  // durations are accepted for tests).
  std::chrono::seconds expire_after = std::chrono::hours(24 * 30);
};

inline constexpr uint64_t kMaxImportSize = 48ULL << 40;  // 48 TiB

// Checks the AWS rules: 1 to 10 import rules, exactly one for the root prefix,
// no duplicate prefixes, sizes within 0..48 TiB, expiration 1 s .. 365 days.
// Messages name the rule and the field: "importRules[2].sizeLessThan: ...".
Status ValidateSyncConfig(const SyncConfig& config);

// The rule with the longest prefix matching `rel_path` (a file's path relative
// to the mount root, without a leading '/').
const ImportRule& MatchImportRule(const SyncConfig& config, const std::string& rel_path);

// JSON form used by `stagefs config get/put`:
// {"version":1,"importRules":[{"prefix":"","sizeLessThan":131072,
//  "trigger":"on-directory-first-access"}],"expiration":{"daysAfterLastAccess":30}}
// daysAfterLastAccess may also be a duration string such as "90s" or "2h".
std::string SyncConfigToJson(const SyncConfig& config);
Result<SyncConfig> SyncConfigFromJson(const std::string& json);

// "90s", "15m", "2h", "30d", or a plain number of days.
Result<std::chrono::seconds> ParseExpiration(const std::string& text);
const char* TriggerName(ImportTrigger t);
Result<ImportTrigger> ParseTrigger(const std::string& text, const std::string& field);

}  // namespace stagefs::core
