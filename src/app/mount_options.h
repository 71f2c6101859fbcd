// MountOptions: every setting of `stagefs mount` (and of the commands that
// mount, such as `serve`) defined once, in one table: name, help, default,
// parser and the MountConfig field it sets. The table generates
//   * the command-line flags (`--export-delay 30`), with their defaults in --help;
//   * the TOML keys (`export-delay = 30`, or `addr = ...` inside `[nfs]` for an
//     option whose section is "nfs");
//   * `key=value` pairs as mount(8) passes them after `-o`;
//   * the merge: defaults, then the config file, then flags (flags win; a
//     repeatable option given as a flag replaces the file's list).
// Values are parsed from text in one place per option, so a TOML value, a flag
// and an `-o` pair go through the same checks; errors name the key.
// Structured TOML keys that are not options (`[[import-rule]]`) are parsed by
// LoadTomlConfig (mount_config.h). Not thread-safe; used once at start-up.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/mount_config.h"
#include "base/status.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace stagefs::app {

// Which commands take an option.
enum class OptionScope {
  kMount,  // every command that mounts (mount, serve)
  kServe,  // serve only (the NFS side)
};

struct OptionSpec {
  std::string name;     // flag and key: "export-delay" -> --export-delay
  std::string section;  // TOML table holding it ("" = top level); see toml_key
  std::string toml_key;  // key inside `section` (defaults to name)
  std::string help;
  OptionScope scope = OptionScope::kMount;
  bool is_flag = false;     // a boolean switch: `--read-only`, `read-only = true`
  bool repeatable = false;  // may be given several times (TOML: an array of strings)
  std::string short_name;   // e.g. "f" for -f ("" = none)
  std::string type_name = "TEXT";  // shown in --help: SECONDS, BYTES, ...
  // Sets the field from text ("true"/"false" for flags); the message names the key.
  std::function<Status(const std::string& text, MountConfig* cfg)> parse;
  // The value as text, for --help ("" = no default shown).
  std::function<std::string(const MountConfig& cfg)> show;
  // Repeatable options: empties the list before a source sets it.
  std::function<void(MountConfig* cfg)> clear;
};

// Every option, in the order --help shows them.
const std::vector<OptionSpec>& MountOptionTable();

// The option with this flag name (without dashes), or null.
const OptionSpec* FindMountOption(const std::string& name);

// Applies `key=value` (or a bare `key` for a flag) to `cfg`, as given after
// mount(8)'s -o or on the command line.
Status ApplyMountOption(const std::string& key, const std::string& value, MountConfig* cfg);

// The flags of a command, registered on a CLI11 (sub)command. After parsing,
// Finish() builds the configuration: defaults, then the TOML file named by
// --config (if any), then the flags given.
class MountOptionFlags {
 public:
  MountOptionFlags() = default;
  MountOptionFlags(const MountOptionFlags&) = delete;
  MountOptionFlags& operator=(const MountOptionFlags&) = delete;

  // Adds --config and every option of `scope` (kServe adds kMount's too).
  void Register(CLI::App* cmd, OptionScope scope);
  // `positional` holds what the command's positional arguments set (source,
  // mountpoint); they win over the file as flags do.
  Status Finish(const MountConfig& positional, MountConfig* out) const;

 private:
  struct Bound {
    const OptionSpec* spec;
    CLI::Option* option;
    std::vector<std::string> values;
    bool flag = false;
  };
  std::string config_file_;
  std::vector<std::unique_ptr<Bound>> bound_;
};

}  // namespace stagefs::app
