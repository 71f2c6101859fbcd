// Credentials and configuration resolution for the real S3 client, as a pure
// function of its inputs so that precedence is unit-testable: explicit flag
// values, then the environment, then the AWS shared files
// (~/.aws/credentials and ~/.aws/config). Reading the files from disk is kept to
// one small helper (LoadAwsFiles) that main() calls; nothing here reads the
// process environment itself.
//
// Precedence, per setting:
//   credentials: flags (access key + secret, both or neither) > environment
//                (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN]) >
//                profile in the credentials file > profile in the config file
//   profile:     flag > AWS_PROFILE > "default"
//   region:      flag > AWS_REGION > AWS_DEFAULT_REGION > profile region > us-east-1
//   endpoint:    flag > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > profile's nested
//                "s3 = / endpoint_url = ..." > profile endpoint_url > "" (AWS)
//   CA bundle:   AWS_CA_BUNDLE > profile ca_bundle
// A profile that is named explicitly (flag or AWS_PROFILE) but missing from both
// files is an error, as is having no credentials at all.
//
// Thread-safe (pure functions).
#pragma once

#include <map>
#include <string>

#include "base/status.h"
#include "s3/http/client_options.h"

namespace stagefs::s3 {

struct ConfigFlags {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string region;
  std::string endpoint_url;
  std::string profile;
};

struct ConfigSources {
  ConfigFlags flags;
  std::map<std::string, std::string> env;  // only the AWS_* variables and HOME matter
  std::string credentials_file;            // contents, "" when absent
  std::string config_file;                 // contents, "" when absent
};

// Fills endpoint_url, region, credentials and ca_bundle of `base` (everything
// else in `base` is kept) or explains what is missing or inconsistent.
Result<ClientOptions> ResolveClientOptions(const ConfigSources& sources,
                                           ClientOptions base = {});

// INI as the AWS files use it: section -> key -> value. Keys are lower-cased;
// "#" and ";" start comments; an indented "key = value" after "s3 =" is stored
// as "s3.key".
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile ParseIni(const std::string& text);

// Paths of the shared files: AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, else
// $HOME/.aws/credentials and $HOME/.aws/config ("" when HOME is unset too).
struct AwsFilePaths {
  std::string credentials;
  std::string config;
};
AwsFilePaths AwsFilePathsFromEnv(const std::map<std::string, std::string>& env);

// Reads both files into `sources` (missing files read as empty). The only
// function here that touches the disk.
void LoadAwsFiles(ConfigSources* sources);

}  // namespace stagefs::s3
