#include "waker.h"

#include <fcntl.h>
#if defined(__linux__)
#include <sys/timerfd.h>
#endif
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace blockbuster {

Waker::Waker() {
  int fds[2];
  if (pipe(fds) != 0) return;
  for (int fd : fds) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
}

Waker::~Waker() {
  if (read_fd_ >= 0) close(read_fd_);
  if (write_fd_ >= 0) close(write_fd_);
}

void Waker::Wake() {
  char byte = 1;
  // A full pipe already holds a pending wake-up, so EAGAIN is fine.
  ssize_t written;
  do {
    written = write(write_fd_, &byte, 1);
  } while (written < 0 && errno == EINTR);
}

Waker::Result Waker::Wait(int64_t timeout_ns, int loop_fd, int deadline_fd) {
  struct pollfd fds[3] = {{read_fd_, POLLIN, 0}, {loop_fd, POLLIN, 0}, {deadline_fd, POLLIN, 0}};
  nfds_t count = 3;
  // poll() skips negative fds; an unused last slot need not be passed at all.
  if (deadline_fd < 0) count = loop_fd >= 0 ? 2 : 1;
#if defined(__linux__)
  // ppoll waits to the nanosecond: a look that poll() rounds up to the next millisecond takes a
  // block's first sample up to 1 ms after its crossing, on each of the two hops of a deadline.
  struct timespec timeout = {};
  if (timeout_ns >= 0) {
    timeout.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    timeout.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
  }
  int ready = ppoll(fds, count, timeout_ns >= 0 ? &timeout : nullptr, nullptr);
#else
  // poll() is POSIX (ppoll is not on macOS); rounding up never wakes before a deadline.
  int timeout_ms = -1;
  if (timeout_ns >= 0) {
    timeout_ms = static_cast<int>(std::min<int64_t>((timeout_ns + 999'999) / 1'000'000, INT_MAX));
  }
  int ready = poll(fds, count, timeout_ms);
#endif
  if (ready <= 0) return Result::kTimeout;
  if (fds[0].revents != 0) {
    char buffer[64];
    while (read(read_fd_, buffer, sizeof buffer) > 0) {
    }
    return Result::kWoken;
  }
  if (fds[2].revents != 0) {
    uint64_t expirations;
    while (read(deadline_fd, &expirations, sizeof expirations) > 0) {
    }
    return Result::kDeadline;
  }
  return Result::kLoopReady;
}

#if defined(__linux__)
DeadlineTimer::DeadlineTimer(uint64_t period_ns) : period_ns_(period_ns) {
  fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

DeadlineTimer::~DeadlineTimer() {
  if (fd_ >= 0) close(fd_);
}

void DeadlineTimer::Progress(uint64_t now_ns) {
  if (fd_ < 0 || now_ns + period_ns_ / 2 < armed_ns_) return;
  uint64_t deadline = now_ns + period_ns_;
  struct itimerspec spec = {};
  spec.it_value.tv_sec = static_cast<time_t>(deadline / 1'000'000'000u);
  spec.it_value.tv_nsec = static_cast<long>(deadline % 1'000'000'000u);
  // uv_hrtime reads CLOCK_MONOTONIC, the timer's clock. Re-arming also clears a past expiry.
  if (timerfd_settime(fd_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) return;
  armed_ns_ = deadline;
  deadline_.store(deadline, std::memory_order_release);
}
#else
DeadlineTimer::DeadlineTimer(uint64_t period_ns) : period_ns_(period_ns) {}
DeadlineTimer::~DeadlineTimer() {}
void DeadlineTimer::Progress(uint64_t) {}
#endif

}  // namespace blockbuster
