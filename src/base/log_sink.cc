#include "base/log_sink.h"

#include <spdlog/logger.h>

#include <string>
#include <string_view>

#include "base/text.h"

namespace stagefs {

void EscapingSink::log(const spdlog::details::log_msg& msg) {
  std::string_view payload(msg.payload.data(), msg.payload.size());
  std::string escaped = EscapeBytes(payload);
  if (escaped == payload) {
    inner_->log(msg);
    return;
  }
  spdlog::details::log_msg copy(msg);
  copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
  inner_->log(copy);
}

std::shared_ptr<spdlog::logger> MakeEscapingLogger(spdlog::sink_ptr sink) {
  return std::make_shared<spdlog::logger>("stagefs",
                                          std::make_shared<EscapingSink>(std::move(sink)));
}

}  // namespace stagefs
