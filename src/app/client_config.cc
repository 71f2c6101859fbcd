#include "app/client_config.h"

#include <cstdlib>

namespace stagefs::app {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Result<s3::ClientOptions> ResolveClientOptions(const MountConfig& cfg) {
  s3::ClientOptions o;
  o.endpoint_url = cfg.endpoint_url;
  if (o.endpoint_url.empty()) o.endpoint_url = Env("AWS_ENDPOINT_URL_S3");
  if (o.endpoint_url.empty()) o.endpoint_url = Env("AWS_ENDPOINT_URL");
  o.region = cfg.region;
  if (o.region.empty()) o.region = Env("AWS_REGION");
  if (o.region.empty()) o.region = Env("AWS_DEFAULT_REGION");
  if (o.region.empty()) o.region = "us-east-1";
  o.credentials.access_key_id = Env("AWS_ACCESS_KEY_ID");
  o.credentials.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  o.credentials.session_token = Env("AWS_SESSION_TOKEN");
  o.ca_bundle = Env("AWS_CA_BUNDLE");
  o.verify_tls = !cfg.no_verify_tls;
  o.max_in_flight = cfg.max_in_flight;
  if (o.credentials.empty())
    return Status(ErrorCode::kInvalidArgument,
                  "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  return o;
}

}  // namespace stagefs::app
