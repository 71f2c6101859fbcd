#include "s3/http/credentials.h"

#include <fstream>
#include <sstream>

#include "s3/http/http_util.h"

namespace stagefs::s3 {
namespace {

using http::ToLower;
using http::Trim;

std::string Get(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? std::string() : it->second;
}

std::string FirstNonEmpty(std::initializer_list<std::string> values) {
  for (const std::string& v : values) {
    if (!v.empty()) return v;
  }
  return "";
}

std::string ReadWholeFile(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

IniFile ParseIni(const std::string& text) {
  IniFile ini;
  std::string section;
  std::string nested;  // "s3" while reading an indented sub-section
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    bool indented = !raw.empty() && (raw[0] == ' ' || raw[0] == '\t');
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(Trim(line.substr(1, line.size() - 2)));
      nested.clear();
      ini[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || section.empty()) continue;
    std::string key = ToLower(Trim(line.substr(0, eq)));
    std::string value(Trim(line.substr(eq + 1)));
    if (indented && !nested.empty()) {
      ini[section][nested + "." + key] = value;
    } else if (value.empty()) {
      nested = key;  // "s3 =" opens a nested block
    } else {
      nested.clear();
      ini[section][key] = value;
    }
  }
  return ini;
}

AwsFilePaths AwsFilePathsFromEnv(const std::map<std::string, std::string>& env) {
  AwsFilePaths p;
  std::string home = Get(env, "HOME");
  p.credentials = Get(env, "AWS_SHARED_CREDENTIALS_FILE");
  p.config = Get(env, "AWS_CONFIG_FILE");
  if (p.credentials.empty() && !home.empty()) p.credentials = home + "/.aws/credentials";
  if (p.config.empty() && !home.empty()) p.config = home + "/.aws/config";
  return p;
}

void LoadAwsFiles(ConfigSources* sources) {
  AwsFilePaths p = AwsFilePathsFromEnv(sources->env);
  sources->credentials_file = ReadWholeFile(p.credentials);
  sources->config_file = ReadWholeFile(p.config);
}

Result<ClientOptions> ResolveClientOptions(const ConfigSources& s, ClientOptions base) {
  const ConfigFlags& f = s.flags;
  const auto& env = s.env;
  const std::string profile = FirstNonEmpty({f.profile, Get(env, "AWS_PROFILE"), "default"});
  const bool profile_explicit = !f.profile.empty() || !Get(env, "AWS_PROFILE").empty();

  IniFile creds_ini = ParseIni(s.credentials_file);
  IniFile config_ini = ParseIni(s.config_file);
  const std::string config_section = profile == "default" ? "default" : "profile " + profile;
  auto creds_it = creds_ini.find(profile);
  auto config_it = config_ini.find(config_section);
  if (profile_explicit && creds_it == creds_ini.end() && config_it == config_ini.end()) {
    return Status(ErrorCode::kNotFound, "AWS profile '" + profile +
                                            "' not found in the shared credentials or config file");
  }
  static const std::map<std::string, std::string> kNone;
  const auto& pc = creds_it == creds_ini.end() ? kNone : creds_it->second;
  const auto& pf = config_it == config_ini.end() ? kNone : config_it->second;

  // Credentials come as a set from one source; never mix a key from one source
  // with a secret from another.
  Credentials c;
  if (!f.access_key_id.empty() || !f.secret_access_key.empty()) {
    if (f.access_key_id.empty() || f.secret_access_key.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "give both the access key id and the secret access key flags, or neither");
    }
    c = {f.access_key_id, f.secret_access_key, f.session_token};
  } else if (!Get(env, "AWS_ACCESS_KEY_ID").empty() || !Get(env, "AWS_SECRET_ACCESS_KEY").empty()) {
    c = {Get(env, "AWS_ACCESS_KEY_ID"), Get(env, "AWS_SECRET_ACCESS_KEY"),
         Get(env, "AWS_SESSION_TOKEN")};
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
    }
  } else {
    const auto& src = !Get(pc, "aws_access_key_id").empty() ? pc : pf;
    c = {Get(src, "aws_access_key_id"), Get(src, "aws_secret_access_key"),
         Get(src, "aws_session_token")};
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return Status(ErrorCode::kPermissionDenied,
                    "no S3 credentials: set the access key flags, AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY, or aws_access_key_id/aws_secret_access_key in "
                    "profile '" + profile + "'");
    }
  }
  base.credentials = c;
  base.region = FirstNonEmpty({f.region, Get(env, "AWS_REGION"), Get(env, "AWS_DEFAULT_REGION"),
                               Get(pf, "region"), "us-east-1"});
  base.endpoint_url = FirstNonEmpty({f.endpoint_url, Get(env, "AWS_ENDPOINT_URL_S3"),
                                     Get(env, "AWS_ENDPOINT_URL"), Get(pf, "s3.endpoint_url"),
                                     Get(pf, "endpoint_url")});
  base.ca_bundle = FirstNonEmpty({Get(env, "AWS_CA_BUNDLE"), Get(pf, "ca_bundle"), base.ca_bundle});
  return base;
}

}  // namespace stagefs::s3
