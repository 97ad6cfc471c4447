#include "waker.h"

#include <fcntl.h>
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

Waker::Result Waker::Wait(int64_t timeout_ns, int loop_fd) {
  struct pollfd fds[2] = {{read_fd_, POLLIN, 0}, {loop_fd, POLLIN, 0}};
  nfds_t count = loop_fd >= 0 ? 2 : 1;
  // poll() is POSIX (ppoll is not on macOS); rounding up never wakes before a deadline.
  int timeout_ms = -1;
  if (timeout_ns >= 0) {
    timeout_ms = static_cast<int>(std::min<int64_t>((timeout_ns + 999'999) / 1'000'000, INT_MAX));
  }
  int ready = poll(fds, count, timeout_ms);
  if (ready <= 0) return Result::kTimeout;
  if (fds[0].revents != 0) {
    char buffer[64];
    while (read(read_fd_, buffer, sizeof buffer) > 0) {
    }
    return Result::kWoken;
  }
  return Result::kLoopReady;
}

}  // namespace blockbuster
