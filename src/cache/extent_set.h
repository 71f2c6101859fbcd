// ExtentSet: a set of disjoint, non-adjacent half-open byte ranges [start, end),
// used for cache residency. Adjacent and overlapping inserts merge. Not
// thread-safe; the owner locks.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace stagefs::cache {

class ExtentSet {
 public:
  using Extent = std::pair<uint64_t, uint64_t>;

  void Add(uint64_t start, uint64_t end);
  void Remove(uint64_t start, uint64_t end);
  // True when every byte of [start, end) is in the set (an empty range is covered).
  bool Covers(uint64_t start, uint64_t end) const;
  // The parts of [start, end) not in the set, in order.
  std::vector<Extent> Missing(uint64_t start, uint64_t end) const;
  uint64_t TotalBytes() const { return total_; }
  bool empty() const { return map_.empty(); }
  std::vector<Extent> ToVector() const { return {map_.begin(), map_.end()}; }
  void Clear() {
    map_.clear();
    total_ = 0;
  }

 private:
  std::map<uint64_t, uint64_t> map_;  // start -> end
  uint64_t total_ = 0;
};

}  // namespace stagefs::cache
