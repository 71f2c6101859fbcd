// Metrics: a small registry of counters and gauges, rendered in the Prometheus
// text exposition format. One Registry is created in main and passed down; there
// is no global registry.
//
// Counter and Gauge handles are stable pointers owned by the Registry and are
// lock-free to update from any thread. Label sets are fixed at creation.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace stagefs {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class MetricsRegistry {
 public:
  // Returns the same handle for the same (name, labels). `help` is taken from the
  // first registration of a name.
  Counter* GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});

  // Prometheus text format, families sorted by name.
  std::string RenderPrometheus() const;

  // Sum of a counter family over all label sets whose labels include `match`.
  uint64_t CounterSum(const std::string& name, const Labels& match = {}) const;

 private:
  struct Family {
    std::string help;
    bool is_counter = true;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // GUARDED_BY(mu_)
};

}  // namespace stagefs
