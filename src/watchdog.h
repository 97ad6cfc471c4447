// One watchdog thread per watched event loop (the main thread's or a worker's).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "loop_probe.h"
#include "report.h"
#include "stack_capture.h"
#include "waker.h"

namespace blockbuster {

struct WatchdogOptions {
  uint64_t threshold_ns = 20'000'000;
  uint64_t hang_report_ns = 0;  // 0 = no native line while a block lasts
  uint64_t abort_after_ns = 0;  // 0 = never abort the process
  int output_fd = 2;
  bool json = false;  // native lines as JSON objects instead of text
  int max_frames = 64;
  size_t max_queued = 256;
};

// Everything a V8 interrupt may touch: shared-owned, because the interrupt can run after stop().
class BlockTracker {
 public:
  // Watchdog thread.
  void Begin(uint64_t start_ns, uint64_t detected_ns, uint64_t gc_clock_at_start);
  void MarkRequested(uint64_t id, uint64_t requested_ns);
  // Any thread. Moves the active block to the ready queue; false when none was active.
  bool Finish(uint64_t end_ns);
  // Main thread (V8 interrupt). Stores the frames if block `id` is still going on.
  void Capture(uint64_t id, std::vector<Frame>&& frames);
  bool ActiveCopy(BlockReport* out) const;
  std::vector<BlockReport> TakeReady(uint64_t* dropped);

  std::atomic<bool> active{false};
  IsolateSignals signals;
  Waker waker;
  size_t max_queued = 256;

 private:
  mutable std::mutex mutex_;
  BlockReport current_;
  uint64_t next_id_ = 1;
  std::deque<BlockReport> ready_;
  uint64_t dropped_ = 0;
};

class Watchdog {
 public:
  using Notify = std::function<void()>;

  // Main thread: starts the probe, the isolate hooks and the thread.
  Watchdog(uv_loop_t* loop, v8::Isolate* isolate, const WatchdogOptions& options, Notify notify);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  bool ok() const { return thread_.joinable(); }
  // Main thread; idempotent. Joins the thread; `on_closed` runs once libuv has closed the handle.
  void Stop(void (*on_closed)(void*) = nullptr, void* arg = nullptr);
  // Main thread. With `finish_active`, a block still going on is ended now and included.
  std::vector<BlockReport> TakeReports(bool finish_active, uint64_t* dropped);
  // Main thread: reports nobody took, written by the native side so none is lost at exit.
  void WriteUntaken();
  // Main thread: blockbuster's own report building is progress, never a block of the user's.
  void SetOwnWork(bool on);

 private:
  static void OnPrepare(void* self);
  static void OnCheck(void* self);
  void Run();
  void WatchBlock(uint64_t start_ns);
  void WriteLine(const BlockReport& report, uint64_t now_ns, const char* status);

  WatchdogOptions options_;
  v8::Isolate* isolate_;
  Notify notify_;
  std::shared_ptr<BlockTracker> tracker_;
  std::unique_ptr<LoopProbe> probe_;
  std::unique_ptr<IsolateHooks> hooks_;
  std::atomic<uint64_t> gc_clock_at_prepare_{0};
  std::atomic<bool> stopping_{false};
  // True while the thread sleeps on the loop's fd: the loop's check phase must wake it then.
  std::atomic<bool> parked_{false};
  std::atomic<bool> own_work_{false};
  std::thread thread_;
};

}  // namespace blockbuster
