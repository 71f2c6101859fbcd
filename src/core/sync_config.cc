#include "core/sync_config.h"

#include <nlohmann/json.hpp>
#include <set>

namespace stagefs::core {

const char* TriggerName(ImportTrigger t) {
  return t == ImportTrigger::kOnFileAccess ? "on-file-access" : "on-directory-first-access";
}

Result<ImportTrigger> ParseTrigger(const std::string& text, const std::string& field) {
  if (text == "on-directory-first-access" || text == "ON_DIRECTORY_FIRST_ACCESS")
    return ImportTrigger::kOnDirectoryFirstAccess;
  if (text == "on-file-access" || text == "ON_FILE_ACCESS") return ImportTrigger::kOnFileAccess;
  return Status(ErrorCode::kInvalidArgument,
                field + ": expected on-directory-first-access or on-file-access, got '" + text + "'");
}

Result<std::chrono::seconds> ParseExpiration(const std::string& text) {
  if (text.empty()) return Status(ErrorCode::kInvalidArgument, "empty duration");
  size_t pos = 0;
  uint64_t n = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    n = n * 10 + (text[pos++] - '0');
    if (n > 1'000'000'000) return Status(ErrorCode::kInvalidArgument, "duration too large");
  }
  if (pos == 0) return Status(ErrorCode::kInvalidArgument, "expected a number, got '" + text + "'");
  std::string unit = text.substr(pos);
  int64_t mult;
  if (unit == "s") mult = 1;
  else if (unit == "m") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d" || unit.empty()) mult = 86400;
  else return Status(ErrorCode::kInvalidArgument, "unknown duration unit '" + unit + "'");
  return std::chrono::seconds(static_cast<int64_t>(n) * mult);
}

Status ValidateSyncConfig(const SyncConfig& c) {
  auto bad = [](const std::string& field, const std::string& why) {
    return Status(ErrorCode::kInvalidArgument, field + ": " + why);
  };
  if (c.import_rules.empty() || c.import_rules.size() > 10)
    return bad("importRules", "need 1 to 10 rules, got " + std::to_string(c.import_rules.size()));
  int roots = 0;
  std::set<std::string> seen;
  for (size_t i = 0; i < c.import_rules.size(); ++i) {
    const ImportRule& r = c.import_rules[i];
    std::string f = "importRules[" + std::to_string(i) + "]";
    if (r.prefix.empty()) ++roots;
    if (!r.prefix.empty() && r.prefix.front() == '/') return bad(f + ".prefix", "must not start with '/'");
    if (r.prefix.find("//") != std::string::npos) return bad(f + ".prefix", "empty path component");
    if (r.prefix.size() > 1024) return bad(f + ".prefix", "longer than 1024 bytes");
    if (!seen.insert(r.prefix).second) return bad(f + ".prefix", "duplicate prefix '" + r.prefix + "'");
    if (r.size_less_than > kMaxImportSize) return bad(f + ".sizeLessThan", "at most 48 TiB");
  }
  if (roots != 1)
    return bad("importRules", "exactly one rule must have the root prefix \"\", found " +
                                  std::to_string(roots));
  if (c.expire_after.count() < 1 || c.expire_after > std::chrono::hours(24 * 365))
    return bad("expiration.daysAfterLastAccess", "must be between 1 second and 365 days");
  return OkStatus();
}

const ImportRule& MatchImportRule(const SyncConfig& c, const std::string& rel_path) {
  const ImportRule* best = nullptr;
  for (const auto& r : c.import_rules) {
    if (rel_path.compare(0, r.prefix.size(), r.prefix) != 0) continue;
    if (!best || r.prefix.size() > best->prefix.size()) best = &r;
  }
  return best ? *best : c.import_rules.front();
}

std::string SyncConfigToJson(const SyncConfig& c) {
  nlohmann::json j;
  j["version"] = c.version;
  j["importRules"] = nlohmann::json::array();
  for (const auto& r : c.import_rules)
    j["importRules"].push_back(
        {{"prefix", r.prefix}, {"sizeLessThan", r.size_less_than}, {"trigger", TriggerName(r.trigger)}});
  int64_t secs = c.expire_after.count();
  if (secs % 86400 == 0) j["expiration"]["daysAfterLastAccess"] = secs / 86400;
  else j["expiration"]["daysAfterLastAccess"] = std::to_string(secs) + "s";
  return j.dump(2);
}

Result<SyncConfig> SyncConfigFromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status(ErrorCode::kInvalidArgument, "configuration is not a JSON object");
  SyncConfig c;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "version" && it.key() != "importRules" && it.key() != "expiration")
      return Status(ErrorCode::kInvalidArgument, "unknown field '" + it.key() + "'");
  if (j.contains("version")) {
    if (!j["version"].is_number_integer()) return Status(ErrorCode::kInvalidArgument, "version: expected an integer");
    c.version = j["version"].get<int64_t>();
  }
  if (j.contains("importRules")) {
    if (!j["importRules"].is_array()) return Status(ErrorCode::kInvalidArgument, "importRules: expected a list");
    c.import_rules.clear();
    size_t i = 0;
    for (const auto& r : j["importRules"]) {
      std::string f = "importRules[" + std::to_string(i++) + "]";
      if (!r.is_object()) return Status(ErrorCode::kInvalidArgument, f + ": expected an object");
      ImportRule rule;
      for (auto it = r.begin(); it != r.end(); ++it)
        if (it.key() != "prefix" && it.key() != "sizeLessThan" && it.key() != "trigger")
          return Status(ErrorCode::kInvalidArgument, f + ": unknown field '" + it.key() + "'");
      if (r.contains("prefix")) {
        if (!r["prefix"].is_string()) return Status(ErrorCode::kInvalidArgument, f + ".prefix: expected a string");
        rule.prefix = r["prefix"].get<std::string>();
      }
      if (r.contains("sizeLessThan")) {
        if (!r["sizeLessThan"].is_number_unsigned())
          return Status(ErrorCode::kInvalidArgument, f + ".sizeLessThan: expected a non-negative integer");
        rule.size_less_than = r["sizeLessThan"].get<uint64_t>();
      }
      if (r.contains("trigger")) {
        if (!r["trigger"].is_string()) return Status(ErrorCode::kInvalidArgument, f + ".trigger: expected a string");
        ASSIGN_OR_RETURN(rule.trigger, ParseTrigger(r["trigger"].get<std::string>(), f + ".trigger"));
      }
      c.import_rules.push_back(rule);
    }
  }
  if (j.contains("expiration")) {
    const auto& e = j["expiration"];
    if (!e.is_object() || !e.contains("daysAfterLastAccess"))
      return Status(ErrorCode::kInvalidArgument, "expiration.daysAfterLastAccess: missing");
    const auto& d = e["daysAfterLastAccess"];
    if (d.is_number_integer()) {
      int64_t days = d.get<int64_t>();
      if (days < 1 || days > 365)
        return Status(ErrorCode::kInvalidArgument, "expiration.daysAfterLastAccess: must be 1 to 365");
      c.expire_after = std::chrono::hours(24 * days);
    } else if (d.is_string()) {
      auto dur = ParseExpiration(d.get<std::string>());
      if (!dur.ok()) return dur.error().Annotate("expiration.daysAfterLastAccess");
      c.expire_after = *dur;
    } else {
      return Status(ErrorCode::kInvalidArgument, "expiration.daysAfterLastAccess: expected days or a duration");
    }
  }
  RETURN_IF_ERROR(ValidateSyncConfig(c));
  return c;
}

}  // namespace stagefs::core
