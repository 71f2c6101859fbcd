#include "base/metrics.h"

#include <algorithm>
#include <cstdio>

#include "base/text.h"

namespace stagefs {

void Gauge::Add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  std::lock_guard lock(mu_);
  Family& f = families_[name];
  if (f.help.empty()) f.help = help;
  f.is_counter = true;
  auto& slot = f.counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  std::lock_guard lock(mu_);
  Family& f = families_[name];
  if (f.help.empty()) f.help = help;
  f.is_counter = false;
  auto& slot = f.gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

namespace {

// Label values may carry names or keys: made valid UTF-8 the one shared way
// (base/text.h), then escaped as the exposition format requires (\\, \", \n;
// EscapeBytes leaves no newline, so only the first two remain).
std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : EscapeBytes(v)) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) s += ',';
    s += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
  }
  return s + "}";
}

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

}  // namespace

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + (f.is_counter ? " counter\n" : " gauge\n");
    for (const auto& [labels, c] : f.counters)
      out += name + RenderLabels(labels) + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, g] : f.gauges)
      out += name + RenderLabels(labels) + " " + FormatDouble(g->value()) + "\n";
  }
  return out;
}

uint64_t MetricsRegistry::CounterSum(const std::string& name, const Labels& match) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  uint64_t sum = 0;
  for (const auto& entry : it->second.counters) {
    const Labels& labels = entry.first;  // not a structured binding: clang 14 cannot capture one
    bool all = std::all_of(match.begin(), match.end(), [&](const auto& m) {
      return std::find(labels.begin(), labels.end(), m) != labels.end();
    });
    if (all) sum += entry.second->value();
  }
  return sum;
}

}  // namespace stagefs
