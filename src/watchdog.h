// One watchdog thread per watched event loop (the main thread's or a worker's).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "block_tracker.h"
#include "gc_clock.h"
#include "line_writer.h"
#include "loop_probe.h"
#include "report.h"
#include "report_line.h"
#include "shared_flags.h"
#include "thread_probe.h"
#include "thread_sampler.h"

namespace blockbuster {

// Every field is set by start() from JS, where the defaults live (lib/watch.ts).
struct WatchdogOptions {
  uint64_t threshold_ns;
  uint64_t hang_report_ns;  // 0 = no native line while a block lasts
  uint64_t abort_after_ns;  // 0 = never abort the process
  int output_fd;
  int max_frames;
  size_t max_queued;
  uint64_t sample_interval_ns;  // after the crossing, one more sample this often
  size_t max_samples;           // at each interval; then the interval doubles (long blocks)
  bool atomics_wait_is_idle;    // a worker waiting for work in Atomics.wait is not blocked
  LineStyle line;
  std::shared_ptr<ReportBudget> budget;  // maxReportsPerMinute, shared with the JS sink
};

class Watchdog {
 public:
  using Notify = std::function<void()>;

  // Main thread: starts the probe, the isolate hooks and the thread.
  Watchdog(uv_loop_t* loop, v8::Isolate* isolate, const WatchdogOptions& options, SharedFlags flags,
           Notify notify);
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
  // Main thread: reports taken that JS could not receive (its environment is closing).
  void WriteReports(const std::vector<BlockReport>& reports, uint64_t dropped);
  // Main thread: blockbuster's own report building is progress, never a block of the user's.
  void SetOwnWork(bool on);
  // The thread runs code its user allowed to block (allowBlocking, pause): no live line, no abort.
  void SetAllowed(bool on) { allowed_.store(on, std::memory_order_release); }

 private:
  static void OnPrepare(void* self);
  static void OnCheck(void* self);
  void Run();
  uint64_t BusyNs(const LoopProbe::Reading& reading) const;
  // Worker only: parked in Atomics.wait for work (the wrapper says so, or the signal sample).
  bool WaitingForWork();
  void MarkIdle(uint64_t iterations);
  ThreadUsage UsageNow() const;
  void WatchBlock(uint64_t start_ns);
  // `may_signal`: the block's signal budget is not spent. Returns whether it signalled.
  bool TakeSample(uint64_t id, bool may_signal);
  void WriteLine(const BlockReport& report, uint64_t now_ns, LineStatus status);

  WatchdogOptions options_;
  v8::Isolate* isolate_;
  SharedFlags flags_;
  uint32_t last_key_ = 0;
  // Watchdog thread: the thread's usage at the last two looks outside a block, so that a block's
  // CPU share covers (nearly) all of it, not only the part after the crossing.
  struct Look {
    uint64_t at_ns = 0;
    ThreadUsage usage;
  };
  Look looks_[2];
  // Watchdog thread: when the thread was last seen idle in Atomics.wait inside a callback (no
  // iteration since), busy time counts from there.
  uint64_t idle_mark_ns_ = 0;
  uint64_t idle_mark_iterations_ = UINT64_MAX;
  Notify notify_;
  std::shared_ptr<BlockTracker> tracker_;
  // Pushed back by each iteration; the watchdog sleeps on it while the loop turns.
  DeadlineTimer deadline_;
  std::unique_ptr<LoopProbe> probe_;
  std::unique_ptr<GcHooks> gc_hooks_;
  std::unique_ptr<ThreadSampler> sampler_;
  std::unique_ptr<ThreadProbe> thread_probe_;
  std::atomic<uint64_t> gc_clock_at_prepare_{0};
  std::atomic<bool> stopping_{false};
  // True while the thread sleeps on the loop's fd: the loop's check phase must wake it then.
  std::atomic<bool> parked_{false};
  std::atomic<bool> own_work_{false};
  std::atomic<bool> allowed_{false};
  // Set at the first iteration under this watcher: a block before it is start-up code.
  std::atomic<bool> loop_turned_{false};
  std::thread thread_;
};

}  // namespace blockbuster
