#include "app/mount_config.h"

#include "app/mount_options.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

namespace stagefs::app {
namespace {

Status Bad(const std::string& key, const std::string& why) {
  return Status(ErrorCode::kInvalidArgument, "config key '" + key + "': " + why);
}

// [[import-rule]] tables: prefix, size-less-than, trigger.
Status ParseImportRules(const toml::node& node, MountConfig* cfg) {
  const toml::array* arr = node.as_array();
  if (!arr) return Bad("import-rule", "expected [[import-rule]] tables");
  size_t i = 0;
  for (const auto& item : *arr) {
    std::string name = "import-rule[" + std::to_string(i++) + "]";
    const toml::table* t = item.as_table();
    if (!t) return Bad(name, "expected a table");
    core::ImportRule rule;
    for (auto&& [k, v] : *t) {
      std::string key(k.str());
      if (key == "prefix") {
        auto s = v.value<std::string>();
        if (!s) return Bad(name + ".prefix", "expected a string");
        rule.prefix = *s;
      } else if (key == "size-less-than") {
        auto n = v.value<int64_t>();
        if (!n || *n < 0) return Bad(name + ".size-less-than", "expected a size in bytes");
        rule.size_less_than = static_cast<uint64_t>(*n);
      } else if (key == "trigger") {
        auto s = v.value<std::string>();
        if (!s) return Bad(name + ".trigger", "expected a string");
        auto tr = core::ParseTrigger(*s, "config key '" + name + ".trigger'");
        if (!tr.ok()) return tr.error();
        rule.trigger = *tr;
      } else {
        return Bad(name + "." + key, "unknown key");
      }
    }
    cfg->import_rules.push_back(rule);
  }
  return OkStatus();
}

}  // namespace

Result<uint32_t> ParseOctalMode(const std::string& s, const std::string& key) {
  if (s.empty() || s.size() > 5) return Bad(key, "expected an octal mode like 0644, got '" + s + "'");
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return Bad(key, "expected an octal mode like 0644, got '" + s + "'");
    v = v * 8 + (c - '0');
  }
  if (v > 07777) return Bad(key, "mode out of range: " + s);
  return v;
}

Status ParseS3Uri(const std::string& uri, std::string* bucket, std::string* prefix) {
  const std::string scheme = "s3://";
  if (uri.compare(0, scheme.size(), scheme) != 0)
    return Status(ErrorCode::kInvalidArgument,
                  "source must look like s3://bucket[/prefix], got '" + uri + "'");
  std::string rest = uri.substr(scheme.size());
  size_t slash = rest.find('/');
  *bucket = rest.substr(0, slash);
  *prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (bucket->size() < 3 || bucket->size() > 63)
    return Status(ErrorCode::kInvalidArgument, "bucket name must be 3 to 63 characters: '" +
                                                   *bucket + "'");
  for (char c : *bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-' || c == '.' || c == '_'))
      return Status(ErrorCode::kInvalidArgument, "invalid bucket name '" + *bucket + "'");
  }
  while (!prefix->empty() && prefix->front() == '/') prefix->erase(0, 1);
  if (!prefix->empty() && prefix->back() != '/') *prefix += '/';
  if (prefix->find("//") != std::string::npos)
    return Status(ErrorCode::kInvalidArgument, "prefix has an empty path component: '" + *prefix + "'");
  return OkStatus();
}

std::string DefaultCacheDir(const std::string& bucket, const std::string& prefix) {
  std::string base;
  if (::geteuid() == 0) {
    base = "/var/cache/stagefs";
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    base = std::string(xdg) + "/stagefs";
  } else {
    const char* home = std::getenv("HOME");
    base = std::string(home ? home : "/tmp") + "/.cache/stagefs";
  }
  std::string name = bucket;
  if (!prefix.empty()) {
    std::string p = prefix.substr(0, prefix.size() - 1);
    for (char& c : p)
      if (c == '/') c = '_';
    name += "_" + p;
  }
  return base + "/" + name;
}

namespace {

// A TOML value as the text an option parses (the same text a flag would give).
Result<std::vector<std::string>> TomlValues(const toml::node& node, const OptionSpec& spec,
                                            const std::string& key) {
  auto scalar = [&](const toml::node& n) -> Result<std::string> {
    if (spec.is_flag) {
      if (auto b = n.value_exact<bool>()) return std::string(*b ? "true" : "false");
      return Bad(key, "expected true or false");
    }
    if (auto v = n.value_exact<std::string>()) return *v;
    if (auto v = n.value_exact<int64_t>()) return std::to_string(*v);
    if (auto v = n.value_exact<double>()) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", *v);
      return std::string(buf);
    }
    return Bad(key, "expected a string or a number");
  };
  std::vector<std::string> out;
  if (const toml::array* arr = node.as_array()) {
    if (!spec.repeatable) return Bad(key, "expected a single value, not an array");
    for (const auto& item : *arr) {
      ASSIGN_OR_RETURN(std::string v, scalar(item));
      out.push_back(std::move(v));
    }
    return out;
  }
  ASSIGN_OR_RETURN(std::string v, scalar(node));
  out.push_back(std::move(v));
  return out;
}

