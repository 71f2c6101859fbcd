#include "cache/extent_set.h"

#include <algorithm>

namespace stagefs::cache {

void ExtentSet::Add(uint64_t start, uint64_t end) {
  if (start >= end) return;
  auto it = map_.upper_bound(start);
  if (it != map_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= start) it = prev;
  }
  while (it != map_.end() && it->first <= end) {
    start = std::min(start, it->first);
    end = std::max(end, it->second);
    total_ -= it->second - it->first;
    it = map_.erase(it);
  }
  map_[start] = end;
  total_ += end - start;
}

void ExtentSet::Remove(uint64_t start, uint64_t end) {
  if (start >= end) return;
  auto it = map_.upper_bound(start);
  if (it != map_.begin()) --it;
  while (it != map_.end() && it->first < end) {
    uint64_t s = it->first, e = it->second;
    if (e <= start) {
      ++it;
      continue;
    }
    total_ -= e - s;
    it = map_.erase(it);
    if (s < start) {
      map_[s] = start;
      total_ += start - s;
    }
    if (e > end) {
      map_[end] = e;
      total_ += e - end;
      break;
    }
  }
}

bool ExtentSet::Covers(uint64_t start, uint64_t end) const {
  if (start >= end) return true;
  auto it = map_.upper_bound(start);
  if (it == map_.begin()) return false;
  --it;
  return it->first <= start && it->second >= end;
}

std::vector<ExtentSet::Extent> ExtentSet::Missing(uint64_t start, uint64_t end) const {
  std::vector<Extent> out;
  uint64_t pos = start;
  auto it = map_.upper_bound(start);
  if (it != map_.begin()) --it;
  for (; it != map_.end() && pos < end; ++it) {
    if (it->second <= pos) continue;
    if (it->first >= end) break;
    if (it->first > pos) out.emplace_back(pos, it->first);
    pos = std::max(pos, it->second);
  }
  if (pos < end) out.emplace_back(pos, end);
  return out;
}

}  // namespace stagefs::cache
