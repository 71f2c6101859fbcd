// stagefs command line: mount, umount, status.
#include <sys/xattr.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "app/control_commands.h"
#include "app/mount_command.h"
#include "app/mount_config.h"

int main(int argc, char** argv) {
  using stagefs::app::MountConfig;
  CLI::App app{"stagefs: an S3 bucket as a POSIX file system, staged on local disk"};
  app.require_subcommand(1);

  MountConfig cfg;
  std::string config_file, file_mode, dir_mode;
  auto* mount = app.add_subcommand("mount", "Mount s3://BUCKET[/PREFIX] at MOUNTPOINT");
  mount->add_option("source", cfg.source, "s3://BUCKET[/PREFIX]");
  mount->add_option("mountpoint", cfg.mountpoint, "Directory to mount on");
  mount->add_option("--config", config_file, "TOML file with the same keys as the flags");
  auto* o_endpoint = mount->add_option("--endpoint-url", cfg.endpoint_url, "S3 endpoint URL");
  auto* o_region = mount->add_option("--region", cfg.region, "S3 region");
  auto* o_profile = mount->add_option("--profile", cfg.profile, "AWS profile for credentials");
  auto* o_cache = mount->add_option("--cache-dir", cfg.cache_dir, "Local stage directory");
  auto* o_export = mount->add_option("--export-delay", cfg.export_delay_s,
                                     "Seconds of write inactivity before export (default 60)");
  auto* o_refresh = mount->add_option("--refresh-interval", cfg.refresh_interval_s,
                                      "Seconds between S3 revalidations (default 30)");
  auto* o_import = mount->add_option("--import-size-less-than", cfg.import_size_less_than,
                                     "Import files smaller than this many bytes (default 131072)");
  auto* o_trigger = mount->add_option("--import-trigger", cfg.import_trigger,
                                      "on-directory-first-access | on-file-access");
  auto* o_expire = mount->add_option("--expiration", cfg.expiration,
                                     "Evict clean data not read for this long (days, or 90s/2h)");
  auto* o_csize = mount->add_option("--cache-size", cfg.cache_size,
                                    "Cache capacity watermark in bytes (0 = none)");
  auto* o_events = mount->add_option("--events-addr", cfg.events_addr,
                                     "HOST:PORT accepting S3 event notifications");
  auto* o_etoken = mount->add_option("--events-token", cfg.events_token,
                                     "Shared secret required on event notifications");
  auto* o_metrics = mount->add_option("--metrics-addr", cfg.metrics_addr,
                                      "HOST:PORT for /metrics and /status");
  std::optional<uint32_t> uid, gid;
  auto* o_uid = mount->add_option("--uid", uid, "Owner of objects without metadata");
  auto* o_gid = mount->add_option("--gid", gid, "Group of objects without metadata");
  auto* o_fmode = mount->add_option("--file-mode", file_mode, "Mode of files without metadata");
  auto* o_dmode = mount->add_option("--dir-mode", dir_mode, "Mode of dirs without metadata");
  auto* o_other = mount->add_flag("--allow-other", cfg.allow_other, "Let other users access");
  auto* o_ro = mount->add_flag("--read-only", cfg.read_only, "Mount read-only");
  auto* o_fg = mount->add_flag("--foreground,-f", cfg.foreground, "Stay attached, log to stderr");
  auto* o_tls = mount->add_flag("--no-verify-tls", cfg.no_verify_tls,
                                "Do not verify the S3 endpoint's TLS certificate (unsafe)");
  auto* o_log = mount->add_option("--log-level", cfg.log_level, "trace|debug|info|warn|error");

  std::string target, sync_path;
  bool lazy = false;
  auto* umount = app.add_subcommand("umount", "Unmount (waits for pending exports unless --lazy)");
  umount->add_option("mountpoint", target)->required();
  umount->add_flag("--lazy", lazy, "Return at once; pending exports go on in the background");
  auto* status = app.add_subcommand("status", "Show the state of a mount");
  status->add_option("mountpoint", target)->required();
  auto* sync = app.add_subcommand("sync", "Export pending changes now and wait");
  sync->add_option("mountpoint", target)->required();
  sync->add_option("path", sync_path, "File or directory inside the mount (default: all)");

  auto* config = app.add_subcommand("config", "Show or change the synchronization configuration");
  config->require_subcommand(1);
  auto* config_get = config->add_subcommand("get", "Print the configuration (JSON)");
  config_get->add_option("mountpoint", target)->required();
  std::string config_put_file;
  int64_t config_version = 0;
  auto* config_put = config->add_subcommand("put", "Replace the configuration");
  config_put->add_option("mountpoint", target)->required();
  config_put->add_option("file", config_put_file, "JSON file")->required();
  config_put->add_option("--version", config_version, "Version the change is based on")->required();

  CLI11_PARSE(app, argc, argv);

  if (*config_get) return stagefs::app::ConfigGet(target);
  if (*config_put) return stagefs::app::ConfigPut(target, config_put_file, config_version);

  if (*umount) return stagefs::app::Unmount(target, lazy);
  if (*status) return stagefs::app::PrintStatus(target);
  if (*sync) return stagefs::app::SyncPath(sync_path.empty() ? target : sync_path, target);

  // Config file first, then every flag given on the command line on top.
  MountConfig flags = cfg;
  if (!config_file.empty()) {
    MountConfig from_file;
    if (auto st = stagefs::app::LoadTomlConfig(config_file, &from_file); !st.ok()) {
      std::cerr << "stagefs: " << st.message() << "\n";
      return 2;
    }
    MountConfig merged = from_file;
    if (!flags.source.empty()) merged.source = flags.source;
    if (!flags.mountpoint.empty()) merged.mountpoint = flags.mountpoint;
    if (o_endpoint->count()) merged.endpoint_url = flags.endpoint_url;
    if (o_region->count()) merged.region = flags.region;
    if (o_profile->count()) merged.profile = flags.profile;
    if (o_cache->count()) merged.cache_dir = flags.cache_dir;
    if (o_export->count()) merged.export_delay_s = flags.export_delay_s;
    if (o_refresh->count()) merged.refresh_interval_s = flags.refresh_interval_s;
    if (o_import->count()) merged.import_size_less_than = flags.import_size_less_than;
    if (o_trigger->count()) merged.import_trigger = flags.import_trigger;
    if (o_expire->count()) merged.expiration = flags.expiration;
    if (o_csize->count()) merged.cache_size = flags.cache_size;
    if (o_events->count()) merged.events_addr = flags.events_addr;
    if (o_etoken->count()) merged.events_token = flags.events_token;
    if (o_metrics->count()) merged.metrics_addr = flags.metrics_addr;
    if (o_other->count()) merged.allow_other = true;
    if (o_ro->count()) merged.read_only = true;
    if (o_fg->count()) merged.foreground = true;
    if (o_tls->count()) merged.no_verify_tls = true;
    if (o_log->count()) merged.log_level = flags.log_level;
    cfg = merged;
  }
  if (o_import->count() || o_trigger->count()) cfg.import_flags_given = true;
  if (o_uid->count()) cfg.uid = uid;
  if (o_gid->count()) cfg.gid = gid;
  for (auto [opt, text, out, key] :
       {std::tuple{o_fmode, &file_mode, &cfg.file_mode, "file-mode"},
        std::tuple{o_dmode, &dir_mode, &cfg.dir_mode, "dir-mode"}}) {
    if (!opt->count()) continue;
    auto m = stagefs::app::ParseOctalMode(*text, key);
    if (!m.ok()) {
      std::cerr << "stagefs: " << m.error().message() << "\n";
      return 2;
    }
    *out = *m;
  }
  if (cfg.source.empty() || cfg.mountpoint.empty()) {
    std::cerr << "stagefs: mount needs s3://BUCKET[/PREFIX] and MOUNTPOINT\n" << mount->help();
    return 2;
  }
  return stagefs::app::RunMount(cfg);
}