const OptionSpec* FindTomlKey(const std::string& section, const std::string& key) {
  for (const auto& s : MountOptionTable())
    if (s.section == section && s.toml_key == key) return &s;
  return nullptr;
}

Status ApplyTomlTable(const toml::table& tbl, const std::string& section,
                      const std::string& path, MountConfig* cfg) {
  for (auto&& [k, node] : tbl) {
    std::string key(k.str());
    std::string shown = section.empty() ? key : section + "." + key;
    if (section.empty() && key == "import-rule") {
      RETURN_IF_ERROR(ParseImportRules(node, cfg));
      continue;
    }
    const OptionSpec* spec = FindTomlKey(section, key);
    if (!spec && section.empty() && node.is_table()) {
      bool known = false;
      for (const auto& s : MountOptionTable()) known |= s.section == key;
      if (known) {
        RETURN_IF_ERROR(ApplyTomlTable(*node.as_table(), key, path, cfg));
        continue;
      }
    }
    if (!spec)
      return Status(ErrorCode::kInvalidArgument,
                    "config file " + path + ": unknown key '" + shown + "'");
    ASSIGN_OR_RETURN(auto values, TomlValues(node, *spec, shown));
    if (spec->repeatable && spec->clear) spec->clear(cfg);
    for (const auto& v : values) {
      Status st = spec->parse(v, cfg);
      if (!st.ok()) return Status(st.code(), "config file " + path + ": " + st.message());
    }
  }
  return OkStatus();
}

}  // namespace

Status LoadTomlConfig(const std::string& path, MountConfig* cfg) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status(ErrorCode::kNotFound, "config file " + path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  return LoadTomlConfigText(text.str(), path, cfg);
}

Status LoadTomlConfigText(const std::string& text, const std::string& path, MountConfig* cfg) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Status(ErrorCode::kInvalidArgument,
                  "config file " + path + ": " + std::string(e.description()) + " at line " +
                      std::to_string(e.source().begin.line));
  }
  return ApplyTomlTable(tbl, "", path, cfg);
}

Result<core::FsOptions> BuildFsOptions(const MountConfig& cfg) {
  core::FsOptions o;
  RETURN_IF_ERROR(ParseS3Uri(cfg.source, &o.bucket, &o.prefix));
  auto trigger = core::ParseTrigger(cfg.import_trigger, "config key 'import-trigger'");
  if (!trigger.ok()) return trigger.error();
  if (cfg.refresh_interval_s <= 0 || cfg.refresh_interval_s > 86400)
    return Bad("refresh-interval", "expected 0 < seconds <= 86400");
  if (cfg.export_delay_s < 0 || cfg.export_delay_s > 86400)
    return Bad("export-delay", "expected 0 <= seconds <= 86400");
  if (cfg.import_size_less_than > (48ULL << 40))
    return Bad("import-size-less-than", "at most 48 TiB");
  o.refresh_interval = std::chrono::nanoseconds(static_cast<int64_t>(cfg.refresh_interval_s * 1e9));
  o.sync.import_rules = cfg.import_rules;
  // The flags (or top-level keys) describe the root rule.
  bool has_root = false;
  for (auto& r : o.sync.import_rules) {
    if (!r.prefix.empty()) continue;
    has_root = true;
    if (cfg.import_flags_given) {
      r.size_less_than = cfg.import_size_less_than;
      r.trigger = *trigger;
    }
  }
  if (!has_root)
    o.sync.import_rules.insert(o.sync.import_rules.begin(),
                               core::ImportRule{"", cfg.import_size_less_than, *trigger});
  if (!cfg.expiration.empty()) {
    auto e = core::ParseExpiration(cfg.expiration);
    if (!e.ok()) return Bad("expiration", e.error().message());
    o.sync.expire_after = *e;
  }
  if (Status st = core::ValidateSyncConfig(o.sync); !st.ok())
    return Status(ErrorCode::kInvalidArgument, "config: " + st.message());
  o.cache_size = cfg.cache_size;
  o.defaults.uid = cfg.uid.value_or(::getuid());
  o.defaults.gid = cfg.gid.value_or(::getgid());
  o.defaults.file_mode = cfg.file_mode;
  o.defaults.dir_mode = cfg.dir_mode;
  o.read_only = cfg.read_only;
  return o;
}

}  // namespace stagefs::app
