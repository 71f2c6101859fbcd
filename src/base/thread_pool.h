// ThreadPool: a fixed set of worker threads running submitted closures in FIFO
// order. Used for S3 fan-out (HEADs of a directory import, prefetch parts,
// exports) because ObjectClient calls block.
//
// Submit() never blocks. The destructor drains queued work and joins. Tasks must
// not throw. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stagefs {

class ThreadPool {
 public:
  explicit ThreadPool(int threads, std::string name = "pool");
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);

  // Submits `fn` and returns a future for its result.
  template <typename F>
  auto Async(F fn) -> std::future<decltype(fn())> {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    auto fut = task->get_future();
    Submit([task] { (*task)(); });
    return fut;
  }

  size_t queued() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace stagefs
