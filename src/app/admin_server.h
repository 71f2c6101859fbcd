// AdminServer: the HTTP endpoint of --metrics-addr. Serves GET /metrics in the
// Prometheus text format and GET /status as JSON. Runs its own thread; binds
// only the address it is given.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "base/status.h"

namespace httplib {
class Server;
}

namespace stagefs::app {

class AdminServer {
 public:
  AdminServer(std::function<std::string()> metrics, std::function<std::string()> status);
  ~AdminServer();
  // `addr` is HOST:PORT.
  Status Start(const std::string& addr);
  void Stop();

 private:
  std::function<std::string()> metrics_, status_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace stagefs::app
