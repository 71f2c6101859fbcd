#include "app/mount_command.h"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "app/admin_server.h"
#include "app/cache_dir.h"
#include "app/events_server.h"
#include "app/client_config.h"
#include "base/clock.h"
#include "base/log_sink.h"
#include "base/metrics.h"
#include "cache/data_cache.h"
#include "core/file_system.h"
#include "core/kernel_session.h"
#include "meta/metadata_store.h"
#include "s3/capabilities.h"
#include "s3/http/curl_object_client.h"
#include "sync/exporter.h"

namespace stagefs::app {
namespace {

// Explains a failed HeadBucket in the user's terms.
Status CheckBucket(s3::ObjectClient& client, const std::string& bucket,
                   const std::string& endpoint) {
  auto r = client.HeadBucket({.bucket = bucket});
  if (r.ok()) return OkStatus();
  const s3::S3Error& e = r.error();
  switch (e.kind) {
    case s3::S3ErrorKind::kNoSuchBucket:
    case s3::S3ErrorKind::kNoSuchKey:
      return Status(ErrorCode::kNotFound, "bucket '" + bucket + "' does not exist at " + endpoint);
    case s3::S3ErrorKind::kAccessDenied:
      return Status(ErrorCode::kPermissionDenied,
                    "access denied to bucket '" + bucket + "' (check the credentials): " +
                        e.ToString());
    case s3::S3ErrorKind::kTransport:
    case s3::S3ErrorKind::kTimeout:
      return Status(ErrorCode::kUnavailable,
                    "S3 endpoint " + endpoint + " is unreachable: " + e.ToString());
    default:
      return Status(ErrorCode::kUnavailable, "cannot access bucket '" + bucket + "': " + e.ToString());
  }
}

// Server capabilities are probed once per cache dir (with scratch keys under the
// mount prefix) and remembered in the metadata store.
s3::Capabilities LoadOrProbeCapabilities(s3::ObjectClient& client, meta::MetadataStore& store,
                                         const std::string& bucket, const std::string& prefix) {
  s3::Capabilities caps;
  auto saved = store.GetSetting("capabilities");
  if (saved.ok() && saved->size() == 3) {
    auto tri = [](char c) { return c == 'y' ? s3::Tri::kYes : c == 'n' ? s3::Tri::kNo : s3::Tri::kUnknown; };
    caps.upload_part_copy = tri((*saved)[0]);
    caps.put_if_match = tri((*saved)[1]);
    caps.put_if_none_match = tri((*saved)[2]);
    return caps;
  }
  auto probed = s3::ProbeCapabilities(client, bucket, prefix + s3::RandomProbePrefix());
  if (!probed.ok()) {
    spdlog::warn("could not probe S3 capabilities ({}); using safe defaults",
                 probed.error().ToString());
    return caps;
  }
  caps = *probed;
  auto c = [](s3::Tri t) { return t == s3::Tri::kYes ? 'y' : t == s3::Tri::kNo ? 'n' : 'u'; };
  (void)store.PutSetting("capabilities", std::string{c(caps.upload_part_copy),
                                                     c(caps.put_if_match),
                                                     c(caps.put_if_none_match)});
  spdlog::info("S3 capabilities: UploadPartCopy={} PUT If-Match={} PUT If-None-Match={}",
               s3::TriName(caps.upload_part_copy), s3::TriName(caps.put_if_match),
               s3::TriName(caps.put_if_none_match));
  return caps;
}

// Reports readiness from the daemon to the waiting parent.
class ReadyPipe {
 public:
  explicit ReadyPipe(int fd) : fd_(fd) {}
  void Report(const std::string& error) {
    if (fd_ < 0) return;
    std::string msg = error.empty() ? "OK" : error;
    (void)!::write(fd_, msg.data(), msg.size());
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

int Serve(const MountConfig& cfg, ReadyPipe* ready) {
  auto fail = [&](const Status& st) {
    spdlog::error("{}", st.ToString());
    if (ready) ready->Report(st.message());
    else std::cerr << "stagefs: " << st.message() << "\n";
    return 1;
  };
  auto fs_options = BuildFsOptions(cfg);
  if (!fs_options.ok()) return fail(fs_options.error());
  std::string cache_dir = cfg.cache_dir.empty()
                              ? DefaultCacheDir(fs_options->bucket, fs_options->prefix)
                              : cfg.cache_dir;
  CacheDirLock lock;
  if (Status st = lock.Acquire(cache_dir); !st.ok()) return fail(st);
  if (!cfg.foreground) {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(cache_dir + "/stagefs.log");
    spdlog::set_default_logger(MakeEscapingLogger(sink));
    spdlog::flush_on(spdlog::level::info);
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));

  RealClock clock;
  MetricsRegistry metrics;
  auto client_options = ResolveClientOptions(cfg);
  if (!client_options.ok()) return fail(client_options.error());
  auto client = s3::MakeCurlObjectClient(*client_options, &clock, &metrics);
  std::string endpoint = client_options->endpoint_url.empty()
                             ? "AWS S3 (" + client_options->region + ")"
                             : client_options->endpoint_url;
  if (Status st = CheckBucket(*client, fs_options->bucket, endpoint); !st.ok()) return fail(st);

  auto store = meta::OpenSqliteMetadataStore(cache_dir + "/meta.db");
  if (!store.ok()) return fail(store.error());
  // A cache dir belongs to one bucket and prefix.
  std::string source = "s3://" + fs_options->bucket + "/" + fs_options->prefix;
  auto bound = (*store)->GetSetting("source");
  if (bound.ok() && !bound->empty() && *bound != source)
    return fail(Status(ErrorCode::kInvalidArgument, "cache dir " + cache_dir + " belongs to " +
                                                        *bound + ", not " + source));
  if (Status st = (*store)->PutSetting("source", source); !st.ok()) return fail(st);
  cache::DataCache cache(cache_dir + "/data", store->get(), &metrics);
  if (Status st = cache.Init(); !st.ok()) return fail(st);
  fs_options->audit_log_path = cache_dir + "/audit.log";
  core::FileSystem fs(*fs_options, client.get(), store->get(), &cache, &clock, &metrics);
  if (Status st = fs.Init(); !st.ok()) return fail(st);

  sync::ExporterOptions eo;
  eo.bucket = fs_options->bucket;
  eo.export_delay = std::chrono::nanoseconds(static_cast<int64_t>(cfg.export_delay_s * 1e9));
  if (!cfg.read_only) {
    auto caps = LoadOrProbeCapabilities(*client, **store, fs_options->bucket, fs_options->prefix);
    eo.upload_part_copy = caps.upload_part_copy != s3::Tri::kNo;
    eo.trust_put_if_match = caps.put_if_match == s3::Tri::kYes;
    eo.trust_put_if_none_match = caps.put_if_none_match == s3::Tri::kYes;
  }
  sync::Exporter exporter(eo, client.get(), &fs, &clock, &metrics);
  exporter.Start();
  fs.SetExporter(&exporter);

  core::SessionOptions so;
  so.mountpoint = cfg.mountpoint;
  so.fsname = "stagefs:" + fs_options->bucket;
  so.allow_other = cfg.allow_other;
  so.read_only = cfg.read_only;
  so.attr_timeout = cfg.refresh_interval_s;
  auto session = core::MakeKernelSession(&fs, so);
  if (Status st = session->Mount(); !st.ok()) return fail(st);

  AdminServer admin(
      [&] {
        metrics.GetGauge("stagefs_cache_bytes", "Bytes of file data in the local cache")
            ->Set(static_cast<double>(cache.used_bytes()));
        return metrics.RenderPrometheus();
      },
      [&] { return fs.MountStatusJson(); });
  if (!cfg.metrics_addr.empty()) {
    if (Status st = admin.Start(cfg.metrics_addr); !st.ok()) return fail(st);
  }
  EventsServer events([&](const std::vector<sync::ObjectEvent>& e) { fs.OnObjectEvents(e); },
                      cfg.events_token);
  if (!cfg.events_addr.empty()) {
    if (Status st = events.Start(cfg.events_addr); !st.ok()) return fail(st);
  }
  fs.StartBackground();
  spdlog::info("mounted {} at {} (cache {})", cfg.source, cfg.mountpoint, cache_dir);
  lock.WritePid();
  if (ready) ready->Report("");
  Status st = session->Run();
  events.Stop();
  fs.StopBackground();
  // Pending changes are exported before exiting; what cannot be (S3 down) stays
  // in the cache dir and is exported by the next mount.
  if (Status f = exporter.SyncNow({}, std::chrono::milliseconds(
                                          static_cast<int64_t>(cfg.unmount_timeout_s * 1000)));
      !f.ok())
    spdlog::warn("unmounting with pending exports: {}", f.ToString());
  fs.SetExporter(nullptr);
  exporter.Stop();
  admin.Stop();
  if (Status f = (*store)->Sync(); !f.ok()) spdlog::error("{}", f.ToString());
  spdlog::info("unmounted {}", cfg.mountpoint);
  if (!st.ok()) {
    spdlog::error("{}", st.ToString());
    return 1;
  }
  return 0;
}

}  // namespace

int RunMount(const MountConfig& cfg) {
  if (cfg.foreground) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    spdlog::set_default_logger(MakeEscapingLogger(sink));
    return Serve(cfg, nullptr);
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("stagefs: pipe");
    return 1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("stagefs: fork");
    return 1;
  }
  if (pid > 0) {
    ::close(fds[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) msg.append(buf, n);
    ::close(fds[0]);
    if (msg == "OK") return 0;
    std::cerr << "stagefs: " << (msg.empty() ? "mount process exited during start-up" : msg)
              << "\n";
    return 1;
  }
  ::close(fds[0]);
  ::setsid();
  if (::chdir("/") != 0) {
  }
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (devnull > 2) ::close(devnull);
  }
  ReadyPipe ready(fds[1]);
  int rc = Serve(cfg, &ready);
  ready.Report("mount failed; see the log in the cache dir");
  spdlog::shutdown();
  ::_exit(rc);
}

}  // namespace stagefs::app
