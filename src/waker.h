// Lets the watchdog thread sleep until a deadline, the loop's fd, or an explicit wake-up.
#pragma once

#include <atomic>
#include <cstdint>

namespace blockbuster {

class Waker {
 public:
  enum class Result { kTimeout, kWoken, kLoopReady, kDeadline };

  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  bool ok() const { return read_fd_ >= 0; }
  // Any thread; async-signal-safe.
  void Wake();
  // Watchdog thread. `timeout_ns` < 0 waits without limit; `loop_fd` and `deadline_fd` (a
  // DeadlineTimer's, drained when it fired) < 0 are ignored.
  Result Wait(int64_t timeout_ns, int loop_fd, int deadline_fd = -1);

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

// A deadline the loop thread keeps pushing back while it makes progress, so that the watchdog can
// sleep through a busy loop instead of waking once per threshold to look (Linux: a timerfd; other
// platforms have none, and the watchdog keeps its timed looks). The loop thread re-arms it only
// when the deadline is less than half a period away: at most two system calls per period.
class DeadlineTimer {
 public:
  explicit DeadlineTimer(uint64_t period_ns);
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // -1 where there is no timer.
  int fd() const { return fd_; }
  // Loop thread, as an iteration reaches prepare at `now_ns` (uv_hrtime's clock): the deadline is
  // then at most a period after that iteration's start, and at least half a period after `now_ns`.
  void Progress(uint64_t now_ns);
  // Any thread: the armed deadline (0 before the first arm).
  uint64_t Deadline() const { return deadline_.load(std::memory_order_acquire); }

 private:
  int fd_ = -1;
  uint64_t period_ns_;
  uint64_t armed_ns_ = 0;  // loop thread only
  std::atomic<uint64_t> deadline_{0};
};

}  // namespace blockbuster
