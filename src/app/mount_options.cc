#include "app/mount_options.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>

namespace stagefs::app {
namespace {

Status Bad(const std::string& key, const std::string& why) {
  return Status(ErrorCode::kInvalidArgument, "option '" + key + "': " + why);
}

Result<double> ParseSeconds(const std::string& key, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || *end != '\0' || !std::isfinite(v) || v < 0)
    return Bad(key, "expected a non-negative number, got '" + text + "'");
  return v;
}

Result<uint64_t> ParseU64(const std::string& key, const std::string& text, uint64_t max,
                          const char* what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v > max)
    return Bad(key, std::string("expected ") + what + ", got '" + text + "'");
  return v;
}

Result<bool> ParseBool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return Bad(key, "expected true or false, got '" + text + "'");
}

std::string ShowNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// Builders: one line of the table each.
using Field = std::string MountConfig::*;

OptionSpec Str(std::string name, std::string help, Field f) {
  OptionSpec s{.name = name, .help = std::move(help)};
  s.parse = [f](const std::string& t, MountConfig* c) {
    c->*f = t;
    return OkStatus();
  };
  s.show = [f](const MountConfig& c) { return c.*f; };
  return s;
}

OptionSpec Seconds(std::string name, std::string help, double MountConfig::*f) {
  OptionSpec s{.name = name, .help = std::move(help), .type_name = "SECONDS"};
  s.parse = [f, name](const std::string& t, MountConfig* c) -> Status {
    ASSIGN_OR_RETURN(c->*f, ParseSeconds(name, t));
    return OkStatus();
  };
  s.show = [f](const MountConfig& c) { return ShowNumber(c.*f); };
  return s;
}

OptionSpec Bytes(std::string name, std::string help, uint64_t MountConfig::*f) {
  OptionSpec s{.name = name, .help = std::move(help), .type_name = "BYTES"};
  s.parse = [f, name](const std::string& t, MountConfig* c) -> Status {
    ASSIGN_OR_RETURN(c->*f, ParseU64(name, t, UINT64_MAX, "a size in bytes"));
    return OkStatus();
  };
  s.show = [f](const MountConfig& c) { return std::to_string(c.*f); };
  return s;
}

OptionSpec Flag(std::string name, std::string help, bool MountConfig::*f) {
  OptionSpec s{.name = name, .help = std::move(help), .is_flag = true};
  s.parse = [f, name](const std::string& t, MountConfig* c) -> Status {
    ASSIGN_OR_RETURN(c->*f, ParseBool(name, t));
    return OkStatus();
  };
  s.show = [](const MountConfig&) { return std::string(); };
  return s;
}

OptionSpec Id(std::string name, std::string help, std::optional<uint32_t> MountConfig::*f) {
  OptionSpec s{.name = name, .help = std::move(help), .type_name = "ID"};
  s.parse = [f, name](const std::string& t, MountConfig* c) -> Status {
    ASSIGN_OR_RETURN(uint64_t v, ParseU64(name, t, UINT32_MAX, "a uid/gid number"));
    c->*f = static_cast<uint32_t>(v);
    return OkStatus();
  };
  s.show = [](const MountConfig&) { return std::string("the mounting user's"); };
  return s;
}

OptionSpec Mode(std::string name, std::string help, uint32_t MountConfig::*f) {
  OptionSpec s{.name = name, .help = std::move(help), .type_name = "OCTAL"};
  s.parse = [f, name](const std::string& t, MountConfig* c) -> Status {
    ASSIGN_OR_RETURN(c->*f, ParseOctalMode(t, name));
    return OkStatus();
  };
  s.show = [f](const MountConfig& c) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%04o", c.*f);
    return std::string(buf);
  };
  return s;
}

