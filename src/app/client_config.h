// Builds the S3 client options for a mount from its configuration, the
// environment and the AWS shared config files (flags win over the environment,
// which wins over the files).
#pragma once

#include "app/mount_config.h"
#include "base/status.h"
#include "s3/http/client_options.h"

namespace stagefs::app {

Result<s3::ClientOptions> ResolveClientOptions(const MountConfig& cfg);

}  // namespace stagefs::app
