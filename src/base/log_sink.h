// EscapingSink: a spdlog sink decorator through which every stagefs log line
// goes, so that names and keys with any bytes (not UTF-8, control characters)
// are written in the one escaped form of base/text.h and a log line can never
// be broken or made invalid by a file name. Thread-safety is the inner sink's.
#pragma once

#include <memory>

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

namespace stagefs {

class EscapingSink final : public spdlog::sinks::sink {
 public:
  explicit EscapingSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}
  void log(const spdlog::details::log_msg& msg) override;
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  spdlog::sink_ptr inner_;
};

// A logger named "stagefs" writing to `sink` through an EscapingSink.
std::shared_ptr<spdlog::logger> MakeEscapingLogger(spdlog::sink_ptr sink);

}  // namespace stagefs
