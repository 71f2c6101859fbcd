#include "prefetch/prefetcher.h"

#include <algorithm>
#include <cstring>

namespace stagefs::prefetch {

Prefetcher::Prefetcher(s3::ObjectClient* client, ThreadPool* pool, std::string bucket,
                       std::string key, std::string etag, uint64_t size, PrefetchOptions options)
    : client_(client),
      pool_(pool),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      etag_(std::move(etag)),
      size_(size),
      options_(options),
      window_(options.initial_window) {}

Prefetcher::~Prefetcher() {
  // Outstanding GETs reference only their own copies; wait so the pool does not
  // run work for a dead stream after we return.
  for (auto& p : parts_) p.data.wait();
}

void Prefetcher::Reset(uint64_t off) {
  for (auto& p : parts_) p.data.wait();
  parts_.clear();
  next_off_ = off;
  window_ = options_.initial_window;
}

void Prefetcher::Fill(uint64_t reader_off) {
  uint64_t limit = std::min(size_, reader_off + window_);
  while (next_off_ < limit) {
    uint64_t part = std::min<uint64_t>(std::max<uint64_t>(window_ / 4, 128 << 10),
                                       options_.max_part_size);
    uint64_t len = std::min(part, size_ - next_off_);
    s3::GetObjectParams p{.bucket = bucket_, .key = key_,
                          .range = s3::ByteRange{next_off_, next_off_ + len - 1},
                          .if_match = etag_};
    auto* client = client_;
    std::shared_future<s3::S3Result<std::string>> fut =
        pool_->Async([client, p, len]() -> s3::S3Result<std::string> {
          std::string buf;
          buf.reserve(len);
          s3::GetObjectParams q = p;
          q.sink = [&buf](const char* d, size_t n) {
            buf.append(d, n);
            return true;
          };
          auto r = client->GetObject(q);
          if (!r.ok()) return std::move(r).error();
          return buf;
        }).share();
    parts_.push_back(Part{next_off_, len, std::move(fut)});
    next_off_ += len;
  }
}

Result<size_t> Prefetcher::Read(uint64_t off, size_t len, char* buf) {
  if (off >= size_) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, size_ - off));
  // Reads arrive slightly out of order (parallel kernel read-ahead): anything
  // from the oldest part still held to the end of the window is "in stream".
  bool in_window = !parts_.empty() && off >= parts_.front().off && off < next_off_ + window_;
  if (!in_window && !(parts_.empty() && off == next_off_)) Reset(off);
  size_t done = 0;
  while (done < len) {
    uint64_t pos = off + done;
    Fill(pos);
    // Keep one part behind the reader for late reads; each part left behind
    // grows the window.
    while (parts_.size() > 1 && parts_[1].off + parts_[1].len <= pos) {
      parts_.pop_front();
      window_ = std::min(window_ * 2, options_.max_window);
      Fill(pos);
    }
    auto it = parts_.begin();
    while (it != parts_.end() && it->off + it->len <= pos) ++it;
    if (it == parts_.end()) break;
    Part& part = *it;
    const auto& data = part.data.get();
    if (!data.ok()) {
      Status st = data.error().ToStatus();
      Reset(pos);
      return st;
    }
    if (data->size() != part.len) {
      Reset(pos);
      return Status(ErrorCode::kDataLoss, "short GET body for " + key_, true);
    }
    uint64_t in_part = pos - part.off;
    size_t n = static_cast<size_t>(std::min<uint64_t>(part.len - in_part, len - done));
    std::memcpy(buf + done, data->data() + in_part, n);
    done += n;
  }
  return done;
}

}  // namespace stagefs::prefetch
