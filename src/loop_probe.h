// Tells another thread how long the event loop has been busy, without waking the loop.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>

namespace blockbuster {

// Main thread: an unref'd uv_prepare handle stamps every iteration just before the loop polls;
// an unref'd uv_check handle reports each return from poll (timers fire after it, with no fd).
// Any thread: busy = time since the stamp minus the idle time libuv measured since then, i.e.
// how long the loop has been running callbacks without getting back to poll.
class LoopProbe {
 public:
  struct Snapshot {
    uint64_t prepare_ns;
    uint64_t idle_at_prepare_ns;
    uint64_t iterations;
  };
  struct Reading {
    Snapshot at_prepare;
    uint64_t now_ns;
    uint64_t busy_ns;
  };
  using Callback = void (*)(void* data);

  LoopProbe(uv_loop_t* loop, Callback on_prepare, Callback on_check, void* data);
  ~LoopProbe();
  LoopProbe(const LoopProbe&) = delete;
  LoopProbe& operator=(const LoopProbe&) = delete;

  // Main thread. The handles' memory is freed by libuv's close callbacks, so `on_closed` may run
  // after this object is gone.
  void Close(void (*on_closed)(void* arg), void* arg);

  // Main thread: what the prepare handle does each iteration, for progress made elsewhere.
  void MarkProgress();

  Reading Read() const;
  // Loop thread: when the last iteration reached prepare (uv_hrtime).
  uint64_t LastPrepareNs() const { return prepare_ns_.load(std::memory_order_relaxed); }
  uint64_t Iterations() const { return iterations_.load(std::memory_order_seq_cst); }
  // True while the loop thread sits in poll (idle time grows between two reads).
  bool InPoll() const;
  // The fd the loop polls on (epoll/kqueue); -1 when the platform has none.
  int BackendFd() const { return uv_backend_fd(loop_); }

 private:
  static void OnPrepare(uv_prepare_t* handle);

  uv_loop_t* loop_;
  uv_prepare_t* prepare_;
  uv_check_t* check_;
  Callback on_prepare_;
  Callback on_check_;
  void* data_;
  // Seqlock around the per-iteration snapshot: odd while the loop thread writes it.
  std::atomic<uint64_t> seq_{0};
  std::atomic<uint64_t> prepare_ns_{0};
  std::atomic<uint64_t> idle_at_prepare_ns_{0};
  std::atomic<uint64_t> iterations_{0};
};

}  // namespace blockbuster