OptionSpec Count(std::string name, std::string help, int MountConfig::*f, int min, int max) {
  OptionSpec s{.name = name, .help = help + " (" + std::to_string(min) + " to " +
                                     std::to_string(max) + ")"};
  s.parse = [=](const std::string& t, MountConfig* c) -> Status {
    std::string range = std::to_string(min) + " to " + std::to_string(max);
    ASSIGN_OR_RETURN(uint64_t n, ParseU64(name, t, static_cast<uint64_t>(max), range.c_str()));
    if (n < static_cast<uint64_t>(min)) return Bad(name, "expected " + range + ", got '" + t + "'");
    c->*f = static_cast<int>(n);
    return OkStatus();
  };
  s.show = [f](const MountConfig& c) { return std::to_string(c.*f); };
  s.type_name = "N";
  return s;
}

// An option that also marks the root import rule as given on the command line
// or at the top level of the file (see MountConfig::import_flags_given).
OptionSpec RootRule(OptionSpec s) {
  auto inner = s.parse;
  s.parse = [inner](const std::string& t, MountConfig* c) {
    c->import_flags_given = true;
    return inner(t, c);
  };
  return s;
}

OptionSpec Positional(OptionSpec s) {
  s.short_name = "";
  s.help = "(positional) " + s.help;
  s.section = "";
  s.toml_key = s.name;
  s.scope = OptionScope::kMount;
  s.is_flag = false;
  s.name = "@" + s.name;  // never a flag; TOML key only
  return s;
}

std::vector<OptionSpec> BuildTable() {
  std::vector<OptionSpec> t;
  t.push_back(Positional(Str("source", "s3://BUCKET[/PREFIX]", &MountConfig::source)));
  t.push_back(Positional(Str("mountpoint", "Directory to mount on", &MountConfig::mountpoint)));
  t.push_back(Str("endpoint-url", "S3 endpoint URL (default: AWS, from the region)",
                  &MountConfig::endpoint_url));
  t.push_back(Str("region", "S3 region (default: environment, profile, us-east-1)",
                  &MountConfig::region));
  t.push_back(Str("profile", "AWS profile for credentials and settings", &MountConfig::profile));
  t.push_back(Str("cache-dir", "Local stage directory (default: per bucket and prefix)",
                  &MountConfig::cache_dir));
  t.push_back(Seconds("export-delay", "Seconds of write inactivity before a file is exported",
                      &MountConfig::export_delay_s));
  t.push_back(Seconds("refresh-interval",
                      "Seconds between S3 revalidations and re-lists; also the kernel's "
                      "attribute timeout",
                      &MountConfig::refresh_interval_s));
  t.push_back(Seconds("unmount-timeout", "Seconds unmount waits for pending exports",
                      &MountConfig::unmount_timeout_s));
  t.push_back(RootRule(Bytes("import-size-less-than",
                             "Copy files smaller than this many bytes into the cache",
                             &MountConfig::import_size_less_than)));
  t.push_back(RootRule(Str("import-trigger", "on-directory-first-access | on-file-access",
                           &MountConfig::import_trigger)));
  t.push_back(Str("expiration", "Evict clean data not read for this long (days, or 90s/2h)",
                  &MountConfig::expiration));
  t.back().show = [](const MountConfig&) { return std::string("30 days"); };
  t.push_back(Bytes("cache-size", "Cache capacity watermark in bytes (0 = none)",
                    &MountConfig::cache_size));
  t.push_back(Str("events-addr", "HOST:PORT accepting S3 event notifications (\"\" = off)",
                  &MountConfig::events_addr));
  t.push_back(Str("events-token", "Shared secret required on event notifications",
                  &MountConfig::events_token));
  t.back().show = [](const MountConfig&) { return std::string(); };
  t.push_back(Str("metrics-addr", "HOST:PORT for /metrics and /status (\"\" = off)",
                  &MountConfig::metrics_addr));
  t.push_back(Id("uid", "Owner of objects without metadata", &MountConfig::uid));
  t.push_back(Id("gid", "Group of objects without metadata", &MountConfig::gid));
  t.push_back(Mode("file-mode", "Mode of files without metadata", &MountConfig::file_mode));
  t.push_back(Mode("dir-mode", "Mode of directories without metadata", &MountConfig::dir_mode));
  t.push_back(Flag("allow-other", "Let other users access the mount", &MountConfig::allow_other));
  t.push_back(Flag("read-only", "Mount read-only", &MountConfig::read_only));
  t.push_back(Flag("foreground", "Stay attached and log to stderr", &MountConfig::foreground));
  t.back().short_name = "f";
  t.push_back(Flag("no-verify-tls", "Do not verify the S3 endpoint's TLS certificate (unsafe)",
                   &MountConfig::no_verify_tls));
  t.push_back(Str("log-level", "trace | debug | info | warn | error | critical | off",
                  &MountConfig::log_level));
  t.back().parse = [](const std::string& v, MountConfig* c) -> Status {
    for (const char* ok : {"trace", "debug", "info", "warn", "error", "critical", "off"})
      if (v == ok) {
        c->log_level = v;
        return OkStatus();
      }
    return Bad("log-level", "expected trace, debug, info, warn, error, critical or off, got '" +
                                v + "'");
  };
  t.push_back(Count("max-in-flight", "Concurrent S3 requests", &MountConfig::max_in_flight, 1,
                    1024));
  for (auto& s : t)
    if (s.toml_key.empty()) s.toml_key = s.name;
  return t;
}

}  // namespace

