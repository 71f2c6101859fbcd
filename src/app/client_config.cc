#include "app/client_config.h"

#include <cstdlib>
#include <cstring>

#include "s3/http/credentials.h"

extern char** environ;

namespace stagefs::app {

Result<s3::ClientOptions> ResolveClientOptions(const MountConfig& cfg) {
  s3::ConfigSources sources;
  sources.flags.region = cfg.region;
  sources.flags.endpoint_url = cfg.endpoint_url;
  sources.flags.profile = cfg.profile;
  for (char** e = environ; *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq) continue;
    std::string name(*e, eq - *e);
    if (name.rfind("AWS_", 0) == 0 || name == "HOME") sources.env[name] = eq + 1;
  }
  s3::LoadAwsFiles(&sources);
  s3::ClientOptions base;
  base.verify_tls = !cfg.no_verify_tls;
  base.max_in_flight = cfg.max_in_flight;
  return s3::ResolveClientOptions(sources, base);
}

}  // namespace stagefs::app
