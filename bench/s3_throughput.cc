// s3_throughput: raw S3 throughput of the real client (CurlObjectClient) against
// a server, with the curl command line doing the same work as the baseline in the
// same run.
//
//   GET  one object (default 1 GiB) split into N equal ranges, all N in flight
//        (N = 1, 8, 32, 64): MiB/s. Bodies stream into a counting DataSink.
//   PUT  1,000 objects of 4 KiB with 64 in flight: objects/s.
//
// Each measurement is repeated (--repeat, default 3), ours and curl interleaved;
// the median is reported with min and max, with the client CPU time. At the end
// it prints the peak RSS of this process (getrusage ru_maxrss) and of the
// largest curl run (its VmHWM, polled).
//
// Endpoint and credentials come from flags or from STAGEFS_RGW_ENDPOINT,
// STAGEFS_RGW_ACCESS_KEY, STAGEFS_RGW_SECRET_KEY (what scripts/testbed/rgw-up
// writes). The bucket must exist. bench/run-s3-throughput does all of it.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "s3/http/curl_object_client.h"

namespace stagefs::bench {
namespace {

using Seconds = std::chrono::duration<double>;
constexpr uint64_t kMiB = 1024 * 1024;

struct Args {
  std::string endpoint, access_key, secret_key, region = "us-east-1", bucket;
  std::string key = "bench/object";
  uint64_t size_mib = 1024;
  std::vector<int> parallel = {1, 8, 32, 64};
  int put_count = 1000;
  uint64_t put_size = 4096;
  int put_inflight = 64;
  int repeat = 3;
  bool no_curl = false;
  std::string tmp_dir = "/tmp";
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "s3_throughput: %s\n", msg.c_str());
  std::exit(1);
}

double Elapsed(std::chrono::steady_clock::time_point t0) {
  return Seconds(std::chrono::steady_clock::now() - t0).count();
}

// Equal ranges covering [0, size).
std::vector<s3::ByteRange> SplitRanges(uint64_t size, int n) {
  std::vector<s3::ByteRange> out;
  const uint64_t step = (size + n - 1) / n;
  for (uint64_t first = 0; first < size; first += step) {
    out.push_back({first, std::min(size, first + step) - 1});
  }
  return out;
}

// Writes `size` pseudo-random bytes to `path` in 1 MiB chunks (never all in RAM).
void MakeFile(const std::string& path, uint64_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) Die("cannot create " + path);
  std::mt19937_64 rng(42);
  std::vector<uint64_t> buf(kMiB / 8);
  for (uint64_t done = 0; done < size; done += kMiB) {
    for (auto& w : buf) w = rng();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kMiB, size - done));
    if (std::fwrite(buf.data(), 1, n, f) != n) Die("short write to " + path);
  }
  std::fclose(f);
}

class Bench {
 public:
  explicit Bench(const Args& a) : a_(a) {
    s3::ClientOptions o;
    o.endpoint_url = a.endpoint;
    o.region = a.region;
    o.credentials = {a.access_key, a.secret_key, ""};
    o.addressing = s3::ClientOptions::Addressing::kPath;
    int most = a.put_inflight;
    for (int n : a.parallel) most = std::max(most, n);
    o.max_in_flight = most;
    client_ = s3::MakeCurlObjectClient(o, &clock_, &metrics_);
  }

