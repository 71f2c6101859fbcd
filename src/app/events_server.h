// EventsServer: the HTTP endpoint of --events-addr that accepts S3 event
// notifications (AWS SNS HTTP subscriptions, Ceph RGW bucket notifications,
// MinIO webhooks). A valid batch is handed to the file system and answered 200;
// a malformed one gets 400 and changes nothing; a wrong or missing token (when
// one is configured) gets 401.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "sync/s3_events.h"

namespace httplib {
class Server;
}

namespace stagefs::app {

class EventsServer {
 public:
  using Sink = std::function<void(const std::vector<sync::ObjectEvent>&)>;
  EventsServer(Sink sink, std::string token);
  ~EventsServer();
  Status Start(const std::string& addr);  // HOST:PORT
  void Stop();

 private:
  Sink sink_;
  std::string token_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace stagefs::app
