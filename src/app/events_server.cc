#include "app/events_server.h"

#include <httplib.h>

namespace stagefs::app {

EventsServer::EventsServer(Sink sink, std::string token)
    : sink_(std::move(sink)), token_(std::move(token)) {}

EventsServer::~EventsServer() { Stop(); }

Status EventsServer::Start(const std::string& addr) {
  size_t colon = addr.rfind(':');
  int port = colon == std::string::npos ? 0 : std::atoi(addr.c_str() + colon + 1);
  if (port <= 0 || port > 65535)
    return Status(ErrorCode::kInvalidArgument, "--events-addr must be HOST:PORT, got '" + addr + "'");
  server_ = std::make_unique<httplib::Server>();
  // Responses go out in two writes: without TCP_NODELAY every other one on a
  // reused connection waits ~40 ms for the delayed ACK (RGW waits for the push before answering the PUT that caused it).
  server_->set_tcp_nodelay(true);
  server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
    if (!token_.empty()) {
      std::string got = req.get_header_value("X-Stagefs-Token");
      if (got.empty() && req.has_param("token")) got = req.get_param_value("token");
      std::string auth = req.get_header_value("Authorization");
      if (got.empty() && auth.rfind("Bearer ", 0) == 0) got = auth.substr(7);
      if (got != token_) {
        res.status = 401;
        res.set_content("missing or wrong token\n", "text/plain");
        return;
      }
    }
    auto events = sync::ParseS3Events(req.body);
    if (!events.ok()) {
      res.status = 400;
      res.set_content(events.error().message() + "\n", "text/plain");
      return;
    }
    sink_(*events);
    res.status = 200;
    res.set_content("{\"accepted\":" + std::to_string(events->size()) + "}\n", "application/json");
  });
  if (!server_->bind_to_port(addr.substr(0, colon), port))
    return Status(ErrorCode::kUnavailable, "cannot listen on " + addr + " for S3 events");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return OkStatus();
}

void EventsServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace stagefs::app
