// libFuzzer target: the TOML mount configuration (through the option table)
// and the AWS shared config/credentials files take any bytes; a config that
// loads is then validated without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/mount_config.h"
#include "s3/http/credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  stagefs::app::MountConfig cfg;
  if (stagefs::app::LoadTomlConfigText(text, "fuzz.toml", &cfg).ok()) {
    if (cfg.source.empty()) cfg.source = "s3://bucket";
    (void)stagefs::app::BuildFsOptions(cfg);
  }
  auto ini = stagefs::s3::ParseIni(text);
  stagefs::s3::ConfigSources sources;
  sources.config_file = text;
  sources.credentials_file = text;
  sources.env = {{"AWS_PROFILE", ini.empty() ? "default" : ini.begin()->first}};
  (void)stagefs::s3::ResolveClientOptions(sources);
  return 0;
}