  // Multipart upload of the test file, 64 MiB parts, 4 in flight, streamed from
  // the file descriptor. Returns seconds.
  double UploadObject(const std::string& path, uint64_t size) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) Die("cannot open " + path);
    const auto t0 = std::chrono::steady_clock::now();
    auto create = client_->CreateMultipartUpload({a_.bucket, a_.key, {}, "", {}});
    if (!create.ok()) Die("CreateMultipartUpload: " + create.error().ToString());
    const std::vector<s3::ByteRange> parts = SplitRanges(size, static_cast<int>((size + 64 * kMiB - 1) / (64 * kMiB)));
    std::vector<s3::CompletedPart> done(parts.size());
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (size_t i = next++; i < parts.size(); i = next++) {
          const int number = static_cast<int>(i) + 1;
          auto r = client_->UploadPart({a_.bucket, a_.key, create->upload_id, number,
                                        s3::BodySource::FromFile(fd, parts[i].first, parts[i].length())});
          if (!r.ok()) {
            std::fprintf(stderr, "UploadPart %d: %s\n", number, r.error().ToString().c_str());
            failed = true;
            return;
          }
          done[i] = {number, r->etag};
        }
      });
    }
    for (auto& t : threads) t.join();
    close(fd);
    if (failed) Die("upload failed");
    s3::CompleteMultipartUploadParams c;
    c.bucket = a_.bucket;
    c.key = a_.key;
    c.upload_id = create->upload_id;
    c.parts = done;
    auto r = client_->CompleteMultipartUpload(c);
    if (!r.ok()) Die("CompleteMultipartUpload: " + r.error().ToString());
    return Elapsed(t0);
  }

  // N ranged GETs in flight; returns seconds. Checks that every byte arrived.
  double OursGet(uint64_t size, int n) {
    const auto ranges = SplitRanges(size, n);
    std::atomic<uint64_t> bytes{0};
    std::atomic<bool> failed{false};
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (const auto& range : ranges) {
      threads.emplace_back([&, range] {
        s3::GetObjectParams p;
        p.bucket = a_.bucket;
        p.key = a_.key;
        if (n > 1) p.range = range;  // N = 1: one plain GET of the whole object
        p.sink = [&](const char*, size_t len) {
          bytes += len;
          return true;
        };
        auto r = client_->GetObject(p);
        if (!r.ok()) {
          std::fprintf(stderr, "GetObject: %s\n", r.error().ToString().c_str());
          failed = true;
        }
      });
    }
    for (auto& t : threads) t.join();
    const double s = Elapsed(t0);
    if (failed || bytes != size) Die("GET got " + std::to_string(bytes.load()) + " of " + std::to_string(size) + " bytes");
    return s;
  }

  // put_count PUTs of put_size bytes, put_inflight at once; returns seconds.
  double OursPut(const std::string& prefix) {
    const std::string body(a_.put_size, 'x');
    std::atomic<int> next{0};
    std::atomic<bool> failed{false};
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < a_.put_inflight; ++t) {
      threads.emplace_back([&] {
        for (int i = next++; i < a_.put_count; i = next++) {
          s3::PutObjectParams p;
          p.bucket = a_.bucket;
          p.key = prefix + std::to_string(i);
          p.body = s3::BodySource::FromString(body);
          auto r = client_->PutObject(p);
          if (!r.ok()) {
            std::fprintf(stderr, "PutObject: %s\n", r.error().ToString().c_str());
            failed = true;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    if (failed) Die("PUT failed");
    return Elapsed(t0);
  }

  // Runs curl with a config file holding one block per transfer; each transfer
  // prints "<http code> <bytes downloaded>". Returns seconds; checks the codes.
  double RunCurl(const std::vector<std::string>& blocks, int parallel, uint64_t want_bytes) {
    const std::string cfg = a_.tmp_dir + "/s3_throughput-curl.cfg";
    {
      std::ofstream out(cfg);
      for (size_t i = 0; i < blocks.size(); ++i) {
        if (i > 0) out << "next\n";
        out << "aws-sigv4 = \"aws:amz:" << a_.region << ":s3\"\n"
            << "user = \"" << a_.access_key << ":" << a_.secret_key << "\"\n"
            // curl 7.88 does not send x-amz-content-sha256 itself; RGW needs it.
            << "header = \"x-amz-content-sha256: UNSIGNED-PAYLOAD\"\n"
            << "silent\nshow-error\noutput = \"/dev/null\"\n"
            << "write-out = \"%{http_code} %{size_download}\\n\"\n"
            << blocks[i];
      }
    }
    chmod(cfg.c_str(), 0600);
    std::vector<std::string> argv = {"curl", "--silent", "--show-error"};
    if (parallel > 1) {
      for (std::string x : {"--parallel", "--parallel-immediate", "--parallel-max"}) argv.push_back(x);
      argv.push_back(std::to_string(parallel));
    }
    argv.push_back("-K");
    argv.push_back(cfg);
    const std::string out_path = cfg + ".out", err_path = cfg + ".err";
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = Spawn(argv, out_path, err_path);
    const double s = Elapsed(t0);
    unlink(cfg.c_str());
    int ok = 0, bad = 0;
    uint64_t bytes = 0;
    {
      std::ifstream out(out_path);
      int code;
      uint64_t n;
      while (out >> code >> n) {
        (code / 100 == 2 ? ok : bad)++;
        bytes += n;
      }
    }
    unlink(out_path.c_str());
    if (rc != 0 || bad != 0 || ok != static_cast<int>(blocks.size()) || (want_bytes && bytes != want_bytes)) {
      std::ifstream err(err_path);
      std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
      Die("curl: exit " + std::to_string(rc) + ", " + std::to_string(ok) + " ok, " + std::to_string(bad) +
          " failed, " + std::to_string(bytes) + " bytes; stderr: " + text);
    }
    unlink(err_path.c_str());
    return s;
  }

  // Peak RSS of any curl run, in KiB.
  long curl_peak_kib() const { return curl_peak_kib_; }

  double CurlGet(uint64_t size, int n) {
    std::vector<std::string> blocks;
    for (const auto& r : SplitRanges(size, n)) {
      std::string b = "url = \"" + Url(a_.key) + "\"\n";
      if (n > 1) b += "header = \"Range: bytes=" + std::to_string(r.first) + "-" + std::to_string(r.last) + "\"\n";
      blocks.push_back(b);
    }
    return RunCurl(blocks, n, size);
  }

  double CurlPut(const std::string& prefix, const std::string& file) {
    std::vector<std::string> blocks;
    for (int i = 0; i < a_.put_count; ++i) {
      blocks.push_back("url = \"" + Url(prefix + std::to_string(i)) + "\"\nupload-file = \"" + file + "\"\n");
    }
    return RunCurl(blocks, a_.put_inflight, 0);
  }

 private:
  std::string Url(const std::string& key) const { return a_.endpoint + "/" + a_.bucket + "/" + key; }

  // Runs argv with stdout and stderr to files; returns the exit status. Polls
  // the child's VmHWM while it runs: getrusage(RUSAGE_CHILDREN) would report our
  // own RSS, which a forked child carries until it execs.
  int Spawn(const std::vector<std::string>& argv, const std::string& out, const std::string& err) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> cargv;
    for (const auto& s : argv) cargv.push_back(const_cast<char*>(s.c_str()));
    cargv.push_back(nullptr);
    pid_t pid;
    if (posix_spawnp(&pid, "curl", &fa, nullptr, cargv.data(), environ) != 0) Die("cannot run curl");
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    for (;;) {
      std::ifstream st("/proc/" + std::to_string(pid) + "/status");
      std::string line;
      while (std::getline(st, line)) {
        if (line.rfind("VmHWM:", 0) == 0) curl_peak_kib_ = std::max(curl_peak_kib_, std::atol(line.c_str() + 6));
      }
      const pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (r < 0) Die("waitpid failed");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const Args& a_;
  long curl_peak_kib_ = 0;
  RealClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<s3::ObjectClient> client_;
};

// User + system CPU seconds of this process (RUSAGE_SELF) or of its waited-for
// children (RUSAGE_CHILDREN: the curl runs).
double CpuSeconds(int who) {
  struct rusage u {};
  getrusage(who, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Runs `f` (which returns wall seconds) and adds the CPU seconds `who` used to *cpu.
template <typename F>
double Measure(int who, double* cpu, F f) {
  const double c0 = CpuSeconds(who);
  const double s = f();
  *cpu += CpuSeconds(who) - c0;
  return s;
}

struct Stats {
  double median, min, max;
};
Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

std::string Fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// "1234 (1100-1300)" from per-run rates.
std::string Rate(const std::vector<double>& rates, const char* f) {
  Stats s = Summarize(rates);
  return Fmt(f, s.median) + " (" + Fmt(f, s.min) + "–" + Fmt(f, s.max) + ")";
}

int Main(int argc, char** argv) {
  Args a;
  auto env = [](const char* n) { const char* v = std::getenv(n); return v ? std::string(v) : std::string(); };
  a.endpoint = env("STAGEFS_RGW_ENDPOINT");
  a.access_key = env("STAGEFS_RGW_ACCESS_KEY");
  a.secret_key = env("STAGEFS_RGW_SECRET_KEY");
  CLI::App app{"S3 GET/PUT throughput of the stagefs client vs the curl command line"};
  app.add_option("--endpoint", a.endpoint, "S3 endpoint URL (default $STAGEFS_RGW_ENDPOINT)");
  app.add_option("--access-key", a.access_key, "default $STAGEFS_RGW_ACCESS_KEY");
  app.add_option("--secret-key", a.secret_key, "default $STAGEFS_RGW_SECRET_KEY");
  app.add_option("--region", a.region);
  app.add_option("--bucket", a.bucket, "an existing bucket")->required();
  app.add_option("--size-mib", a.size_mib, "size of the GET object in MiB");
  app.add_option("--parallel", a.parallel, "ranged GETs in flight, one run per value")->delimiter(',');
  app.add_option("--put-count", a.put_count);
  app.add_option("--put-size", a.put_size);
  app.add_option("--put-inflight", a.put_inflight);
  app.add_option("--repeat", a.repeat);
  app.add_flag("--no-curl", a.no_curl, "skip the curl baseline");
  app.add_option("--tmp-dir", a.tmp_dir);
  CLI11_PARSE(app, argc, argv);
  if (a.endpoint.empty() || a.access_key.empty() || a.secret_key.empty()) Die("endpoint and credentials are required");

  Bench b(a);
  const uint64_t size = a.size_mib * kMiB;
  const std::string file = a.tmp_dir + "/s3_throughput-" + std::to_string(getpid()) + ".bin";
  const std::string small = file + ".small";
  MakeFile(file, size);
  MakeFile(small, a.put_size);
  const double up = b.UploadObject(file, size);
  unlink(file.c_str());
  std::printf("setup: PUT %llu MiB object (multipart, 64 MiB parts, 4 in flight, ours): %.1f MiB/s\n",
              static_cast<unsigned long long>(a.size_mib), a.size_mib / up);

  // Rates are median (min–max) over the repeats; CPU is client user+sys seconds
  // per run, averaged.
  std::printf("\n| GET %llu MiB, ranged requests in flight | stagefs client MiB/s | curl MiB/s | client CPU s: stagefs / curl |\n|---|---|---|---|\n",
              static_cast<unsigned long long>(a.size_mib));
  for (int n : a.parallel) {
    std::vector<double> ours, curl;
    double ours_cpu = 0, curl_cpu = 0;
    for (int i = 0; i < a.repeat; ++i) {
      ours.push_back(a.size_mib / Measure(RUSAGE_SELF, &ours_cpu, [&] { return b.OursGet(size, n); }));
      if (!a.no_curl) curl.push_back(a.size_mib / Measure(RUSAGE_CHILDREN, &curl_cpu, [&] { return b.CurlGet(size, n); }));
    }
    std::printf("| %d | %s | %s | %.2f / %.2f |\n", n, Rate(ours, "%.0f").c_str(),
                a.no_curl ? "-" : Rate(curl, "%.0f").c_str(), ours_cpu / a.repeat, curl_cpu / a.repeat);
    std::fflush(stdout);
  }

  std::printf("\n| PUT %d × %llu B, in flight | stagefs client objects/s | curl objects/s | client CPU s: stagefs / curl |\n|---|---|---|---|\n",
              a.put_count, static_cast<unsigned long long>(a.put_size));
  std::vector<double> ours, curl;
  double ours_cpu = 0, curl_cpu = 0;
  for (int i = 0; i < a.repeat; ++i) {
    const std::string tag = std::to_string(i) + "/";
    ours.push_back(a.put_count / Measure(RUSAGE_SELF, &ours_cpu, [&] { return b.OursPut("bench/put-ours-" + tag); }));
    if (!a.no_curl) {
      curl.push_back(a.put_count / Measure(RUSAGE_CHILDREN, &curl_cpu, [&] { return b.CurlPut("bench/put-curl-" + tag, small); }));
    }
  }
  std::printf("| %d | %s | %s | %.2f / %.2f |\n", a.put_inflight, Rate(ours, "%.0f").c_str(),
              a.no_curl ? "-" : Rate(curl, "%.0f").c_str(), ours_cpu / a.repeat, curl_cpu / a.repeat);
  unlink(small.c_str());

  struct rusage self {};
  getrusage(RUSAGE_SELF, &self);
  std::printf("\npeak RSS: s3_throughput (the stagefs client) %.1f MiB; largest curl run %.1f MiB\n",
              self.ru_maxrss / 1024.0, b.curl_peak_kib() / 1024.0);
  return 0;
}

}  // namespace
}  // namespace stagefs::bench

int main(int argc, char** argv) { return stagefs::bench::Main(argc, argv); }
