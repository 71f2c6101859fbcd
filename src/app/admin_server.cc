#include "app/admin_server.h"

#include <httplib.h>

namespace stagefs::app {

AdminServer::AdminServer(std::function<std::string()> metrics, std::function<std::string()> status)
    : metrics_(std::move(metrics)), status_(std::move(status)) {}

AdminServer::~AdminServer() { Stop(); }

Status AdminServer::Start(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos)
    return Status(ErrorCode::kInvalidArgument, "--metrics-addr must be HOST:PORT, got '" + addr + "'");
  std::string host = addr.substr(0, colon);
  int port = std::atoi(addr.c_str() + colon + 1);
  if (port <= 0 || port > 65535)
    return Status(ErrorCode::kInvalidArgument, "--metrics-addr has a bad port: '" + addr + "'");
  server_ = std::make_unique<httplib::Server>();
  // Responses go out in two writes: without TCP_NODELAY every other one on a
  // reused connection waits ~40 ms for the delayed ACK (scrapes reuse connections).
  server_->set_tcp_nodelay(true);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_(), "text/plain; version=0.0.4");
  });
  server_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_(), "application/json");
  });
  if (!server_->bind_to_port(host, port))
    return Status(ErrorCode::kUnavailable, "cannot listen on " + addr + " for metrics");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return OkStatus();
}

void AdminServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace stagefs::app
