// The mount option table: flags, TOML keys and the merge come from one definition.
#include "app/mount_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <set>

namespace stagefs::app {
namespace {

std::string WriteToml(const std::string& text) {
  char path[] = "/tmp/stagefs-opts-XXXXXX.toml";
  int fd = ::mkstemps(path, 5);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << text;
  return path;
}

// Parses `args` as `stagefs mount ...` and builds the configuration.
Result<MountConfig> Parse(std::vector<std::string> args) {
  CLI::App app;
  MountConfig positional;
  auto* mount = app.add_subcommand("mount");
  mount->add_option("source", positional.source);
  mount->add_option("mountpoint", positional.mountpoint);
  MountOptionFlags flags;
  flags.Register(mount, OptionScope::kMount);
  args.insert(args.begin(), {"stagefs", "mount"});
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return Status(ErrorCode::kInvalidArgument, e.what());
  }
  MountConfig cfg;
  RETURN_IF_ERROR(flags.Finish(positional, &cfg));
  return cfg;
}

TEST(MountOptions, EveryOptionIsAFlagAndATomlKey) {
  std::set<std::string> names;
  for (const auto& s : MountOptionTable()) {
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate " << s.name;
    EXPECT_FALSE(s.help.empty()) << s.name;
    EXPECT_TRUE(s.parse) << s.name;
    EXPECT_FALSE(s.toml_key.empty()) << s.name;
  }
  // Options that used to exist in TOML only are flags too.
  for (const char* n : {"unmount-timeout", "max-in-flight", "export-delay", "log-level"})
    EXPECT_NE(FindMountOption(n), nullptr) << n;
}

TEST(MountOptions, FlagsWinOverTheFileWhichWinsOverDefaults) {
  std::string toml = WriteToml(
      "source = \"s3://from-file\"\nexport-delay = 5\nrefresh-interval = 7\n"
      "unmount-timeout = 9\nmax-in-flight = 8\nread-only = true\n");
  auto cfg = Parse({"s3://bucket-x/p", "/mnt/x", "--config", toml, "--export-delay", "1.5",
                    "--max-in-flight", "16"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  EXPECT_EQ(cfg->source, "s3://bucket-x/p");
  EXPECT_EQ(cfg->mountpoint, "/mnt/x");
  EXPECT_DOUBLE_EQ(cfg->export_delay_s, 1.5);
  EXPECT_DOUBLE_EQ(cfg->refresh_interval_s, 7);
  EXPECT_DOUBLE_EQ(cfg->unmount_timeout_s, 9);
  EXPECT_EQ(cfg->max_in_flight, 16);
  EXPECT_TRUE(cfg->read_only);
  EXPECT_DOUBLE_EQ(cfg->export_delay_s, 1.5);
  std::remove(toml.c_str());
}

TEST(MountOptions, DefaultsWithoutFileOrFlags) {
  auto cfg = Parse({"s3://bucket-x", "/mnt/x"});
  ASSERT_TRUE(cfg.ok());
  MountConfig d;
  EXPECT_DOUBLE_EQ(cfg->export_delay_s, d.export_delay_s);
  EXPECT_EQ(cfg->log_level, "info");
  EXPECT_FALSE(cfg->import_flags_given);
}

TEST(MountOptions, BadValuesNameTheKey) {
  for (auto [args, key] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--export-delay", "soon"}, "export-delay"},
           {{"--max-in-flight", "0"}, "max-in-flight"},
           {{"--max-in-flight", "5000"}, "max-in-flight"},
           {{"--file-mode", "0999"}, "file-mode"},
           {{"--uid", "-1"}, "uid"},
           {{"--log-level", "verbose"}, "log-level"},
           {{"--cache-size", "1G"}, "cache-size"}}) {
    args.insert(args.begin(), {"s3://bucket-x", "/mnt/x"});
    auto cfg = Parse(args);
    ASSERT_FALSE(cfg.ok()) << key;
    EXPECT_NE(cfg.error().message().find(key), std::string::npos) << cfg.error().message();
  }
}

TEST(MountOptions, TomlTypesAndUnknownKeys) {
  MountConfig cfg;
  std::string bad_key = WriteToml("refresh-intervall = 5\n");
  Status st = LoadTomlConfig(bad_key, &cfg);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("refresh-intervall"), std::string::npos);
  std::string bad_type = WriteToml("read-only = \"yes\"\n");
  st = LoadTomlConfig(bad_type, &cfg);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("read-only"), std::string::npos);
  std::string arr = WriteToml("export-delay = [1, 2]\n");
  st = LoadTomlConfig(arr, &cfg);
  EXPECT_FALSE(st.ok());
  std::string ok = WriteToml("import-size-less-than = 0\nexpiration = 3\nuid = 1000\n"
                             "file-mode = \"0600\"\n");
  ASSERT_TRUE(LoadTomlConfig(ok, &cfg).ok());
  EXPECT_EQ(cfg.import_size_less_than, 0u);
  EXPECT_TRUE(cfg.import_flags_given);
  EXPECT_EQ(cfg.expiration, "3");
  EXPECT_EQ(cfg.uid, 1000u);
  EXPECT_EQ(cfg.file_mode, 0600u);
  for (auto& p : {bad_key, bad_type, arr, ok}) std::remove(p.c_str());
}

TEST(MountOptions, KeyValuePairsAsMountPassesThem) {
  MountConfig cfg;
  ASSERT_TRUE(ApplyMountOption("export-delay", "30", &cfg).ok());
  ASSERT_TRUE(ApplyMountOption("allow-other", "", &cfg).ok());
  EXPECT_DOUBLE_EQ(cfg.export_delay_s, 30);
  EXPECT_TRUE(cfg.allow_other);
  EXPECT_FALSE(ApplyMountOption("no-such-option", "1", &cfg).ok());
}

}  // namespace
}  // namespace stagefs::app
