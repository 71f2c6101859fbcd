// The one table mapping stagefs errors to errno, used at the FUSE boundary.
#pragma once

#include "base/status.h"

namespace stagefs::core {

// Never returns 0 for a non-OK status.
int ToErrno(const Status& status);

}  // namespace stagefs::core