const std::vector<OptionSpec>& MountOptionTable() {
  static const std::vector<OptionSpec> table = BuildTable();
  return table;
}

const OptionSpec* FindMountOption(const std::string& name) {
  for (const auto& s : MountOptionTable())
    if (s.name == name) return &s;
  return nullptr;
}

Status ApplyMountOption(const std::string& key, const std::string& value, MountConfig* cfg) {
  const OptionSpec* s = FindMountOption(key);
  if (!s) return Status(ErrorCode::kInvalidArgument, "unknown option '" + key + "'");
  return s->parse(s->is_flag && value.empty() ? "true" : value, cfg);
}

void MountOptionFlags::Register(CLI::App* cmd, OptionScope scope) {
  cmd->add_option("--config", config_file_, "TOML file with the same keys as the flags");
  const MountConfig defaults;
  for (const auto& s : MountOptionTable()) {
    if (s.name.front() == '@') continue;  // positional
    if (s.scope == OptionScope::kServe && scope != OptionScope::kServe) continue;
    auto b = std::make_unique<Bound>();
    b->spec = &s;
    std::string names = (s.short_name.empty() ? "" : "-" + s.short_name + ",") + "--" + s.name;
    if (s.is_flag) {
      b->option = cmd->add_flag(names, b->flag, s.help);
    } else {
      b->option = cmd->add_option(names, b->values, s.help);
      if (!s.repeatable) b->option->expected(1);
      b->option->type_name(s.type_name);
      std::string shown = s.show ? s.show(defaults) : "";
      if (!shown.empty()) b->option->default_str(shown);
    }
    bound_.push_back(std::move(b));
  }
}

Status MountOptionFlags::Finish(const MountConfig& positional, MountConfig* out) const {
  MountConfig cfg;
  if (!config_file_.empty()) RETURN_IF_ERROR(LoadTomlConfig(config_file_, &cfg));
  if (!positional.source.empty()) cfg.source = positional.source;
  if (!positional.mountpoint.empty()) cfg.mountpoint = positional.mountpoint;
  for (const auto& b : bound_) {
    if (b->option->count() == 0) continue;
    const OptionSpec& s = *b->spec;
    if (s.is_flag) {
      RETURN_IF_ERROR(s.parse(b->flag ? "true" : "false", &cfg));
      continue;
    }
    if (s.repeatable && s.clear) s.clear(&cfg);
    for (const auto& v : b->values) RETURN_IF_ERROR(s.parse(v, &cfg));
  }
  *out = std::move(cfg);
  return OkStatus();
}

}  // namespace stagefs::app
