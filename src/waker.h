// Lets the watchdog thread sleep until a deadline, the loop's fd, or an explicit wake-up.
#pragma once

#include <cstdint>

namespace blockbuster {

class Waker {
 public:
  enum class Result { kTimeout, kWoken, kLoopReady };

  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  bool ok() const { return read_fd_ >= 0; }
  // Any thread; async-signal-safe.
  void Wake();
  // Watchdog thread. `timeout_ns` < 0 waits without limit; `loop_fd` < 0 is ignored.
  Result Wait(int64_t timeout_ns, int loop_fd);

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

}  // namespace blockbuster
