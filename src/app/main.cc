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
#include "app/mount_options.h"

int main(int argc, char** argv) {
  using stagefs::app::MountConfig;
  CLI::App app{"stagefs: an S3 bucket as a POSIX file system, staged on local disk"};
  app.require_subcommand(1);

  MountConfig positional;
  auto* mount = app.add_subcommand("mount", "Mount s3://BUCKET[/PREFIX] at MOUNTPOINT");
  mount->add_option("source", positional.source, "s3://BUCKET[/PREFIX]");
  mount->add_option("mountpoint", positional.mountpoint, "Directory to mount on");
  stagefs::app::MountOptionFlags mount_flags;
  mount_flags.Register(mount, stagefs::app::OptionScope::kMount);

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

  // Defaults, then the config file, then every flag given on the command line.
  MountConfig cfg;
  if (auto st = mount_flags.Finish(positional, &cfg); !st.ok()) {
    std::cerr << "stagefs: " << st.message() << "\n";
    return 2;
  }
  if (cfg.source.empty() || cfg.mountpoint.empty()) {
    std::cerr << "stagefs: mount needs s3://BUCKET[/PREFIX] and MOUNTPOINT\n" << mount->help();
    return 2;
  }
  return stagefs::app::RunMount(cfg);
}
